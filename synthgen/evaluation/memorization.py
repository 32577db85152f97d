"""Does the synthetic table copy its training rows? Distances to train vs to an unseen holdout.

The holdout split is drawn from the same population as train and never shown to the generator,
so a generator that learned the population (not the rows) puts synthetic rows as close to the
holdout as to train. Every statistic below compares the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from synthgen.data.distance import EXACT_TOL, MixedEmbedding, dcr_share, nearest
from synthgen.evaluation.distance import resolve_categorical
from synthgen.evaluation.findings import Severity, Verdict


def dcr_threshold(n_synthetic: int) -> float:
    """Flag level: two binomial standard errors above 0.5 for |S| synthetic rows."""
    return float(0.5 + 2.0 * np.sqrt(0.25 / max(n_synthetic, 1)))


def nndr(distances: np.ndarray) -> np.ndarray:
    """Nearest-neighbour distance ratio d1/d2 per row (0 for exact copies; 1 when d1 == d2)."""
    d1, d2 = distances[:, 0], distances[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(d2 > EXACT_TOL, d1 / d2, 1.0)
    return ratio


def membership_auc(d_members: np.ndarray, d_nonmembers: np.ndarray) -> float:
    """AUC of an attacker who calls a real row a training member when a synthetic row lies close
    to it (score = -distance to the nearest synthetic row). 0.5: the sample reveals nothing."""
    y = np.r_[np.ones(len(d_members)), np.zeros(len(d_nonmembers))]
    return float(roc_auc_score(y, -np.r_[d_members, d_nonmembers]))


def auc_flag_level(n1: int, n2: int) -> float:
    """0.5 + 2 standard errors of an AUC under the null (Hanley & McNeil, no-effect case)."""
    return float(0.5 + 2.0 * np.sqrt((n1 + n2 + 1) / (12.0 * max(n1, 1) * max(n2, 1))))


def _subsample(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    return df if len(df) <= n else df.sample(n=n, random_state=seed)


@dataclass
class MemorizationReport:
    metrics: dict[str, float]
    verdict: Verdict
    d_train: np.ndarray  # synthetic -> nearest train row
    d_holdout: np.ndarray  # synthetic -> nearest holdout row
    d_holdout_train: np.ndarray  # holdout -> nearest train row (what "close" means for real data)
    per_class: pd.DataFrame  # class, n, dcr_share, exact_copy_share


def memorization(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str] | None = None,
    condition: str | None = None,
    max_rows: int = 5000,
    seed: int = 0,
) -> MemorizationReport:
    """All memorization statistics. Train and holdout are cut to the same size so that a
    synthetic row has an equal chance of either being nearest when nothing was memorized."""
    cats = resolve_categorical(train, categorical)
    n_ref = min(len(train), len(holdout), max_rows)
    train_s = _subsample(train, n_ref, seed)
    hold_s = _subsample(holdout, n_ref, seed + 1)
    syn_s = _subsample(synthetic, max_rows, seed + 2)
    emb = MixedEmbedding(cats).fit(train_s)
    x_tr, x_ho, x_sy = emb.transform(train_s), emb.transform(hold_s), emb.transform(syn_s)

    d_tr, _ = nearest(x_sy, x_tr, k=2)
    d_ho, _ = nearest(x_sy, x_ho, k=2)
    d_ho_tr, _ = nearest(x_ho, x_tr, k=1)
    d_mem, _ = nearest(x_tr, x_sy, k=1)
    d_non, _ = nearest(x_ho, x_sy, k=1)

    share = dcr_share(d_tr[:, 0], d_ho[:, 0])
    # Rows farther from all real data than real unseen rows ever are cannot be copies; their
    # nearest record is one of a few outlying real rows, so they do not count for the flag.
    near_level = float(np.percentile(d_ho_tr[:, 0], 95))
    near = np.minimum(d_tr[:, 0], d_ho[:, 0]) <= near_level
    share_near = dcr_share(d_tr[near, 0], d_ho[near, 0]) if near.any() else float("nan")
    copy_tr = float((d_tr[:, 0] <= EXACT_TOL).mean())
    copy_ho = float((d_ho[:, 0] <= EXACT_TOL).mean())
    mia = membership_auc(d_mem[:, 0], d_non[:, 0])
    metrics = {
        "memorization/dcr_share": share,
        "memorization/dcr_flag_level": dcr_threshold(len(syn_s)),
        "memorization/dcr_share_near": share_near,
        "memorization/near_share": float(near.mean()),
        "memorization/dcr_near_flag_level": dcr_threshold(int(near.sum())),
        "memorization/exact_copy_share": copy_tr,
        "memorization/exact_copy_share_holdout": copy_ho,
        "memorization/membership_auc": mia,
        "memorization/membership_flag_level": auc_flag_level(len(train_s), len(hold_s)),
        "memorization/nndr_median": float(np.median(nndr(d_tr))),
        "memorization/nndr_holdout_median": float(np.median(nndr(d_ho))),
        "memorization/dcr_train_median": float(np.median(d_tr[:, 0])),
        "memorization/dcr_holdout_median": float(np.median(d_ho[:, 0])),
        "memorization/holdout_to_train_median": float(np.median(d_ho_tr[:, 0])),
    }
    per_class = _per_class(syn_s, condition, d_tr[:, 0], d_ho[:, 0])
    return MemorizationReport(
        metrics, _verdict(metrics, len(syn_s)), d_tr[:, 0], d_ho[:, 0], d_ho_tr[:, 0], per_class
    )


def _copy_flag_level(p_holdout: float, n: int) -> float:
    """Exact copies of train beyond what the holdout gets by chance (duplicated real rows)."""
    p = min(max(p_holdout, 0.5 / max(n, 1)), 1.0)
    return p_holdout + 2.0 * np.sqrt(p * (1 - p) / max(n, 1)) + 0.01


def _verdict(m: dict[str, float], n_syn: int) -> Verdict:
    reasons, notes = [], []
    share, near = m["memorization/dcr_share"], m["memorization/dcr_share_near"]
    if near > m["memorization/dcr_near_flag_level"]:
        reasons.append(
            f"{near:.0%} of the synthetic rows that lie near real data are closer to a training "
            f"row than to any holdout row (chance: 50%, flag above "
            f"{m['memorization/dcr_near_flag_level']:.0%})"
        )
    elif share > m["memorization/dcr_flag_level"]:
        notes.append(
            f" The DCR share over all rows is {share:.2f}, but only "
            f"{m['memorization/near_share']:.0%} of synthetic rows lie as close to real data as "
            f"real unseen rows do; the others are far from every real row, not copies."
        )
    copy_level = _copy_flag_level(m["memorization/exact_copy_share_holdout"], n_syn)
    if m["memorization/exact_copy_share"] > copy_level:
        reasons.append(
            f"{m['memorization/exact_copy_share']:.1%} are exact copies of training rows "
            f"(holdout rows copied: {m['memorization/exact_copy_share_holdout']:.1%})"
        )
    if m["memorization/membership_auc"] > m["memorization/membership_flag_level"]:
        reasons.append(
            f"a distance-based membership attack reaches AUC "
            f"{m['memorization/membership_auc']:.2f} (0.5 = no leak)"
        )
    if reasons:
        return Verdict(Severity.BAD, "flagged: " + "; ".join(reasons) + ".")
    if share < 1.0 - m["memorization/dcr_flag_level"]:
        return Verdict(Severity.CAUTION, (
            f"no sign of memorization of the training rows, but {1 - share:.0%} of synthetic rows "
            f"lie closer to a holdout row than to any training row (expected about 50%): check "
            f"that the holdout split was not used for fitting."
        ))
    return Verdict(Severity.GOOD, (
        f"no sign of memorization: synthetic rows are about as close to unseen holdout rows as to "
        f"training rows (DCR share {share:.2f}, membership AUC "
        f"{m['memorization/membership_auc']:.2f}, exact copies "
        f"{m['memorization/exact_copy_share']:.1%})." + "".join(notes)
    ))


def _per_class(
    synthetic: pd.DataFrame, condition: str | None, d_tr: np.ndarray, d_ho: np.ndarray
) -> pd.DataFrame:
    if condition is None or condition not in synthetic.columns:
        return pd.DataFrame(columns=["class", "n", "dcr_share", "exact_copy_share"])
    labels = synthetic[condition].astype(str).to_numpy()
    rows = []
    for c in sorted(set(labels)):
        sel = labels == c
        rows.append(
            {
                "class": c,
                "n": int(sel.sum()),
                "dcr_share": dcr_share(d_tr[sel], d_ho[sel]),
                "exact_copy_share": float((d_tr[sel] <= EXACT_TOL).mean()),
            }
        )
    return pd.DataFrame(rows)


def privacy_filter(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str] | None = None,
    percentile: float = 5.0,
) -> tuple[np.ndarray, float]:
    """Which synthetic rows to keep, and the distance threshold used.

    A real unseen (holdout) row is rarely closer to a training row than the holdout's own
    ``percentile``-th nearest-neighbour distance to train; a synthetic row that is closer than
    that (or an exact copy, whatever the threshold) sits suspiciously near a training record
    and is dropped. Distances use the mixed-type embedding fitted on all of ``train``.
    """
    cats = resolve_categorical(train, categorical)
    emb = MixedEmbedding(cats).fit(train)
    x_tr = emb.transform(train)
    d_ho, _ = nearest(emb.transform(holdout), x_tr, k=1)
    threshold = float(np.percentile(d_ho[:, 0], percentile))
    d_sy, _ = nearest(emb.transform(synthetic[list(train.columns)]), x_tr, k=1)
    keep = (d_sy[:, 0] >= threshold) & (d_sy[:, 0] > EXACT_TOL)
    return keep, threshold

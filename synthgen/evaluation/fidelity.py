"""How much does the synthetic table look like the real one? Columns, pairs, a detector, k-NN.

* column shapes: 1 - Kolmogorov-Smirnov statistic (numeric; missing values sit beyond the largest
  value, so a different missing rate counts) or 1 - total variation distance (categorical);
* pair trends: 1 - |rho_real - rho_synth| / 2 for numeric pairs (Pearson); contingency similarity
  1 - TVD of the joint table for categorical pairs and for mixed pairs (numeric side cut into
  real-data deciles);
* detection AUC: a cross-validated HistGradientBoosting classifier separates real from
  synthetic rows (0.5 = cannot tell; 1 = trivially);
* k-NN precision / recall (Kynkäänniemi et al. 2019) and density / coverage (Naeem et al. 2020)
  with k = 5 in the mixed-type embedding of ``distance.py``. These are the simpler k-NN
  estimators, not Alaa et al.'s alpha-precision / beta-recall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from synthgen.evaluation.distance import (
    MixedEmbedding,
    category_strings,
    distance_blocks,
    nearest,
    numeric_array,
    resolve_categorical,
    tree_codes,
)
from synthgen.evaluation.findings import Severity, Verdict

def openmp_threads(n_rows: int) -> int | None:
    """Threads for the classifiers (OpenMP, BLAS). HistGradientBoosting's OpenMP threads
    spin-wait at each of many small parallel loops: on small tables, or when other processes
    share the cores, one thread is far faster (detection on 380 rows: 0.85 s vs 12.7 s; a
    10,000-row fit 22.8 s unlimited on a busy 2-core machine)."""
    return 1 if n_rows < 20_000 else None


# -- one column ------------------------------------------------------------------------------
def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample KS statistic; NaN is treated as a value above every other (+inf)."""
    a = np.sort(np.where(np.isnan(a), np.inf, a))
    b = np.sort(np.where(np.isnan(b), np.inf, b))
    if len(a) == 0 or len(b) == 0:
        return 1.0
    grid = np.unique(np.r_[a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.abs(fa - fb).max())


def tvd(a: pd.Series, b: pd.Series) -> float:
    """Total variation distance between two categorical samples (missing is a category)."""
    pa = category_strings(a).value_counts(normalize=True)
    pb = category_strings(b).value_counts(normalize=True)
    pa, pb = pa.align(pb, fill_value=0.0)
    return float(0.5 * np.abs(pa - pb).sum())


def column_shapes(
    real: pd.DataFrame, synthetic: pd.DataFrame, categorical: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per column: ``column``, ``kind``, ``metric`` (KS or TVD), ``score`` (1 = same)."""
    cats = set(resolve_categorical(real, categorical))
    rows = []
    for c in real.columns:
        if c in cats:
            rows.append((c, "categorical", "TVD", 1.0 - tvd(real[c], synthetic[c])))
        else:
            d = ks_statistic(numeric_array(real[c]), numeric_array(synthetic[c]))
            rows.append((c, "numeric", "KS", 1.0 - d))
    return pd.DataFrame(rows, columns=["column", "kind", "metric", "score"])


# -- pairs of columns ------------------------------------------------------------------------
def _decile_codes(real: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of real-data decile bins (NaN gets its own code) for both samples."""
    finite = real[np.isfinite(real)]
    edges = np.unique(np.percentile(finite, np.linspace(10, 90, 9))) if len(finite) else []

    def code(v: np.ndarray) -> np.ndarray:
        c = np.searchsorted(edges, v, side="right")
        return np.where(np.isnan(v), len(edges) + 1, c)

    return code(real), code(other)


def _contingency_similarity(ra: np.ndarray, rb: np.ndarray, sa: np.ndarray, sb: np.ndarray) -> float:
    width = int(max(rb.max(initial=0), sb.max(initial=0))) + 1
    jr = pd.Series(ra.astype(np.int64) * width + rb).value_counts(normalize=True)
    js = pd.Series(sa.astype(np.int64) * width + sb).value_counts(normalize=True)
    jr, js = jr.align(js, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(jr - js).sum())


def pair_trends(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str] | None = None,
    max_columns: int = 50,
) -> pd.DataFrame:
    """One row per column pair: ``column_a``, ``column_b``, ``kind``, ``real``/``synthetic``
    (Pearson rho for numeric pairs, NaN otherwise) and ``score`` (1 = same relationship).
    Only the first ``max_columns`` columns are paired (the count grows quadratically)."""
    cats = set(resolve_categorical(real, categorical))
    cols = list(real.columns)[:max_columns]
    num = [c for c in cols if c not in cats]
    # Shared integer codes per column for contingency tables.
    codes = {}
    for c in cols:
        if c in cats:
            both = pd.concat([category_strings(real[c]), category_strings(synthetic[c])])
            f, _ = pd.factorize(both)
            codes[c] = (f[: len(real)], f[len(real) :])
        else:
            codes[c] = _decile_codes(numeric_array(real[c]), numeric_array(synthetic[c]))
    rho_r = pd.DataFrame({c: numeric_array(real[c]) for c in num}).corr()
    rho_s = pd.DataFrame({c: numeric_array(synthetic[c]) for c in num}).corr()
    rows = []
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            if a in num and b in num:
                r, s = rho_r.loc[a, b], rho_s.loc[a, b]
                if np.isnan(r):  # a constant real column has no correlation to match
                    continue
                score = 1.0 - abs(r - (0.0 if np.isnan(s) else s)) / 2.0
                rows.append((a, b, "correlation", r, s, score))
            else:
                kind = "contingency" if (a in cats and b in cats) else "contingency (binned)"
                sim = _contingency_similarity(codes[a][0], codes[b][0], codes[a][1], codes[b][1])
                rows.append((a, b, kind, np.nan, np.nan, sim))
    return pd.DataFrame(rows, columns=["column_a", "column_b", "kind", "real", "synthetic", "score"])


def pair_matrix(pairs: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Square matrix of pair scores (diagonal 1) for the heat map."""
    m = pd.DataFrame(np.nan, index=list(columns), columns=list(columns))
    for a, b, s in pairs[["column_a", "column_b", "score"]].itertuples(index=False):
        if a in m.index and b in m.index:
            m.loc[a, b] = m.loc[b, a] = s
    for c in m.index:
        m.loc[c, c] = 1.0
    return m


# -- detection -------------------------------------------------------------------------------
def detection_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str] | None = None,
    folds: int = 5,
    seed: int = 0,
    max_rows: int = 5000,
) -> float:
    """Cross-validated AUC of a classifier separating real (1) from synthetic (0) rows.

    Both sides are cut to the same size (at most ``max_rows``) so 0.5 means "cannot tell".
    Out-of-fold probabilities from all folds are pooled into one AUC.
    """
    det = detection_predictions(real, synthetic, categorical, folds, seed, max_rows)
    return float(roc_auc_score(det.is_real, det.prob)) if len(det) else float("nan")


def detection_predictions(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str] | None = None,
    folds: int = 5,
    seed: int = 0,
    max_rows: int = 5000,
) -> pd.DataFrame:
    """Out-of-fold detector output per row: ``is_real``, ``prob`` (of being real) and the
    row's original index, so per-class AUCs come from the same fit at no extra cost."""
    cats = set(resolve_categorical(real, categorical))
    n = min(len(real), len(synthetic), max_rows)
    if n < folds:
        return pd.DataFrame(columns=["is_real", "prob", "index"])
    r = real.sample(n=n, random_state=seed) if len(real) > n else real
    s = synthetic.sample(n=n, random_state=seed + 1) if len(synthetic) > n else synthetic
    (xr, xs), is_cat = tree_codes([r, s[list(real.columns)]], cats)
    x = np.vstack([xr, xs])
    y = np.r_[np.ones(n), np.zeros(n)]
    prob = np.zeros(2 * n)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with threadpool_limits(limits=openmp_threads(2 * n)):
        for tr, te in cv.split(x, y):
            clf = HistGradientBoostingClassifier(
                max_iter=100, categorical_features=is_cat if is_cat.any() else None,
                early_stopping=False, random_state=seed,
            )
            clf.fit(x[tr], y[tr])
            prob[te] = clf.predict_proba(x[te])[:, 1]
    return pd.DataFrame({"is_real": y, "prob": prob, "index": np.r_[r.index, s.index]})


# -- k-NN precision / recall / density / coverage --------------------------------------------
def knn_precision_recall(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str] | None = None,
    k: int = 5,
    max_rows: int = 5000,
    seed: int = 0,
) -> dict[str, float]:
    """precision: share of synthetic rows inside some real row's k-NN ball; recall: share of real
    rows inside some synthetic row's k-NN ball; density / coverage as Naeem et al. (2020)."""
    cats = resolve_categorical(real, categorical)
    r = real.sample(n=max_rows, random_state=seed) if len(real) > max_rows else real
    s = synthetic.sample(n=max_rows, random_state=seed + 1) if len(synthetic) > max_rows else synthetic
    nan = {"precision": np.nan, "recall": np.nan, "density": np.nan, "coverage": np.nan}
    if len(r) <= k or len(s) <= k:
        return nan
    emb = MixedEmbedding(cats).fit(r)
    xr, xs = emb.transform(r), emb.transform(s[list(real.columns)])
    rad_r = nearest(xr, xr, k=k, exclude_self=True)[0][:, -1]
    rad_s = nearest(xs, xs, k=k, exclude_self=True)[0][:, -1]
    inside, count = np.zeros(len(xs), bool), np.zeros(len(xs))
    for start, d in distance_blocks(xs, xr):
        within = d <= rad_r[None, :] + 1e-9
        inside[start : start + len(d)] = within.any(1)
        count[start : start + len(d)] = within.sum(1)
    recalled = np.zeros(len(xr), bool)
    for start, d in distance_blocks(xr, xs):
        recalled[start : start + len(d)] = (d <= rad_s[None, :] + 1e-9).any(1)
    nn_syn = nearest(xr, xs, k=1)[0][:, 0]
    return {
        "precision": float(inside.mean()),
        "recall": float(recalled.mean()),
        "density": float(count.mean() / k),
        "coverage": float((nn_syn <= rad_r + 1e-9).mean()),
    }


# -- everything, overall and per class -------------------------------------------------------
@dataclass
class FidelityReport:
    metrics: dict[str, float]
    verdict: Verdict
    shapes: pd.DataFrame  # per column
    pairs: pd.DataFrame  # per column pair
    per_class: pd.DataFrame  # class, column_shapes, pair_trends, detection_auc, precision, recall
    baseline: dict[str, float] = field(default_factory=dict)  # holdout vs train: the ceiling


def _summary(real, synthetic, cats, folds, seed, max_rows, shapes=None, pairs=None,
             progress=None) -> tuple[dict[str, float], pd.DataFrame]:
    shapes = column_shapes(real, synthetic, cats) if shapes is None else shapes
    pairs = pair_trends(real, synthetic, cats) if pairs is None else pairs
    out = {
        "column_shapes": float(shapes["score"].mean()),
        "pair_trends": float(pairs["score"].mean()) if len(pairs) else np.nan,
    }
    if progress:
        progress("fidelity: detection classifier")
    det = detection_predictions(real, synthetic, cats, folds, seed, max_rows)
    out["detection_auc"] = float(roc_auc_score(det.is_real, det.prob)) if len(det) else np.nan
    if progress:
        progress("fidelity: k-NN precision and recall")
    out.update(knn_precision_recall(real, synthetic, cats, max_rows=max_rows, seed=seed))
    return out, det


def fidelity(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    categorical: Sequence[str] | None = None,
    condition: str | None = None,
    holdout: pd.DataFrame | None = None,
    folds: int = 5,
    seed: int = 0,
    max_rows: int = 5000,
    progress=None,
) -> FidelityReport:
    """Fidelity of ``synthetic`` against the real train split, overall and per class.

    With ``holdout`` the same numbers are computed for holdout-vs-train: what real data scores
    against itself at this sample size (1 - KS is never exactly 1 for two finite samples).
    """
    cats = resolve_categorical(train, categorical)
    train = train.reset_index(drop=True)  # detector rows are traced back by index
    synthetic = synthetic[list(train.columns)].reset_index(drop=True)
    shapes = column_shapes(train, synthetic, cats)
    pairs = pair_trends(train, synthetic, cats)
    overall, det = _summary(train, synthetic, cats, folds, seed, max_rows, shapes, pairs, progress)
    metrics = {f"fidelity/{k}": v for k, v in overall.items()}
    baseline = {}
    if holdout is not None and len(holdout) > folds:
        if progress:
            progress("fidelity: real-vs-real baseline")
        baseline, _ = _summary(train, holdout, cats, folds, seed, max_rows)
        metrics.update({f"fidelity/baseline/{k}": v for k, v in baseline.items()})
    if progress:
        progress("fidelity: per class")
    per_class = _per_class(train, synthetic, cats, condition, det, max_rows, seed)
    for row in per_class.to_dict("records"):
        for k, v in row.items():
            if k not in ("class", "n_real", "n_synthetic"):
                metrics[f"fidelity/class/{row['class']}/{k}"] = v
    return FidelityReport(metrics, _verdict(overall, baseline), shapes, pairs, per_class, baseline)


def _per_class(train, synthetic, cats, condition, det, max_rows, seed) -> pd.DataFrame:
    """Per class of the condition; detection AUC from the overall detector's predictions on
    that class's rows (real class c vs synthetic class c)."""
    if condition is None or condition not in train.columns:
        return pd.DataFrame()
    rows = []
    real_lab = train[condition].astype(str)
    syn_lab = synthetic[condition].astype(str)
    for c in sorted(set(real_lab) & set(syn_lab)):
        r, s = train[real_lab == c], synthetic[syn_lab == c]
        row = {"class": c, "n_real": len(r), "n_synthetic": len(s)}
        row["column_shapes"] = float(column_shapes(r, s, cats)["score"].mean())
        pairs = pair_trends(r, s, cats)
        row["pair_trends"] = float(pairs["score"].mean()) if len(pairs) else np.nan
        row["detection_auc"] = _class_auc(det, real_lab, syn_lab, c)
        pr = knn_precision_recall(r, s, cats, max_rows=max_rows, seed=seed)
        row["precision"], row["recall"] = pr["precision"], pr["recall"]
        rows.append(row)
    return pd.DataFrame(rows)


def _class_auc(det: pd.DataFrame, real_lab: pd.Series, syn_lab: pd.Series, c: str) -> float:
    real_rows = det[det.is_real == 1]
    syn_rows = det[det.is_real == 0]
    sel = pd.concat([real_rows[real_lab.loc[real_rows["index"]].to_numpy() == c],
                     syn_rows[syn_lab.loc[syn_rows["index"]].to_numpy() == c]])
    if sel.is_real.nunique() < 2 or min(sel.is_real.value_counts()) < 5:
        return float("nan")
    return float(roc_auc_score(sel.is_real, sel.prob))


# Detection AUC bands, tables and images alike: good up to the first, moderate up to the second,
# weak up to the third, poor above.
DETECTION_BANDS = (0.6, 0.75, 0.9)


def _verdict(m: dict[str, float], base: dict[str, float]) -> Verdict:
    auc = m["detection_auc"]
    good, moderate, weak = DETECTION_BANDS
    ref = f" (real holdout vs train: {base['detection_auc']:.2f})" if base else ""
    if np.isnan(auc):
        severity, head = Severity.CAUTION, "not assessed: too few rows for the detection classifier"
    elif auc <= good:
        severity = Severity.GOOD
        head = f"good: a classifier barely tells synthetic from real rows (AUC {auc:.2f}{ref})"
    elif auc <= moderate:
        severity = Severity.CAUTION
        head = f"moderate: a classifier tells synthetic from real rows fairly often (AUC {auc:.2f}{ref})"
    elif auc <= weak:
        severity = Severity.BAD
        head = f"weak: synthetic rows are usually told apart from real ones (AUC {auc:.2f}{ref})"
    else:
        severity = Severity.BAD
        head = f"poor: synthetic rows are easily told apart from real ones (AUC {auc:.2f}{ref})"
    tail = f"; column shapes {m['column_shapes']:.2f}, pair trends {m['pair_trends']:.2f}"
    if base:
        tail += f" (real-vs-real {base['column_shapes']:.2f}, {base['pair_trends']:.2f})"
    return Verdict(severity, head + tail + ".")

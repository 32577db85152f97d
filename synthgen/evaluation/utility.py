"""Does synthetic data help a classifier of the condition? Train on arms, test on real rows.

Arms (all scored on the real test split):
  real            real train only (the reference every gain is measured against)
  real_plus_chosen real train + the share of the synthetic frame chosen on validation
                  (``share.choose_share``: a part of real train, never the test split); the
                  verdict is judged on this arm
  real_plus_synth real train + the whole synthetic frame (typically a class-balancing fill)
  synth_only      synthetic only (TSTR)
  class_weights   real train, classifier with balanced class weights
  oversample      real train, random oversampling of minority classes
  smote           real train, SMOTE-NC (SMOTE if all-numeric, SMOTEN if all-categorical)

Each seed draws a stratified bootstrap of the train, synthetic and test rows, shared by all arms
of that seed, so a seed's arms are a paired comparison and the spread over seeds reflects how
much the answer depends on which patients happened to be sampled. Gains are paired 95%
intervals (``stats.paired_interval``); "helps" needs the whole interval above zero.

The share is chosen once per classifier, before the repeats, on real training rows only; each
repeat then adds that share of its own synthetic bootstrap (stratified by class). A share of 0
makes the arm real-only and 1 the whole frame: those repeats reuse the twin arm's scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from threadpoolctl import threadpool_limits

from synthgen.config import AUGMENT_SHARES, SHARE_VALIDATION
from synthgen.evaluation.distance import resolve_categorical, tree_codes
from synthgen.evaluation.fidelity import openmp_threads
from synthgen.evaluation.findings import Severity, Verdict
from synthgen.evaluation.names import MODELS, arm_label, metric_label
from synthgen.evaluation.scores import classifier_scores
from synthgen.evaluation.share import (
    ShareChoice,
    choose_share,
    share_indices,
    share_label,
    share_metrics,
)
from synthgen.evaluation.stats import paired_interval, verdict

# The arms this evaluation trains, in the order tables show them.
ARMS = ("real", "real_plus_chosen", "real_plus_synth", "synth_only", "class_weights",
        "oversample", "smote")
# Validation carvings averaged when choosing the share: several on small tables (a validation
# part of a few dozen rows is noisy; the classifiers are cheap there), one on large ones.
SHARE_REPEATS, SHARE_REPEATS_BELOW_ROWS = 3, 1000


# -- models ----------------------------------------------------------------------------------
def _gbm(is_cat: np.ndarray, seed: int, class_weight, max_iter: int):
    return HistGradientBoostingClassifier(
        max_iter=max_iter, categorical_features=is_cat if is_cat.any() else None,
        early_stopping=False, class_weight=class_weight, random_state=seed,
    )


def _logreg(is_cat: np.ndarray, seed: int, class_weight, max_iter: int):
    num, cat = np.flatnonzero(~is_cat), np.flatnonzero(is_cat)
    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                          ("scale", StandardScaler())]), num),
        ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
    ])
    # tol 1e-3: 4x fewer iterations than the default on Adult, same scores to 3 decimals.
    clf = LogisticRegression(max_iter=1000, tol=1e-3, class_weight=class_weight,
                             random_state=seed)
    return Pipeline([("prep", prep), ("clf", clf)])


_BUILDERS = {"gbm": _gbm, "logreg": _logreg}


def _smote(is_cat: np.ndarray, y: np.ndarray, seed: int):
    """SMOTE-NC, or SMOTE / SMOTEN when the features are all numeric / all categorical."""
    from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

    k = int(min(5, pd.Series(y).value_counts().min() - 1))
    if k < 1:
        return None
    if not is_cat.any():
        return SMOTE(k_neighbors=k, random_state=seed)
    if is_cat.all():
        return SMOTEN(k_neighbors=k, random_state=seed)
    return SMOTENC(categorical_features=np.flatnonzero(is_cat).tolist(), k_neighbors=k,
                   random_state=seed)


def _impute_numeric(x: np.ndarray, is_cat: np.ndarray, medians: np.ndarray) -> np.ndarray:
    """SMOTE cannot interpolate missing values: fill numeric NaN with train medians."""
    x = x.copy()
    rows, cols = np.nonzero(np.isnan(x) & ~is_cat[None, :])
    x[rows, cols] = medians[cols]
    return x


# -- scoring ---------------------------------------------------------------------------------
def _proba(model, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Probabilities over all classes; a class the model never saw gets 0."""
    p = model.predict_proba(x)
    out = np.zeros((len(x), len(classes)))
    index = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(model.classes_):
        out[:, index[c]] = p[:, j]
    return out


def _bootstrap(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stratified bootstrap: each class resampled with replacement to its own count."""
    return np.concatenate([rng.choice(np.flatnonzero(y == c), (y == c).sum()) for c in np.unique(y)])


# -- the experiment --------------------------------------------------------------------------
@dataclass
class UtilityReport:
    metrics: dict[str, float]
    verdict: Verdict
    summary: pd.DataFrame  # model, arm, metric, mean, std, gain, low, high, verdict
    scores: pd.DataFrame  # long: model, arm, seed, metric, value
    minority_class: str
    skipped: dict[str, str] = field(default_factory=dict)  # arm -> why it was not run
    choices: dict[str, ShareChoice] = field(default_factory=dict)  # model -> validation run


def utility(
    train: pd.DataFrame,
    test: pd.DataFrame,
    synthetic: pd.DataFrame,
    condition: str,
    categorical: Sequence[str] | None = None,
    seeds: int = 5,
    models: Sequence[str] = ("gbm", "logreg"),
    max_iter: int = 100,
    progress: Callable[[str], None] | None = None,
    shares: Sequence[float] = AUGMENT_SHARES,
    share_validation: float = SHARE_VALIDATION,
) -> UtilityReport:
    """Downstream classifiers of ``condition`` on each arm, ``seeds`` paired repeats.

    ``shares``: shares of the synthetic frame tried on a ``share_validation`` part of ``train``
    for the real + chosen-share arm; ``test`` is never used to choose."""
    cats = set(resolve_categorical(train, categorical)) - {condition}
    feats = [c for c in train.columns if c != condition]
    # A synthetic class the real data lacks cannot be tested: those rows are left out.
    synthetic = synthetic[synthetic[condition].astype(str).isin(set(train[condition].astype(str)))]
    y_tr, y_te, y_sy = (f[condition].astype(str).to_numpy() for f in (train, test, synthetic))
    (x_tr, x_te, x_sy), is_cat = tree_codes([train[feats], test[feats], synthetic[feats]], cats)
    classes = np.array(sorted(set(y_tr)))
    counts = pd.Series(y_tr).value_counts()
    minority = str(counts[counts == counts.min()].index.sort_values()[0])
    medians = np.nan_to_num(np.nanmedian(np.where(is_cat, 0.0, x_tr), 0)) if len(x_tr) else None

    n_rows, skipped = len(x_tr) + len(x_sy), {}
    with threadpool_limits(limits=openmp_threads(n_rows)):  # OpenMP and BLAS
        choices = _choose(x_tr, y_tr, x_sy, y_sy, is_cat, models, max_iter, shares,
                          share_validation, progress, skipped)
        scores = _run(x_tr, y_tr, x_te, y_te, x_sy, y_sy, is_cat, classes, minority, medians,
                      seeds, models, max_iter, progress, skipped, choices)
    summary = _summarize(scores)
    return UtilityReport(
        _flat_metrics(summary, choices), _verdict(summary, scores, models, choices), summary,
        scores, minority, skipped, choices,
    )


def _choose(x_tr, y_tr, x_sy, y_sy, is_cat, models, max_iter, shares, fraction, progress,
            skipped) -> dict[str, ShareChoice]:
    """Per classifier, the share of the synthetic frame chosen on validation (real train only)."""
    if not len(y_sy):
        skipped["real_plus_chosen"] = "the synthetic sample holds no row of a real class"
        return {}
    out = {}
    for model in models:
        if progress:
            progress(f"utility: choosing the synthetic share on validation, {MODELS[model]}")

        def fit_predict(x, y, x_val, seed, model=model):
            clf = _BUILDERS[model](is_cat, seed, None, max_iter)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(x, y)
            return clf.predict(x_val)

        repeats = SHARE_REPEATS if len(y_tr) < SHARE_REPEATS_BELOW_ROWS else 1
        out[model] = choose_share(x_tr, y_tr, x_sy, y_sy, fit_predict, shares=shares,
                                  fraction=fraction, repeats=repeats)
    return out


def _run(x_tr, y_tr, x_te, y_te, x_sy, y_sy, is_cat, classes, minority, medians, seeds, models,
         max_iter, progress, skipped, choices) -> pd.DataFrame:
    """Every (seed, model, arm): fit on the arm's rows, score on the seed's test bootstrap."""
    if len(set(y_sy)) < 2:
        skipped["synth_only"] = "the synthetic sample has fewer than two classes"
    twin = {0.0: "real", 1.0: "real_plus_synth"}  # a chosen share that equals another arm
    rows = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        i_tr, i_te = _bootstrap(y_tr, rng), _bootstrap(y_te, rng)
        i_sy = _bootstrap(y_sy, rng) if len(y_sy) else np.array([], int)
        xt, yt, xe, ye = x_tr[i_tr], y_tr[i_tr], x_te[i_te], y_te[i_te]
        xs, ys = x_sy[i_sy], y_sy[i_sy]
        data = {
            "real": (xt, yt, None),
            "real_plus_synth": (np.vstack([xt, xs]), np.r_[yt, ys], None),
            "synth_only": (xs, ys, None),
            "class_weights": (xt, yt, "balanced"),
        }
        data.update(_resampled(xt, yt, is_cat, medians, seed, skipped))
        for model in models:
            if progress:
                progress(f"utility: seed {seed + 1}/{seeds}, {MODELS[model]}")
            arms = dict(data)
            share = choices[model].chosen if model in choices else None
            if share is not None and share not in twin:
                take = share_indices(ys, share, np.random.default_rng([seed, 1]))
                arms["real_plus_chosen"] = (np.vstack([xt, xs[take]]), np.r_[yt, ys[take]], None)
            scored = {}
            for arm, (x, y, cw) in arms.items():
                if arm in skipped:
                    continue
                clf = _BUILDERS[model](is_cat, seed, cw, max_iter)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    clf.fit(x, y)
                scored[arm] = classifier_scores(ye, _proba(clf, xe, classes), classes, minority)
            if share in twin:  # the same rows as the twin arm: the same fit, the same scores
                scored["real_plus_chosen"] = scored[twin[share]]
            rows += [(model, arm, seed, metric, float(value))
                     for arm in ARMS if arm in scored for metric, value in scored[arm].items()]
    return pd.DataFrame(rows, columns=["model", "arm", "seed", "metric", "value"])


def _resampled(xt, yt, is_cat, medians, seed, skipped) -> dict:
    from imblearn.over_sampling import RandomOverSampler

    out = {"oversample": (*RandomOverSampler(random_state=seed).fit_resample(xt, yt), None)}
    sampler = _smote(is_cat, yt, seed)
    if sampler is None:
        skipped["smote"] = "a class has fewer than 2 training rows"
    else:
        out["smote"] = (*sampler.fit_resample(_impute_numeric(xt, is_cat, medians), yt), None)
    return out


def _summarize(scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (model, metric), g in scores.groupby(["model", "metric"], sort=False):
        wide = g.pivot(index="seed", columns="arm", values="value")
        for arm in [a for a in ARMS if a in wide.columns]:
            row = {"model": model, "arm": arm, "metric": metric,
                   "mean": wide[arm].mean(), "std": wide[arm].std(ddof=1) if len(wide) > 1 else np.nan}
            if arm != "real":
                pair = wide[[arm, "real"]].dropna()
                iv = paired_interval(pair[arm], pair["real"])
                row.update(gain=iv["gain"], low=iv["low"], high=iv["high"], verdict=verdict(iv))
            rows.append(row)
    return pd.DataFrame(rows, columns=["model", "arm", "metric", "mean", "std", "gain", "low",
                                       "high", "verdict"])


def _flat_metrics(summary: pd.DataFrame, choices: dict[str, ShareChoice]) -> dict[str, float]:
    out = {}
    for r in summary.itertuples(index=False):
        base = f"utility/{r.model}/{r.metric}"
        out[f"{base}/{r.arm}"] = float(r.mean)
        out[f"{base}/{r.arm}_std"] = float(r.std)
        if r.arm != "real":
            out[f"{base}/gain_{r.arm}"] = float(r.gain)
            out[f"{base}/gain_{r.arm}_low"] = float(r.low)
            out[f"{base}/gain_{r.arm}_high"] = float(r.high)
    for model, choice in choices.items():
        out |= {f"utility/{model}/{k}": v for k, v in share_metrics(choice).items()}
    return out


def _fmt_gain(r) -> str:
    return f"{r['gain']:+.3f} (95% CI {r['low']:+.3f} to {r['high']:+.3f})"


_SEVERITY = {"helps": Severity.GOOD, "hurts": Severity.BAD}  # anything else: caution


def _detail(model: str, metric: str, sel: pd.DataFrame, choice: ShareChoice | None) -> str:
    """One classifier's part of the verdict: the share validation chose and its test gain."""
    name = MODELS[model]
    if choice is None:
        return f"{name}: all synthetic rows, {metric_label(metric)} {_fmt_gain(sel.loc['real_plus_synth'])}"
    if choice.chosen == 0:
        full = ("" if "real_plus_synth" not in sel.index else
                f"; all synthetic rows, not chosen: {_fmt_gain(sel.loc['real_plus_synth'])}")
        return (f"{name}: validation chose no synthetic data, so the classifier stays real-only "
                f"(gain 0 by construction){full}")
    return (f"{name}: validation chose {share_label(choice.chosen)} of the synthetic rows, "
            f"{metric_label(metric)} {_fmt_gain(sel.loc['real_plus_chosen'])}")


def _verdict(summary: pd.DataFrame, scores: pd.DataFrame, models: Sequence[str],
             choices: dict[str, ShareChoice], metric: str = "balanced_accuracy") -> Verdict:
    """One word first (helps / no clear effect / hurts / mixed), judged on real + the share
    chosen on validation, then the numbers and, honestly, whether a classic baseline did better
    than the synthetic rows."""
    words, details, better = [], [], []
    for model in models:
        sel = summary[(summary.model == model) & (summary.metric == metric)].set_index("arm")
        arm = "real_plus_chosen" if model in choices else "real_plus_synth"
        if arm not in sel.index:
            continue
        words.append(sel.loc[arm, "verdict"])
        details.append(_detail(model, metric, sel, choices.get(model)))
        wide = scores[(scores.model == model) & (scores.metric == metric)].pivot(
            index="seed", columns="arm", values="value")
        for base in ("smote", "oversample", "class_weights"):
            if base in wide.columns:
                iv = paired_interval(wide[base], wide[arm])
                if verdict(iv) == "helps":
                    better.append(f"{arm_label(base)} does better than synthetic data with "
                                  f"{MODELS[model]} ({iv['gain']:+.3f})")
    if not words:
        return Verdict(Severity.CAUTION, "not assessed: no real + synthetic arm could be trained.")
    head = words[0] if len(set(words)) == 1 else "mixed"
    text = (f"{head} — adding synthetic rows to real training data, in the share chosen on "
            "validation: " + "; ".join(details) + ".")
    severity = _SEVERITY.get(head, Severity.CAUTION)
    if better:
        joined = "; ".join(better)
        text += " " + joined[0].upper() + joined[1:] + "."
        severity = Severity.BAD if severity is Severity.BAD else Severity.CAUTION
    elif head != "helps":
        text += " Synthetic data gave no clear benefit here."
    return Verdict(severity, text)

"""Scoring generator snapshots on validation rows carved out of the training split.

GAN losses say nothing about quality, so training keeps the snapshot that scores best here:

* ``val_detection_auc``: a small gradient-boosting detector separating the validation rows from
  synthetic rows in the validation rows' class mix, with the class column among its features
  (so rows that ignore their class are told apart), 3-fold; 0.5 is ideal;
* ``val_tstr``: balanced accuracy on the validation rows of a classifier trained on synthetic
  rows only (does each class's synthetic data carry that class's signal?);
* ``val_dcr_share``: the memorization report's DCR share with the validation rows as its
  holdout: are synthetic rows (those near real data) closer to rows the networks train on than
  to validation rows? On the report's mixed-type distance (``synthgen.data.distance``); 0.5:
  no more than chance, 1: copies (``CopyCheck`` says how it uses more training rows);
* ``val_score`` = mean of ``1 - 2 |auc - 0.5|`` and ``val_tstr``, less ``privacy`` times the
  DCR share's excess over ``0.5 + COPY_MARGIN_SE`` standard errors: higher is better. A
  snapshot that sits on its training rows scores worse however faithful it looks, since a
  detector cannot tell a copy from the real thing.

The validation rows never reach the generator or the critic, and they come out of train, never
out of the holdout or test splits evaluation uses. Everything is seeded: the same snapshot gets
the same score, so a resumed fit selects exactly as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from synthgen.data.distance import MixedEmbedding, dcr_share, nearest_distance

MIN_VALIDATION_ROWS = 40  # fewer: scores are noise; the fit keeps its EMA generator instead
MAX_VALIDATION_ROWS = 2_000  # scoring stays well under a second
SYNTHETIC_PER_REAL = 3  # synthetic rows drawn per validation row (less sampling noise)
_MAX_SYNTHETIC = 5_000
_HGB = {"max_iter": 60, "learning_rate": 0.15, "early_stopping": False}
COPY_REFERENCE_CUTS = 5  # training rows compared, at most, in multiples of the validation rows
_MAX_COPY_REFERENCE = 5_000  # ... and in all (Adult: 2 x 2,000 rows)
_MAX_COPY_SYNTHETIC = 2_000  # synthetic rows the DCR share is measured on (s.e. <= ~0.02)
COPY_MARGIN_SE = 1.0  # the penalty starts this many binomial standard errors above 0.5
NEAR_PERCENTILE = 95  # "near real data": within this percentile of validation -> train distances

# (generator module, rows per class, seed) -> decoded synthetic rows
SampleFn = Callable[[object, Mapping[str, int], int], pd.DataFrame]


def carve_validation(df: pd.DataFrame, condition: str, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(rows to train on, validation rows or None), stratified by class.

    None when the share is 0 or would give fewer than ``MIN_VALIDATION_ROWS`` rows, or when a
    class is too small to lose a row to validation.
    """
    n_val = min(int(round(share * len(df))), MAX_VALIDATION_ROWS)
    counts = df[condition].value_counts()
    if n_val < MIN_VALIDATION_ROWS or counts.min() < 4 or n_val < len(counts):
        return df, None
    fit, val = train_test_split(df, test_size=n_val, stratify=df[condition], random_state=seed)
    return fit, val


class SnapshotScorer:
    """``scorer(generator) -> {val_score, val_detection_auc, val_tstr[, val_dcr_share]}`` on
    fixed validation rows; the DCR share (and its penalty) needs ``fit_rows``, the rows the
    networks train on."""

    def __init__(self, val: pd.DataFrame, condition: str, categorical: list[str], sample: SampleFn, seed: int,
                 *, fit_rows: pd.DataFrame | None = None, privacy: float = 1.0):
        self.val, self.condition, self.sample, self.seed = val, condition, sample, seed
        self.categorical = [c for c in categorical if c in val.columns]
        n_syn = min(SYNTHETIC_PER_REAL * len(val), _MAX_SYNTHETIC)
        mix = val[condition].astype(str).value_counts(normalize=True)
        self.counts = {label: max(1, int(round(p * n_syn))) for label, p in mix.items()}
        self.privacy = privacy
        self.copies = None
        if fit_rows is not None:
            self.copies = CopyCheck(fit_rows[list(val.columns)], val, sorted({*self.categorical, condition}),
                                    condition, seed)

    def __call__(self, generator) -> dict[str, float]:
        synthetic = self.sample(generator, self.counts, self.seed)[list(self.val.columns)]
        with threadpool_limits(limits=1):  # tiny fits: OpenMP threads only spin
            auc = self._detection_auc(synthetic)
            tstr = self._tstr(synthetic)
            scores = {"val_score": 0.5 * (1.0 - 2.0 * abs(auc - 0.5)) + 0.5 * tstr,
                      "val_detection_auc": auc, "val_tstr": tstr}
            if self.copies is not None:
                share, excess = self.copies(synthetic)
                scores["val_score"] -= self.privacy * excess
                scores["val_dcr_share"] = share
        return scores

    def _detection_auc(self, synthetic: pd.DataFrame) -> float:
        (x_real, x_syn), is_cat = _matrices([self.val, synthetic], self.categorical)
        x = np.r_[x_real, x_syn]
        y = np.r_[np.ones(len(x_real)), np.zeros(len(x_syn))]
        prob = np.zeros(len(y))
        folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=self.seed)
        for tr, te in folds.split(x, y):
            clf = _classifier(is_cat, self.seed).fit(x[tr], y[tr])
            prob[te] = clf.predict_proba(x[te])[:, 1]
        return float(roc_auc_score(y, prob))

    def _tstr(self, synthetic: pd.DataFrame) -> float:
        features = [c for c in self.val.columns if c != self.condition]
        cats = [c for c in self.categorical if c != self.condition]
        (x_val, x_syn), is_cat = _matrices([self.val[features], synthetic[features]], cats)
        y_val = self.val[self.condition].astype(str).to_numpy()
        y_syn = synthetic[self.condition].astype(str).to_numpy()
        if len(np.unique(y_syn)) < 2:
            return 0.0
        clf = _classifier(is_cat, self.seed).fit(x_syn, y_syn)
        return float(balanced_accuracy_score(y_val, clf.predict(x_val)))


class CopyCheck:
    """``check(synthetic) -> (DCR share, its excess over the safe level)``: are synthetic rows
    closer to the rows the networks train on than to unseen (validation) rows?

    The memorization report compares each synthetic row's nearest training row with its
    nearest holdout row, over equal-sized sets, so with nothing memorized either is nearest
    half the time. Here that would mean training rows cut to the validation rows' few dozen:
    a copy of a training row left out of the cut would count as no copy, which dilutes the
    signal by the cut's share of the training rows. So the training side is ``k`` times the
    validation rows' size (class-matched, ``k <= COPY_REFERENCE_CUTS``), and the share is read
    from how often the nearest real row is a validation row: ``p0 = 1 / (k + 1)`` by chance,
    0 for copies; ``share = 1 - p / (2 p0)`` is 0.5 by chance and 1 for copies, and equals the
    report's DCR share when ``k = 1``. As in the report, only synthetic rows near real data
    count (within the 95th percentile of validation -> training distances). Everything is
    fixed at construction; a call is a few matrix products.
    """

    def __init__(self, fit_rows: pd.DataFrame, val: pd.DataFrame, categorical: list[str], condition: str,
                 seed: int):
        reference = _class_matched_reference(fit_rows, val, condition, seed)
        self.p0 = len(val) / (len(val) + len(reference))
        self.embedding = MixedEmbedding(categorical).fit(reference)
        self.x_val = self.embedding.transform(val)
        self.x_fit = self.embedding.transform(reference)
        self.near_level = float(np.percentile(nearest_distance(self.x_val, self.x_fit), NEAR_PERCENTILE))

    def __call__(self, synthetic: pd.DataFrame) -> tuple[float, float]:
        step = -(-len(synthetic) // _MAX_COPY_SYNTHETIC)  # every step-th row: keeps the class mix
        x_syn = self.embedding.transform(synthetic.iloc[::step])
        d_val, d_fit = nearest_distance(x_syn, self.x_val), nearest_distance(x_syn, self.x_fit)
        near = np.minimum(d_fit, d_val) <= self.near_level
        n = int(near.sum())
        if n == 0:  # every row far from all real data: no copies
            return 0.5, 0.0
        p_val = 1.0 - dcr_share(d_fit[near], d_val[near])  # nearest is a validation row (ties half)
        share = max(0.0, 1.0 - p_val / (2.0 * self.p0))
        se = np.sqrt(self.p0 * (1.0 - self.p0) / n) / (2.0 * self.p0)
        return share, max(0.0, share - 0.5 - COPY_MARGIN_SE * se)


def _class_matched_reference(fit_rows: pd.DataFrame, val: pd.DataFrame, condition: str, seed: int) -> pd.DataFrame:
    """A seeded sample of ``fit_rows`` with ``k`` times the validation rows' count per class,
    ``k`` as large as every class allows, at most ``COPY_REFERENCE_CUTS`` and
    ``_MAX_COPY_REFERENCE`` rows in all (and at least 1)."""
    want = val[condition].astype(str).value_counts()
    labels = fit_rows[condition].astype(str)
    have = labels.value_counts().reindex(want.index, fill_value=0)
    k = int(np.clip(min((have // want.clip(lower=1)).min(), _MAX_COPY_REFERENCE // len(val)), 1,
                    COPY_REFERENCE_CUTS))
    rng = np.random.default_rng(seed)
    keep = []
    for label, n in want.items():
        rows = np.flatnonzero((labels == label).to_numpy())
        keep.append(rng.permutation(rows)[: k * n])
    return fit_rows.iloc[np.sort(np.concatenate(keep))]


def _classifier(is_cat: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        **_HGB, class_weight="balanced", random_state=seed,
        categorical_features=is_cat if is_cat.any() else None,
    )


def _matrices(frames: list[pd.DataFrame], categorical: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """One float matrix per frame; categoricals as codes shared by all frames (capped at 250
    levels, gradient boosting's limit), dates (typed or text) as seconds, missing as NaN.
    Columns with no value at all are left out (the detector cannot split on them)."""
    both = pd.concat(frames, ignore_index=True)
    cols, is_cat = [], []
    for c in both.columns:
        values = _codes(both[c]) if c in categorical else _numbers(both[c])
        if not np.isnan(values).all():
            cols.append(values)
            is_cat.append(c in categorical)
    x = np.column_stack(cols) if cols else np.zeros((len(both), 0))
    ends = np.cumsum([0] + [len(f) for f in frames])
    return [x[a:b] for a, b in zip(ends[:-1], ends[1:])], np.array(is_cat, dtype=bool)


def _codes(s: pd.Series) -> np.ndarray:
    text = s.astype(str)
    top = text.value_counts().index[:249]
    return pd.factorize(text.where(text.isin(top), "<other>"))[0].astype(float)


def _numbers(s: pd.Series) -> np.ndarray:
    """Numbers as floats; datetimes, and text that holds no number but dates, as seconds."""
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        numbers = pd.to_numeric(s, errors="coerce")
        if numbers.notna().any() or not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            return numbers.to_numpy(dtype=float, na_value=np.nan)
    stamps = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
    return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(float)

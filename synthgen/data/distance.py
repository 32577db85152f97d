"""The mixed-type row distance, where both training (snapshot selection) and evaluation may use it.

``models`` may not import ``evaluation`` (DESIGN.md §2), yet snapshot selection must measure
closeness to training rows exactly as the memorization report does, or it would select for a
different number than the one the report flags. This module holds that distance
and the nearest-row search; ``synthgen.evaluation.distance`` builds on it (column kinds, tree
codes, distance blocks).

HEOM-like (Wilson & Martinez 1997) with robust scaling, as a Euclidean distance in an embedding:

* numeric columns (ints, floats, datetimes as days): ``(x - median) / IQR`` of the reference
  rows (std, then 1, where the IQR is zero), plus a 0/1 missing indicator;
* categorical columns: one-hot scaled by 1/sqrt(2), so a mismatch adds exactly 1 to the squared
  distance. Missing is its own category; values never seen in the reference share one slot.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MISSING = "<missing>"
_UNSEEN = "<unseen>"
EXACT_TOL = 1e-9  # distances at or below this are exact copies (float round-off only)


def category_strings(s: pd.Series) -> pd.Series:
    """Values as strings so that the same category compares equal across frames; NaN -> MISSING."""
    out = s.astype(object).where(s.notna(), MISSING)
    return out.map(str).astype(object)


def numeric_array(s: pd.Series) -> np.ndarray:
    """float64 with NaN for missing; datetimes become days since the epoch, bools 0/1."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        ns = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        out = ns.astype("datetime64[ns]").astype("int64").to_numpy(dtype=np.float64)
        out[s.isna().to_numpy()] = np.nan
        return out / 86_400e9
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        return s.dt.total_seconds().to_numpy(dtype=np.float64) / 86_400.0
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float).to_numpy(dtype=np.float64)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def robust_scale(values: np.ndarray) -> float:
    """IQR of the finite values; std, then 1, where the IQR is zero (e.g. mostly-zero columns)."""
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return 1.0
    q1, q3 = np.percentile(v, [25, 75])
    for scale in (q3 - q1, v.std()):
        if scale > 0:
            return float(scale)
    return 1.0


class MixedEmbedding:
    """Fit on reference rows; ``transform`` any frame with the same columns to float64 rows."""

    def __init__(self, categorical: Sequence[str] = (), max_levels: int = 200):
        self.categorical = list(categorical)
        self.max_levels = max_levels  # rarer levels share the "unseen" slot (memory bound)

    def fit(self, reference: pd.DataFrame) -> MixedEmbedding:
        cats = set(self.categorical)
        self.columns_ = list(reference.columns)
        self.numeric_ = [c for c in self.columns_ if c not in cats]
        self.center_, self.scale_ = {}, {}
        for c in self.numeric_:
            v = numeric_array(reference[c])
            finite = v[np.isfinite(v)]
            self.center_[c] = float(np.median(finite)) if len(finite) else 0.0
            self.scale_[c] = robust_scale(v)
        self.levels_ = {}
        for c in self.columns_:
            if c in cats:
                counts = category_strings(reference[c]).value_counts()
                levels = list(counts.index[: self.max_levels]) + [_UNSEEN]
                self.levels_[c] = {v: i for i, v in enumerate(levels)}
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        blocks = []
        for c in self.numeric_:
            v = (numeric_array(df[c]) - self.center_[c]) / self.scale_[c]
            missing = ~np.isfinite(v)
            blocks.append(np.where(missing, 0.0, v)[:, None])
            blocks.append(missing.astype(np.float64)[:, None])
        for c, index in self.levels_.items():
            codes = category_strings(df[c]).map(index).fillna(index[_UNSEEN]).astype(int)
            onehot = np.zeros((len(df), len(index)))
            onehot[np.arange(len(df)), codes.to_numpy()] = np.sqrt(0.5)
            blocks.append(onehot)
        return np.hstack(blocks) if blocks else np.zeros((len(df), 0))


def nearest(
    query: np.ndarray,
    reference: np.ndarray,
    k: int = 1,
    exclude_self: bool = False,
    chunk: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest reference rows of each query row: (distances, indices), ascending.

    Candidates come from the fast ``|q|^2 + |r|^2 - 2 q.r`` expansion in chunks (bounded memory);
    their distances are then recomputed exactly, so exact copies give 0 and ties compare equal.
    ``exclude_self`` skips index i for query row i (query and reference are the same rows).
    """
    n, m = len(query), len(reference)
    k_eff = min(k, m - (1 if exclude_self else 0))
    if k_eff < 1:
        raise ValueError("nearest: the reference set has too few rows")
    extra = min(k_eff + 2, m)  # spare candidates guard against round-off in the expansion
    r2 = (reference**2).sum(1)
    dist = np.empty((n, k_eff))
    idx = np.empty((n, k_eff), dtype=np.int64)
    for s in range(0, n, chunk):
        q = query[s : s + chunk]
        d2 = (q**2).sum(1)[:, None] + r2[None, :] - 2.0 * (q @ reference.T)
        if exclude_self:
            rows = np.arange(len(q))
            d2[rows, rows + s] = np.inf
        cand = np.argpartition(d2, extra - 1, axis=1)[:, :extra] if extra < m else \
            np.tile(np.arange(m), (len(q), 1))
        exact = np.sqrt(((q[:, None, :] - reference[cand]) ** 2).sum(-1))
        if exclude_self:
            exact[cand == (np.arange(len(q)) + s)[:, None]] = np.inf
        order = np.argsort(exact, axis=1, kind="stable")[:, :k_eff]
        dist[s : s + chunk] = np.take_along_axis(exact, order, 1)
        idx[s : s + chunk] = np.take_along_axis(cand, order, 1)
    return dist, idx


def nearest_distance(query: np.ndarray, reference: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Distance from each query row to its nearest reference row."""
    if len(reference) == 0:
        raise ValueError("nearest_distance: no reference rows")
    return nearest(query, reference, chunk=chunk)[0][:, 0]


def dcr_share(d_train: np.ndarray, d_holdout: np.ndarray) -> float:
    """Share of rows closer to train than to holdout; ties count half (0.5: no memorization)."""
    d_train, d_holdout = np.asarray(d_train), np.asarray(d_holdout)
    if len(d_train) == 0:
        return 0.5
    ties = np.isclose(d_train, d_holdout, rtol=0, atol=EXACT_TOL).mean()
    closer = (d_train < d_holdout - EXACT_TOL).mean()
    return float(closer + 0.5 * ties)

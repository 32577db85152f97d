"""Column kinds and a mixed-type distance between table rows, with a fast nearest-neighbour search.

The distance is HEOM-like (Wilson & Martinez 1997) with robust scaling, computed as a Euclidean
distance in an embedding so that neighbour search is a few matrix products:

* numeric columns (ints, floats, datetimes as days): ``(x - median) / IQR`` of the *train* split
  (std, then 1, where the IQR is zero), plus a 0/1 missing indicator; a value against a missing
  one therefore differs by the indicator (1) and the value's distance to the median;
* categorical columns (strings, categories, bools, low-cardinality integers): one-hot scaled by
  1/sqrt(2), so a mismatch adds exactly 1 to the squared distance, like Gower's 0/1 mismatch.
  Missing is its own category; values never seen in train share one "unseen" slot.

``d(a, b)**2 = sum_numeric ((a-b)/IQR)**2 + (#missing-pattern mismatches) + (#category mismatches)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

MISSING = "<missing>"
_UNSEEN = "<unseen>"
EXACT_TOL = 1e-9  # distances at or below this are exact copies (float round-off only)


# -- column kinds ----------------------------------------------------------------------------
def infer_categorical(df: pd.DataFrame, max_int_levels: int = 10) -> list[str]:
    """Columns compared by category: object/string/category/bool, and integer columns with at
    most ``max_int_levels`` distinct values (0/1 flags, stages, scores)."""
    out = []
    for name in df.columns:
        s = df[name]
        if (
            isinstance(s.dtype, pd.CategoricalDtype)
            or pd.api.types.is_bool_dtype(s.dtype)
            or pd.api.types.is_object_dtype(s.dtype)
            or pd.api.types.is_string_dtype(s.dtype)
        ):
            out.append(name)
        elif pd.api.types.is_integer_dtype(s.dtype) and s.nunique(dropna=True) <= max_int_levels:
            out.append(name)
    return out


def resolve_categorical(df: pd.DataFrame, categorical: Iterable[str] | None) -> list[str]:
    if categorical is None:
        return infer_categorical(df)
    return [c for c in df.columns if c in set(categorical)]


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
        out = s.dt.total_seconds().to_numpy(dtype=np.float64)
        return out / 86_400.0
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype(float).to_numpy(dtype=np.float64)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def tree_codes(frames: Sequence[pd.DataFrame], categorical: set[str],
               max_levels: int = 250) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames with the same columns as float matrices for tree models and linear models:
    categoricals as integer codes shared by all frames (the rarest levels beyond
    ``max_levels`` share one "other" code: HistGradientBoosting allows 255), numbers as float.
    Returns one matrix per frame and the categorical-column mask."""
    cols, is_cat = [], []
    for c in frames[0].columns:
        if c in categorical:
            both = pd.concat([category_strings(f[c]) for f in frames])
            top = both.value_counts().index[: max_levels - 1]
            cols.append(pd.factorize(both.where(both.isin(top), "<other>"))[0].astype(float))
            is_cat.append(True)
        else:
            cols.append(np.concatenate([numeric_array(f[c]) for f in frames]))
            is_cat.append(False)
    n = np.cumsum([0] + [len(f) for f in frames])
    x = np.column_stack(cols) if cols else np.zeros((n[-1], 0))
    return [x[a:b] for a, b in zip(n[:-1], n[1:])], np.array(is_cat, dtype=bool)


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


# -- embedding -------------------------------------------------------------------------------
class MixedEmbedding:
    """Fit on the train split; ``transform`` any frame with the same columns to float64 rows."""

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
        if not blocks:
            return np.zeros((len(df), 0))
        return np.hstack(blocks)


def embed(
    reference: pd.DataFrame, *frames: pd.DataFrame, categorical: Sequence[str] = ()
) -> list[np.ndarray]:
    """Fit the embedding on ``reference`` and transform it and every other frame."""
    emb = MixedEmbedding(categorical).fit(reference)
    return [emb.transform(reference)] + [emb.transform(f) for f in frames]


def pairwise_distance(a: pd.DataFrame, b: pd.DataFrame, categorical: Sequence[str] = (),
                      reference: pd.DataFrame | None = None) -> np.ndarray:
    """Full distance matrix (small inputs only; tests and figures)."""
    emb = MixedEmbedding(categorical).fit(a if reference is None else reference)
    xa, xb = emb.transform(a), emb.transform(b)
    return np.sqrt(((xa[:, None, :] - xb[None, :, :]) ** 2).sum(-1))


# -- nearest neighbours ----------------------------------------------------------------------
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


def distance_blocks(query: np.ndarray, reference: np.ndarray, chunk: int = 1024):
    """Yield ``(start, D)`` with ``D`` the distances of query rows ``start:start+chunk`` to every
    reference row (expansion formula: accurate to ~1e-6, enough for radius tests)."""
    r2 = (reference**2).sum(1)
    for s in range(0, len(query), chunk):
        q = query[s : s + chunk]
        d2 = (q**2).sum(1)[:, None] + r2[None, :] - 2.0 * (q @ reference.T)
        yield s, np.sqrt(np.maximum(d2, 0.0))

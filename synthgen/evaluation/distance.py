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

# The row distance itself lives where snapshot selection may use it too; re-exported here.
from synthgen.data.distance import (  # noqa: F401
    EXACT_TOL,
    MISSING,
    MixedEmbedding,
    category_strings,
    nearest,
    numeric_array,
    robust_scale,
)



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
def distance_blocks(query: np.ndarray, reference: np.ndarray, chunk: int = 1024):
    """Yield ``(start, D)`` with ``D`` the distances of query rows ``start:start+chunk`` to every
    reference row (expansion formula: accurate to ~1e-6, enough for radius tests)."""
    r2 = (reference**2).sum(1)
    for s in range(0, len(query), chunk):
        q = query[s : s + chunk]
        d2 = (q**2).sum(1)[:, None] + r2[None, :] - 2.0 * (q @ reference.T)
        yield s, np.sqrt(np.maximum(d2, 0.0))

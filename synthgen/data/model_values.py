"""A table's values as the model sees them: numeric kinds as float64 (datetimes in seconds
since the epoch, UTC), NaN where missing; categorical / boolean columns as indices into
``spec.categories``, -1 where missing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthgen.data import dates
from synthgen.data.columns import ColumnSpec, json_scalar
from synthgen.data.rare import RARE
from synthgen.errors import DataError

_SECOND = pd.Timedelta(seconds=1)


def numeric_values(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """A numeric-kind column as float64 (datetimes: seconds since the epoch), NaN if missing."""
    if spec.kind == "datetime":
        x = _datetime_seconds(series, spec)
    elif pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        x = series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = series.astype("object")
        if spec.na_tokens:
            text = text.mask(text.isin(spec.na_tokens))
        parsed = pd.to_numeric(text, errors="coerce")
        name_unparsed(text, parsed, spec)
        x = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(x).any():
        raise DataError(f"column {spec.name!r} has infinite values; replace or drop them")
    return x


def category_codes(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """Indices into ``spec.categories`` (int64), -1 where missing; unseen values are an error."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    index = {v: i for i, v in enumerate(spec.categories)}
    lookup = np.empty(len(uniques) + 1, dtype=np.int64)
    lookup[-1] = -1  # factorize's -1 (missing) indexes the last slot
    for i, value in enumerate(uniques):
        j = index.get(json_scalar(value))
        if j is None and spec.rare_pooled:  # a rare (or new) value: pooled, never kept
            j = index.get(RARE, -1)
        if j is None:
            raise DataError(f"column {spec.name!r}: value {value!r} was not seen when fitting")
        lookup[i] = j
    return lookup[codes]


def _datetime_seconds(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series
    else:
        stamps = dates.parse_text(series, spec.text_format)
        name_unparsed(series, stamps, spec)
    epoch = pd.Timestamp(0, tz="UTC") if getattr(stamps.dtype, "tz", None) else pd.Timestamp(0)
    return ((stamps - epoch) / _SECOND).to_numpy(dtype=np.float64, na_value=np.nan)


def name_unparsed(raw: pd.Series, parsed: pd.Series, spec: ColumnSpec) -> None:
    bad = raw.notna().to_numpy() & parsed.isna().to_numpy()
    if bad.any():
        value = json_scalar(raw[bad].iloc[0])
        raise DataError(f"column {spec.name!r}: value {value!r} cannot be read as {spec.kind}")

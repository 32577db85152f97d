"""From model values back to the input's columns, dtypes and category sets.

``restore_frame`` takes numbers (or dates) and original values; ``restore_decoded`` takes a
generator's output, numbers and category indices, and casts each discrete column's short
category list once instead of every row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from synthgen.data.columns import DISCRETE_KINDS, ColumnSpec, TableSchema
from synthgen.data.model_values import numeric_values


def restore_frame(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The schema's columns, in order, with the input's dtypes and category sets.

    Numeric kinds may come as floats (datetimes as seconds, or as datetimes/date text) and are
    rounded/clipped to the observed range; discrete kinds come as their original values, NaN
    where missing.
    """
    return pd.DataFrame({spec.name: restore_column(df[spec.name], spec) for spec in schema.columns})


def restore_decoded(columns: Mapping[str, np.ndarray], schema: TableSchema) -> pd.DataFrame:
    """``restore_frame`` for a model's output: numeric kinds as float arrays, discrete kinds as
    indices into ``spec.categories`` (-1: missing), which never become Python objects."""
    out = {}
    for spec in schema.columns:
        values = columns[spec.name]
        if spec.kind in DISCRETE_KINDS:
            out[spec.name] = restore_codes(values, spec)
        else:
            out[spec.name] = restore_column(pd.Series(values, name=spec.name), spec)
    return pd.DataFrame(out)


def restore_codes(codes: np.ndarray, spec: ColumnSpec) -> pd.Series:
    """A discrete column from category indices (-1: missing), in the input's dtype.

    The same as ``restore_column`` on the values, but the dtype cast runs once on the short
    category list and rows are a ``take`` from it: for string columns that skips building a
    Python object per row (pandas' Arrow strings cost ~0.1 us per row to build from objects).
    """
    codes = np.asarray(codes, dtype=np.int64)
    missing = bool((codes < 0).any())
    values = np.empty(len(spec.categories) + missing, dtype=object)
    values[: len(spec.categories)] = spec.categories
    table = pd.Series(values, name=spec.name)  # inferred as an object column of rows would be
    if missing:
        codes = np.where(codes < 0, len(spec.categories), codes)
    return _cast(table, spec).take(codes).reset_index(drop=True)


def restore_column(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    series = series.reset_index(drop=True)
    if spec.kind in DISCRETE_KINDS:
        return _cast(series.astype("object"), spec)
    if spec.kind == "datetime":
        return _restore_datetime(series, spec)
    x = series.to_numpy(dtype=np.float64, na_value=np.nan)
    x = np.clip(x, spec.min, spec.max)
    if spec.kind == "integer" or spec.dtype.startswith(("int", "uint", "Int", "UInt", "bool")):
        x = np.round(x)  # also an int/bool column given --kind continuous: round, never truncate
    return _cast(pd.Series(x, name=spec.name), spec)


def _restore_datetime(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    if not pd.api.types.is_numeric_dtype(series.dtype):  # datetimes or date text as input
        series = pd.Series(numeric_values(series, spec))
    x = np.clip(series.to_numpy(dtype=np.float64, na_value=np.nan), spec.min, spec.max)
    stamps = pd.Series(pd.to_datetime(x, unit="s", utc=spec.tz is not None).round("s"), name=spec.name)
    if spec.tz is not None:
        stamps = stamps.dt.tz_convert(spec.tz)
    if spec.resolution == "D":
        stamps = stamps.dt.round("D")
    if spec.text_format is not None or not spec.dtype.startswith("datetime64"):
        text = stamps.dt.strftime(spec.text_format or "%Y-%m-%d %H:%M:%S").astype("object")
        return _cast(text.where(stamps.notna(), None), spec)
    return stamps.astype(spec.dtype)


def _cast(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    """``series`` in the column's original dtype (nullable variants where values are missing)."""
    dtype = spec.dtype
    if dtype == "category":
        cats = spec.dtype_categories if spec.dtype_categories is not None else spec.categories
        values = pd.Categorical(series, categories=cats, ordered=spec.ordered)
        return pd.Series(values, name=spec.name)
    if dtype in ("str", "string"):
        return series.astype(dtype).rename(spec.name)
    missing = series.isna().any()
    if missing and dtype.startswith(("int", "uint")):
        dtype = "Int64"
    elif missing and dtype == "bool":
        dtype = "boolean"
    return series.astype(dtype).rename(spec.name)

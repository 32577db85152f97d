"""``infer_schema``: look at the training table once and record, per column, its kind
(continuous, integer, categorical, boolean, datetime), the pandas dtype it came in, its missing
rate, its categories (JSON-safe, in a stable order) and its numeric range; leave out identifier
columns and pool rare categories (the privacy rules); refuse what cannot be modelled, naming
the column."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthgen.data import dates
from synthgen.data.columns import DISCRETE_KINDS, KINDS, ColumnSpec, TableSchema, json_scalar
from synthgen.data.identifiers import identifier_reason
from synthgen.data.model_values import name_unparsed, numeric_values
from synthgen.data.rare import RARE, PrivacyRules, rare_values
from synthgen.data.text_tokens import missing_tokens
from synthgen.errors import DataError

_NUMBER_TYPES = ("integer", "floating", "mixed-integer-float", "decimal", "complex", "boolean")


def infer_schema(
    df: pd.DataFrame,
    condition: str,
    *,
    kinds: Mapping[str, str] | None = None,
    drop: Iterable[str] = (),
    rules: PrivacyRules | None = None,
) -> TableSchema:
    """Infer each column's kind (overridable with ``kinds``), dropping ``drop``; validate.

    ``rules`` (default: protective) leaves out identifier-like columns that ``kinds`` does not
    name, and pools categories held by fewer than ``rules.min_category_count`` patients.
    """
    kinds = dict(kinds or {})
    drop = list(drop)
    rules = rules or PrivacyRules()
    _check_arguments(df, condition, kinds, drop)
    groups = df[rules.patient_column] if rules.patient_column in df.columns else None
    specs, excluded = [], {}
    for name in df.columns:
        if name in drop:
            continue
        series = df[name]
        _check_supported(series)
        if series.isna().all():
            raise DataError(f"column {name!r} is empty (all values missing); drop it")
        if name == condition:
            specs.append(_condition_spec(series, kinds.get(name)))
            continue
        kind = kinds.get(name) or infer_kind(series)
        reason = identifier_reason(series, kind) if rules.exclude_identifiers and name not in kinds else None
        if reason:
            excluded[str(name)] = reason
            continue
        spec = column_spec(series, kind)
        if kind == "categorical":
            _pool_rare(spec, series, groups, rules.min_category_count)
        specs.append(spec)
    return TableSchema(columns=specs, condition=condition, excluded=excluded)


def _check_arguments(df: pd.DataFrame, condition: str, kinds: dict, drop: list) -> None:
    for name in [*kinds, *drop]:
        _require_column(df, name, "named in kinds/drop")
    for name, kind in kinds.items():
        if kind not in KINDS:
            raise DataError(f"column {name!r}: unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    _require_column(df, condition, "condition column")
    if condition in drop:
        raise DataError(f"condition column {condition!r} is also listed in drop")
    if len(df) == 0:
        raise DataError("the table has no rows")


_NESTED = (list, tuple, dict, set, np.ndarray, bytes, bytearray, memoryview)


def _check_supported(series: pd.Series) -> None:
    """Lists, structs and binary blobs (Parquet allows them) have no kind: name the column."""
    if not (pd.api.types.is_object_dtype(series.dtype) or isinstance(series.dtype, pd.ArrowDtype)):
        return
    nested = next((v for v in series.dropna() if isinstance(v, _NESTED)), None)
    if nested is not None:
        what = "binary" if isinstance(nested, (bytes, bytearray, memoryview)) else f"nested ({type(nested).__name__})"
        raise DataError(
            f"column {series.name!r} holds {what} values; synthgen models numbers, text, dates "
            f"and booleans: flatten it or leave it out with --drop {series.name}"
        )


def _pool_rare(spec: ColumnSpec, series: pd.Series, groups: pd.Series | None, min_count: int) -> None:
    """Drop values held by too few patients from ``spec``'s categories (see ``data/rare.py``)."""
    rare = {json_scalar(v) for v in rare_values(series, groups, min_count)}
    if not rare:
        return
    as_text = all(isinstance(v, str) for v in [*spec.categories, *rare])
    spec.rare_pooled = len(rare)
    spec.categories = [v for v in spec.categories if v not in rare] + ([RARE] if as_text else [])
    if spec.dtype_categories is not None:
        spec.dtype_categories = [v for v in spec.dtype_categories if v not in rare] + ([RARE] if as_text else [])
    if not as_text:  # numbers stay numbers: a rare one becomes a missing value
        pooled = series.map(json_scalar).isin(rare)
        spec.missing_rate = float((series.isna() | pooled).mean())


def infer_kind(series: pd.Series) -> str:
    """The kind a column most plausibly is, from its dtype and values."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    values = series.dropna()
    if pd.api.types.is_numeric_dtype(dtype):
        x = values.to_numpy(dtype=np.float64)
        if np.all(np.isfinite(x)) and np.all(x == np.round(x)):
            # A 0/1 flag is a boolean, not a number with two modes.
            return "boolean" if set(np.unique(x)) == {0.0, 1.0} else "integer"
        return "continuous"
    if pd.api.types.infer_dtype(values, skipna=True) == "boolean":
        return "boolean"
    if dates.date_format(values) is not None:
        return "datetime"
    if missing_tokens(series):  # numbers with a few words: the words are missing values
        x = pd.to_numeric(values.astype("object"), errors="coerce").dropna().to_numpy(np.float64)
        return "integer" if np.all(x == np.round(x)) else "continuous"
    return "categorical"


def column_spec(series: pd.Series, kind: str) -> ColumnSpec:
    """Record what the model needs about one column of the given kind (validating values)."""
    spec = ColumnSpec(
        name=str(series.name),
        kind=kind,
        dtype=str(series.dtype),
        missing_rate=float(series.isna().mean()),
    )
    if isinstance(series.dtype, pd.CategoricalDtype):
        spec.dtype_categories = [json_scalar(v) for v in series.cat.categories]
        spec.ordered = bool(series.cat.ordered)
    if kind in DISCRETE_KINDS:
        spec.categories = _stable_categories(series)
        if kind == "boolean" and len(spec.categories) > 2:
            raise DataError(
                f"column {spec.name!r}: value {spec.categories[2]!r} makes a third value for a "
                "boolean column"
            )
        return spec
    if kind == "datetime":
        _describe_datetime(series, spec)
    else:
        _describe_number_text(series, spec)
    x = numeric_values(series, spec)
    if kind == "integer":
        bad = ~np.isnan(x) & (x != np.round(x))
        if bad.any():
            value = json_scalar(series[bad].iloc[0])
            raise DataError(f"column {spec.name!r}: value {value!r} is not an integer")
    spec.min, spec.max = float(np.nanmin(x)), float(np.nanmax(x))
    return spec


def _describe_number_text(series: pd.Series, spec: ColumnSpec) -> None:
    """Numbers given as text with a few words: the words become missing values, the column a
    numeric one (``Int64`` / ``float64`` on output: the words are not written back)."""
    tokens = missing_tokens(series)
    if not tokens:
        return
    spec.na_tokens = tokens
    spec.dtype = "Int64" if spec.kind == "integer" else "float64"
    spec.missing_rate = float((series.isna() | series.isin(tokens)).mean())


def _describe_datetime(series: pd.Series, spec: ColumnSpec) -> None:
    """Time zone, day resolution and text format of a datetime column (spec filled in place)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        tz = getattr(series.dtype, "tz", None)
        spec.tz = str(tz) if tz is not None else None
        stamps = series.dropna()
    elif pd.api.types.infer_dtype(series.dropna(), skipna=True) in _NUMBER_TYPES:
        # pandas would read numbers as nanoseconds since 1970: never what a user means.
        first = json_scalar(series.dropna().iloc[0])
        raise DataError(
            f"column {spec.name!r}: value {first!r} is a number, not a date; a datetime column "
            "needs dates such as '2024-01-31'"
        )
    else:
        fmt = dates.date_format(series.dropna())
        spec.text_format = None if fmt == dates.MIXED else fmt  # mixed: read as UTC, written as ISO
        stamps = dates.parse_text(series, spec.text_format)
        name_unparsed(series, stamps, spec)
        stamps = stamps.dropna()
    spec.resolution = "D" if (stamps == stamps.dt.normalize()).all() else "s"


def _condition_spec(series: pd.Series, kind: str | None) -> ColumnSpec:
    name = series.name
    if kind is not None and kind not in DISCRETE_KINDS:
        raise DataError(f"condition column {name!r} must be categorical or boolean, not {kind}")
    missing = int(series.isna().sum())
    if missing:
        raise DataError(
            f"condition column {name!r} has {missing} row(s) with no label; drop or label them"
        )
    inferred = infer_kind(series)
    if kind is None and inferred == "continuous":
        x = series.to_numpy(dtype=np.float64)
        example = json_scalar(x[~np.isfinite(x) | (x != np.round(x))][0])
        raise DataError(
            f"condition column {name!r} holds measurements (e.g. {example!r}), not class labels; "
            f"bin it into classes, or pass --kind {name}=categorical if each value is a class"
        )
    spec = column_spec(series, kind or ("boolean" if inferred == "boolean" else "categorical"))
    labels = [str(v) for v in spec.categories]
    if len(labels) < 2:
        raise DataError(
            f"condition column {name!r} has a single class ({labels[0]!r}); need at least two"
        )
    if len(set(labels)) != len(labels):
        raise DataError(f"condition column {name!r}: two labels read the same as text ({labels})")
    return spec


def _require_column(df: pd.DataFrame, name: str, role: str) -> None:
    if name in df.columns:
        return
    names = [str(c) for c in df.columns]
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else f"; columns: {', '.join(names[:20])}"
    raise DataError(f"{role} {name!r} is not a column of the table{hint}")


def _stable_categories(series: pd.Series) -> list[Any]:
    """Observed values, JSON-safe: the dtype's order for pandas categoricals, else sorted."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.dropna().unique())
        return [json_scalar(v) for v in series.cat.categories if v in present]
    values = [json_scalar(v) for v in pd.unique(series.dropna())]
    values = list(dict.fromkeys(values))
    try:
        return sorted(values, key=lambda v: (type(v).__name__, v))
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))

"""What each column of a table is, and how to turn model values back into the input's dtypes.

``infer_schema`` looks at the training table once and records, per column, its kind
(continuous, integer, categorical, boolean, datetime), the pandas dtype it came in, its missing
rate, its categories (JSON-safe, in a stable order) and its numeric range. The schema is stored
in ``model.json`` as plain JSON (``to_dict``/``from_dict``), never pickled.

Two conversions are defined here so that the model never has to know about pandas dtypes:

- ``numeric_values(series, spec)``: continuous / integer / datetime columns as float64
  (datetimes in seconds since the epoch, UTC), NaN where missing.
- ``category_codes(series, spec)``: categorical / boolean columns as indices into
  ``spec.categories``, -1 where missing.

``restore_frame`` goes the other way, from model values to the input's columns and dtypes;
``restore_decoded`` does the same from numbers and category indices (a generator's output),
casting each discrete column's short category list once instead of every row.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, get_args

import numpy as np
import pandas as pd

from synthgen.config import ColumnKind
from synthgen.data import dates
from synthgen.data.identifiers import identifier_reason
from synthgen.data.rare import RARE, PrivacyRules, rare_values
from synthgen.data.text_tokens import missing_tokens
from synthgen.errors import DataError

KINDS: tuple[str, ...] = get_args(ColumnKind)
NUMERIC_KINDS = ("continuous", "integer", "datetime")
DISCRETE_KINDS = ("categorical", "boolean")

_SECOND = pd.Timedelta(seconds=1)
_NUMBER_TYPES = ("integer", "floating", "mixed-integer-float", "decimal", "complex", "boolean")


@dataclass
class ColumnSpec:
    """One column: its kind, the dtype it came in, and what the model needs to rebuild it."""

    name: str
    kind: str
    dtype: str
    missing_rate: float = 0.0
    # categorical / boolean: the observed values (JSON-safe), in a stable order.
    categories: list[Any] | None = None
    # pandas "category" dtype: the full category list (observed or not) and whether ordered.
    dtype_categories: list[Any] | None = None
    ordered: bool = False
    # numeric kinds (datetime in seconds since the epoch): the observed range.
    min: float | None = None
    max: float | None = None
    # datetime: time zone, "D" if every value is a whole day, and the text format of string dates.
    tz: str | None = None
    resolution: str | None = None
    text_format: str | None = None
    # numeric kinds read from text: the words read as missing values (e.g. "n/a-hemolysed").
    na_tokens: list[str] | None = None
    # categorical: how many values were too rare to keep (pooled as RARE, or missing if numbers).
    rare_pooled: int = 0

    @property
    def has_missing(self) -> bool:
        return self.missing_rate > 0


@dataclass
class TableSchema:
    """The table's columns in input order (condition included) and the condition's labels."""

    columns: list[ColumnSpec]
    condition: str
    # Columns left out because they identify people: name -> why (names only, never values).
    excluded: dict[str, str] = field(default_factory=dict)
    _by_name: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name = {c.name: c for c in self.columns}

    def __getitem__(self, name: str) -> ColumnSpec:
        return self._by_name[name]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def features(self) -> list[ColumnSpec]:
        """Every column but the condition, in input order."""
        return [c for c in self.columns if c.name != self.condition]

    @property
    def labels(self) -> list[str]:
        """Class labels as strings, in the stable category order."""
        return [str(v) for v in self[self.condition].categories]

    def label_value(self, label: str) -> Any:
        """The original (JSON-safe) value behind a label string."""
        return self[self.condition].categories[self.labels.index(label)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "condition": self.condition,
            "columns": [asdict(c) for c in self.columns],
            "excluded": dict(self.excluded),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TableSchema:
        known = {f.name for f in fields(ColumnSpec)}
        columns = [ColumnSpec(**{k: v for k, v in c.items() if k in known}) for c in doc["columns"]]
        return cls(columns=columns, condition=doc["condition"], excluded=dict(doc.get("excluded") or {}))


# --------------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------------


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
    rare = {_json_scalar(v) for v in rare_values(series, groups, min_count)}
    if not rare:
        return
    as_text = all(isinstance(v, str) for v in [*spec.categories, *rare])
    spec.rare_pooled = len(rare)
    spec.categories = [v for v in spec.categories if v not in rare] + ([RARE] if as_text else [])
    if spec.dtype_categories is not None:
        spec.dtype_categories = [v for v in spec.dtype_categories if v not in rare] + ([RARE] if as_text else [])
    if not as_text:  # numbers stay numbers: a rare one becomes a missing value
        pooled = series.map(_json_scalar).isin(rare)
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
        spec.dtype_categories = [_json_scalar(v) for v in series.cat.categories]
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
            value = _json_scalar(series[bad].iloc[0])
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
        example = _json_scalar(x[~np.isfinite(x) | (x != np.round(x))][0])
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
        return [_json_scalar(v) for v in series.cat.categories if v in present]
    values = [_json_scalar(v) for v in pd.unique(series.dropna())]
    values = list(dict.fromkeys(values))
    try:
        return sorted(values, key=lambda v: (type(v).__name__, v))
    except TypeError:
        return sorted(values, key=lambda v: (type(v).__name__, str(v)))


def _json_scalar(value: Any) -> Any:
    """A plain Python value that survives a JSON round trip unchanged."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


# --------------------------------------------------------------------------------------------
# Model values: numbers and category codes
# --------------------------------------------------------------------------------------------


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
        _name_unparsed(text, parsed, spec)
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
        j = index.get(_json_scalar(value))
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
        _name_unparsed(series, stamps, spec)
    epoch = pd.Timestamp(0, tz="UTC") if getattr(stamps.dtype, "tz", None) else pd.Timestamp(0)
    return ((stamps - epoch) / _SECOND).to_numpy(dtype=np.float64, na_value=np.nan)


def _name_unparsed(raw: pd.Series, parsed: pd.Series, spec: ColumnSpec) -> None:
    bad = raw.notna().to_numpy() & parsed.isna().to_numpy()
    if bad.any():
        value = _json_scalar(raw[bad].iloc[0])
        raise DataError(f"column {spec.name!r}: value {value!r} cannot be read as {spec.kind}")


def _describe_datetime(series: pd.Series, spec: ColumnSpec) -> None:
    """Time zone, day resolution and text format of a datetime column (spec filled in place)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        tz = getattr(series.dtype, "tz", None)
        spec.tz = str(tz) if tz is not None else None
        stamps = series.dropna()
    elif pd.api.types.infer_dtype(series.dropna(), skipna=True) in _NUMBER_TYPES:
        # pandas would read numbers as nanoseconds since 1970: never what a user means.
        first = _json_scalar(series.dropna().iloc[0])
        raise DataError(
            f"column {spec.name!r}: value {first!r} is a number, not a date; a datetime column "
            "needs dates such as '2024-01-31'"
        )
    else:
        fmt = dates.date_format(series.dropna())
        spec.text_format = None if fmt == dates.MIXED else fmt  # mixed: read as UTC, written as ISO
        stamps = dates.parse_text(series, spec.text_format)
        _name_unparsed(series, stamps, spec)
        stamps = stamps.dropna()
    spec.resolution = "D" if (stamps == stamps.dt.normalize()).all() else "s"


# --------------------------------------------------------------------------------------------
# Restoring the input's dtypes
# --------------------------------------------------------------------------------------------


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

"""What each column of a table is: ``ColumnSpec`` per column and the ``TableSchema`` of the
table, stored in ``model.json`` as plain JSON (``to_dict``/``from_dict``), never pickled.

How a schema is inferred is ``schema_inference``; turning values into model numbers and back
is ``model_values`` and ``restore``. ``schema`` gathers them under one import.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, get_args

import numpy as np
import pandas as pd

from synthgen.config import ColumnKind

KINDS: tuple[str, ...] = get_args(ColumnKind)
NUMERIC_KINDS = ("continuous", "integer", "datetime")
DISCRETE_KINDS = ("categorical", "boolean")


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


def json_scalar(value: Any) -> Any:
    """A plain Python value that survives a JSON round trip unchanged."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)

"""What an evaluation hands back: typed findings, never markup.

Flat metrics (for metrics.json and MLflow), headline metrics with a label and a direction,
verdicts whose severity the code that judged them sets, warnings, and report sections made of
notes, tables as data and figure specs. Only ``synthgen.report`` turns these into HTML,
Markdown and metrics.json, the same way for every modality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Union


class Severity(str, Enum):
    """How a verdict reads: decided where the numbers were judged, never guessed from words."""

    GOOD = "good"
    CAUTION = "caution"
    BAD = "bad"


class Direction(str, Enum):
    HIGHER = "higher is better"
    LOWER = "lower is better"
    TARGET = "closer to the stated reference is better"
    CONTEXT = "for context"


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Note:
    """A paragraph of explanation; a severity only when the note itself judges something."""

    text: str
    severity: Severity | None = None


@dataclass(frozen=True)
class Column:
    """``kind`` says how cells read: text | number | count | share | signed | mean_sd | interval.

    ``mean_sd`` cells are ``(mean, sd)``; ``interval`` cells ``(gain, low, high)``.
    """

    name: str
    kind: str = "number"
    digits: int = 3


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[Any]]
    title: str = ""

    @classmethod
    def from_frame(cls, df: Any, title: str = "", kinds: dict[str, str] | None = None,
                   digits: int = 3) -> Table:
        """A DataFrame as a table; integer columns read as counts, text as text."""
        import pandas as pd

        kinds = kinds or {}
        columns = []
        for name in df.columns:
            dtype = df[name].dtype
            guess = ("count" if pd.api.types.is_integer_dtype(dtype) else
                     "number" if pd.api.types.is_float_dtype(dtype) else "text")
            columns.append(Column(str(name).replace("_", " "), kinds.get(name, guess), digits))
        rows = [[v.item() if hasattr(v, "item") else v for v in row]
                for row in df.itertuples(index=False)]
        return cls(columns, rows, title)


@dataclass
class FigureSpec:
    """What to draw (``kind`` names a drawing in ``synthgen.report.figures``) and its data."""

    kind: str
    title: str
    caption: str = ""
    data: dict[str, Any] = field(default_factory=dict)


Block = Union[Note, Table, FigureSpec]


@dataclass
class Section:
    key: str  # "fidelity", "memorization", "utility", "training", "samples", ...
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def figures(self) -> list[FigureSpec]:
        return [b for b in self.blocks if isinstance(b, FigureSpec)]

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]


@dataclass(frozen=True)
class HeadlineMetric:
    """One number a reader sees first, with its plain-language label and direction."""

    key: str
    label: str
    value: float
    direction: Direction
    kind: str = "number"  # a Column kind: number | count | share | signed
    interval: tuple[float, float] | None = None  # paired 95% interval of a gain


@dataclass
class Findings:
    metrics: dict[str, float] = field(default_factory=dict)  # flat: "fidelity/detection_auc"
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # "fidelity", "utility", ...
    sections: list[Section] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    headline: list[HeadlineMetric] = field(default_factory=list)
    class_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> class -> n
    meta: dict[str, Any] = field(default_factory=dict)  # dataset, condition, row counts, ...

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def extend(self, other: Findings) -> Findings:
        """Fold another result in (e.g. a training section added later)."""
        self.metrics.update(other.metrics)
        self.verdicts.update(other.verdicts)
        self.sections.extend(other.sections)
        for w in other.warnings:
            self.warn(w)
        known = {h.key for h in self.headline}
        self.headline.extend(h for h in other.headline if h.key not in known)
        self.class_counts.update(other.class_counts)
        self.meta.update(other.meta)
        return self

    def headline_metrics(self) -> dict[str, float]:
        """The headline metrics that are finite numbers (what MLflow accepts)."""
        return {h.key: float(h.value) for h in self.headline
                if h.value is not None and math.isfinite(float(h.value))}


EvaluationResult = Findings  # the name the Python API documents

"""What an evaluation hands back: flat metrics, verdicts, report sections and warnings.

Shared by the tabular and imaging evaluations; the workflow logs ``headline`` metrics to MLflow
and calls ``write`` to produce ``report.html``, ``metrics.json`` and ``summary.md``.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.atomic import write_text


@dataclass
class Figure:
    """A PNG embedded in the HTML report as base64."""

    title: str
    png: bytes
    caption: str = ""

    @classmethod
    def from_matplotlib(cls, fig: Any, title: str, caption: str = "", dpi: int = 90) -> Figure:
        """Render a matplotlib figure to PNG bytes and close it (figures leak memory otherwise)."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        return cls(title=title, png=buf.getvalue(), caption=caption)


@dataclass
class Section:
    """One part of the report; ``html`` is an already-escaped fragment (tables, notes)."""

    key: str  # "fidelity", "memorization", "utility", "training", "samples", ...
    title: str
    html: str = ""
    figures: list[Figure] = field(default_factory=list)


def _json_safe(value: Any) -> Any:
    """NaN/inf are not JSON: write them as null. Numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass
class EvaluationResult:
    metrics: dict[str, float] = field(default_factory=dict)  # flat: "fidelity/detection_auc"
    verdicts: dict[str, str] = field(default_factory=dict)  # "fidelity": "...", "utility": ...
    sections: list[Section] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    headline: list[str] = field(default_factory=list)  # metric keys to log / show first
    meta: dict[str, Any] = field(default_factory=dict)  # dataset, row counts, condition, ...

    # -- building ---------------------------------------------------------------------------
    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.key == key), None)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def extend(self, other: EvaluationResult) -> EvaluationResult:
        """Fold another result in (e.g. a training section added by the workflow)."""
        self.metrics.update(other.metrics)
        self.verdicts.update(other.verdicts)
        self.sections.extend(other.sections)
        for w in other.warnings:
            self.warn(w)
        self.headline.extend(k for k in other.headline if k not in self.headline)
        self.meta.update(other.meta)
        return self

    def headline_metrics(self) -> dict[str, float]:
        """The headline metrics that are finite numbers (what MLflow accepts)."""
        out = {}
        for key in self.headline:
            v = self.metrics.get(key)
            if v is not None and math.isfinite(float(v)):
                out[key] = float(v)
        return out

    # -- output -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return _json_safe(
            {
                "meta": self.meta,
                "verdicts": self.verdicts,
                "warnings": self.warnings,
                "headline": self.headline,
                "metrics": self.metrics,
            }
        )

    def to_json(self, path: str | Path) -> Path:
        return write_text(path, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")

    def to_markdown(self, path: str | Path) -> Path:
        from synthgen.report.summary import render_markdown

        return write_text(path, render_markdown(self))

    def to_html(self, path: str | Path) -> Path:
        from synthgen.report.html import render_html

        return write_text(path, render_html(self))

    def write(self, folder: str | Path) -> dict[str, Path]:
        """``report.html``, ``metrics.json`` and ``summary.md`` in ``folder``, each atomically."""
        folder = Path(folder)
        return {
            "report": self.to_html(folder / "report.html"),
            "metrics": self.to_json(folder / "metrics.json"),
            "summary": self.to_markdown(folder / "summary.md"),
        }

"""The one renderer: findings of any modality as ``report.html``, ``metrics.json`` and
``summary.md``. Nothing here computes a metric or judges a result."""

from __future__ import annotations

from pathlib import Path

from synthgen.atomic import write_text
from synthgen.evaluation.findings import Findings
from synthgen.report.html import render_html
from synthgen.report.markdown import render_markdown
from synthgen.report.metrics_json import metrics_document, render_metrics_json

__all__ = ["metrics_document", "render_html", "render_markdown", "render_metrics_json",
           "write_report"]


def write_report(findings: Findings, folder: str | Path) -> dict[str, Path]:
    """``report.html``, ``metrics.json`` and ``summary.md`` in ``folder``, each atomically."""
    folder = Path(folder)
    # Render everything before writing anything: a failure leaves no half-written report.
    texts = {"report": ("report.html", render_html(findings)),
             "metrics": ("metrics.json", render_metrics_json(findings)),
             "summary": ("summary.md", render_markdown(findings))}
    return {kind: write_text(folder / name, text) for kind, (name, text) in texts.items()}

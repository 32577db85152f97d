"""``summary.md``: verdicts, warnings and headline numbers in a few lines of Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthgen.report.fragments import fmt
from synthgen.report.labels import describe

if TYPE_CHECKING:
    from synthgen.evaluation.result import EvaluationResult


def render_markdown(result: EvaluationResult) -> str:
    title = result.meta.get("dataset") or "synthetic data"
    lines = [f"# Evaluation summary: {title}", ""]
    facts = [f"{k.replace('_', ' ')}: {v}" for k, v in result.meta.items()
             if not isinstance(v, (dict, list))]
    if facts:
        lines += ["; ".join(facts), ""]
    if result.warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in result.warnings] + [""]
    if result.verdicts:
        lines += ["## Verdicts", ""]
        lines += [f"- **{k}**: {v}" for k, v in result.verdicts.items()] + [""]
    if result.headline:
        lines += ["## Headline numbers", "", "| Measure | Value |", "|---|---|"]
        lines += [f"| {describe(k)} | {fmt(result.metrics.get(k))} |" for k in result.headline]
        lines.append("")
    lines.append("The full report with figures is in report.html; every number in metrics.json.")
    return "\n".join(lines) + "\n"

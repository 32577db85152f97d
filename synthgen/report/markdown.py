"""``summary.md``: class counts, warnings, verdicts with their severity and the headline numbers."""

from __future__ import annotations

from synthgen.evaluation.findings import Findings
from synthgen.report.fragments import markdown_table, number
from synthgen.report.tables import class_count_table, headline_table


def render_markdown(findings: Findings) -> str:
    title = findings.meta.get("dataset") or "synthetic data"
    lines = [f"# Evaluation summary: {title}", ""]
    facts = [f"{k.replace('_', ' ')}: {v if isinstance(v, str) else number(v)}"
             for k, v in findings.meta.items() if not isinstance(v, (dict, list)) and v is not None]
    if facts:
        lines += ["; ".join(facts), ""]
    counts = class_count_table(findings)
    if counts is not None:
        lines += ["## Class counts", "", *markdown_table(counts), ""]
    if findings.warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in findings.warnings] + [""]
    if findings.verdicts:
        lines += ["## Verdicts", ""]
        lines += [f"- **{k}** ({v.severity.value}): {v.text}"
                  for k, v in findings.verdicts.items()] + [""]
    if findings.headline:
        lines += ["## Headline numbers", "", *markdown_table(headline_table(findings)), ""]
    lines.append("The full report with figures is in report.html; every number in metrics.json.")
    return "\n".join(lines) + "\n"

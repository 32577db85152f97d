"""Tables every report shows whatever the modality: class counts and headline numbers."""

from __future__ import annotations

from synthgen.evaluation.findings import Column, Findings, Table
from synthgen.report.fragments import cell


def class_count_table(findings: Findings) -> Table | None:
    """Items per class in each split: the first thing to check with imbalanced data."""
    counts = findings.class_counts
    if not counts:
        return None
    splits = list(counts)
    classes = sorted({c for v in counts.values() for c in v})
    label = str(findings.meta.get("condition") or "class")
    rows = [[c] + [counts[s].get(c, 0) for s in splits] for c in classes]
    return Table([Column(label, "text")] + [Column(s, "count") for s in splits], rows,
                 "Class counts")


def headline_table(findings: Findings) -> Table:
    """Label, value (a gain with its 95% interval) and direction of each headline metric."""
    rows, columns = [], [Column("measure", "text"), Column("value", "text"),
                         Column("reading", "text")]
    for h in findings.headline:
        if h.interval is not None:
            value = cell((h.value, *h.interval), Column("", "interval"))
        else:
            value = cell(h.value, Column("", h.kind))
        rows.append([h.label, value, h.direction.value])
    return Table(columns, rows)

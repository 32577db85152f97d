"""Evaluation of synthetic data against real data: arrays and DataFrames in, typed findings out.

The findings types load eagerly (cheap); the evaluations themselves (scikit-learn, torch) load
on first use. Rendering lives in ``synthgen.report``, which no evaluation module imports.
"""

from synthgen.evaluation.findings import (
    Column,
    Direction,
    EvaluationResult,
    FigureSpec,
    Findings,
    HeadlineMetric,
    Note,
    Section,
    Severity,
    Table,
    Verdict,
)

_LAZY = {
    "evaluate_tables": "synthgen.evaluation.tabular",
    "column_shapes": "synthgen.evaluation.fidelity",
    "pair_trends": "synthgen.evaluation.fidelity",
    "detection_auc": "synthgen.evaluation.fidelity",
    "privacy_filter": "synthgen.evaluation.memorization",
    "evaluate_images": "synthgen.evaluation.images",
    "privacy_filter_images": "synthgen.evaluation.images",
}

__all__ = ["Column", "Direction", "EvaluationResult", "FigureSpec", "Findings", "HeadlineMetric",
           "Note", "Section", "Severity", "Table", "Verdict", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synthgen.evaluation' has no attribute {name!r}")

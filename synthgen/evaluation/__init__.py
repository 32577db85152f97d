"""Evaluation of synthetic data against real data: arrays and DataFrames in, numbers out.

The result types load eagerly (cheap); the table evaluation (scikit-learn, matplotlib) loads on
first use, so importing ``synthgen.evaluation.result`` from elsewhere stays fast.
"""

from synthgen.evaluation.result import EvaluationResult, Figure, Section

_LAZY = {
    "evaluate_tables": "synthgen.evaluation.tabular",
    "column_shapes": "synthgen.evaluation.fidelity",
    "pair_trends": "synthgen.evaluation.fidelity",
    "detection_auc": "synthgen.evaluation.fidelity",
    "privacy_filter": "synthgen.evaluation.memorization",
    "evaluate_images": "synthgen.evaluation.images",
    "privacy_filter_images": "synthgen.evaluation.images",
}

__all__ = ["EvaluationResult", "Figure", "Section", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synthgen.evaluation' has no attribute {name!r}")

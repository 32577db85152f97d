"""Evaluation of synthetic data against real data: arrays and DataFrames in, numbers out.

The result types load eagerly (cheap); the table evaluation (scikit-learn, matplotlib) loads on
first use, so importing ``synthgen.evaluate.result`` from elsewhere stays fast.
"""

from synthgen.evaluate.result import EvaluationResult, Figure, Section

_LAZY = {
    "evaluate_tables": "synthgen.evaluate.tabular",
    "column_shapes": "synthgen.evaluate.fidelity",
    "pair_trends": "synthgen.evaluate.fidelity",
    "detection_auc": "synthgen.evaluate.fidelity",
    "privacy_filter": "synthgen.evaluate.memorization",
    "evaluate_images": "synthgen.evaluate.images",
    "privacy_filter_images": "synthgen.evaluate.images",
}

__all__ = ["EvaluationResult", "Figure", "Section", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synthgen.evaluate' has no attribute {name!r}")

"""Evaluation of synthetic data against real data: arrays and DataFrames in, numbers out."""

from synthgen.evaluate.result import EvaluationResult, Figure, Section

__all__ = ["EvaluationResult", "Figure", "Section"]

"""Downstream test scores, one definition for tables and images."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score, roc_auc_score

from synthgen.evaluation.names import METRICS

METRIC_KEYS = tuple(METRICS)


def auroc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """One-vs-rest AUROC per class present in ``y``, averaged: the usual AUROC for two classes
    (both sides give the same number), macro OvR beyond; NaN when ``y`` holds one class."""
    aucs = [roc_auc_score(y == c, proba[:, i]) for i, c in enumerate(classes)
            if 0 < (y == c).sum() < len(y)]
    return float(np.mean(aucs)) if aucs else float("nan")


def classifier_scores(y: np.ndarray, proba: np.ndarray, classes: np.ndarray,
                      minority) -> dict[str, float]:
    """The four test metrics from true labels and probabilities over ``classes`` (in order)."""
    classes = np.asarray(classes)
    pred = classes[proba.argmax(1)]
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=classes, zero_division=0)),
        "auroc": auroc(np.asarray(y), proba, classes),
        "minority_recall": float(recall_score(y, pred, labels=[minority], average="macro",
                                              zero_division=0)),
    }

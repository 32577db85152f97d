"""Realism check: can a CNN tell synthetic images from real ones? (a classifier two-sample test)

The Fréchet distance, precision/recall and coverage all live in one encoder's feature space,
and that encoder was trained to tell the classes apart, not real from fake: on the MRI example
it read 0.6x the real baseline for grainy blobs without any anatomy (benchmarks/README.md).
Here a fresh CNN (the same small MONAI network as the downstream arms) is trained to separate
real training images from synthetic ones of the same classes, and its out-of-fold ROC AUC is
the answer: 0.5 means it cannot tell them apart, 1.0 that every synthetic image gives itself
away. The same test between real *test* and real train images is the baseline: what the
detector finds between two real sets of this size (about 0.5 unless the split itself differs).

Per class, equal numbers of real and synthetic images are drawn (the smaller side's count,
at most ``max_per_class``), so a class's AUC is not swayed by the class mix; the overall AUC
pools the classes that the evaluated sample holds, over the same out-of-fold predictions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from synthgen.vision.classifier import build_classifier
from synthgen.vision.training import predict_proba, train_classifier

MIN_PER_SIDE = 8  # fewer real or synthetic images of a class than this: no AUC for it
# Small sets get more epochs, up to this many optimizer steps per fold: on 100-odd images ten
# epochs are twenty steps, too few to learn anything, and an untrained detector reads 0.5.
MIN_STEPS = 200
BATCH = 64


@dataclass
class Detection:
    auc: float  # pooled over the sample's classes
    per_class: dict[str, float] = field(default_factory=dict)
    n_per_class: dict[str, int] = field(default_factory=dict)  # images per side
    folds: int = 3


def detection_auc(
    real_x: np.ndarray, real_y: np.ndarray, other_x: np.ndarray, other_y: np.ndarray,
    classes: Sequence[str], *, pooled: Sequence[str] | None = None, folds: int = 3,
    epochs: int = 10, max_per_class: int = 500, seed: int = 0, device: str = "cpu",
) -> Detection:
    """Out-of-fold AUC of a CNN telling ``real_x`` (label 1) from ``other_x`` (label 0).

    ``pooled``: the classes the overall AUC pools (default: every class with a figure)."""
    rng = np.random.default_rng(seed)
    picks, n_per_class = [], {}
    for c in classes:
        real, other = np.flatnonzero(real_y == c), np.flatnonzero(other_y == c)
        n = min(len(real), len(other), max_per_class)
        if n < MIN_PER_SIDE:
            continue
        n_per_class[c] = n
        picks.append((c, rng.choice(real, n, replace=False), rng.choice(other, n, replace=False)))
    if not picks:
        return Detection(float("nan"), folds=folds)
    x = np.concatenate([np.concatenate([real_x[r], other_x[o]]) for _, r, o in picks])
    is_real = np.concatenate([np.r_[np.ones(len(r), int), np.zeros(len(o), int)]
                              for _, r, o in picks])
    group = np.concatenate([[c] * (len(r) + len(o)) for c, r, o in picks])
    prob = _out_of_fold(x, is_real, group, folds=folds, epochs=epochs, seed=seed, device=device)
    per_class = {c: float(roc_auc_score(is_real[group == c], prob[group == c])) for c in n_per_class}
    keep = np.isin(group, list(n_per_class if pooled is None else pooled))
    both_sides = len(set(is_real[keep])) == 2
    auc = float(roc_auc_score(is_real[keep], prob[keep])) if both_sides else float("nan")
    return Detection(auc, per_class, n_per_class, folds)


def _out_of_fold(x: np.ndarray, is_real: np.ndarray, group: np.ndarray, *, folds: int, epochs: int,
                 seed: int, device: str) -> np.ndarray:
    """P(real) for every image from a detector that never trained on it (folds stratified by
    class and side, so each fold holds every class's real and synthetic images alike)."""
    strata = 2 * np.unique(group, return_inverse=True)[1] + is_real
    prob = np.zeros(len(x))
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, strata)
    for k, (fit, held) in enumerate(splits):
        net = build_classifier(x.shape[1:], 2, seed=seed + k)
        fold_epochs = max(epochs, math.ceil(MIN_STEPS / math.ceil(len(fit) / BATCH)))
        train_classifier(net, x[fit], is_real[fit], epochs=fold_epochs, seed=seed + k,
                         batch_size=BATCH, device=device)
        prob[held] = predict_proba(net, x[held], device=device)[:, 1]
    return prob

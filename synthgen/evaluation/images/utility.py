"""Downstream gains: does adding synthetic images make a real classifier better?

The same small MONAI CNN is trained, over several seeds, on each arm and tested on the real test
split (never seen by the generator or the classifiers):

* ``real``: real train only (the reference every gain is measured against);
* ``real_plus_synth``: real train + all synthetic images;
* ``synth_only``: synthetic only (train-synthetic-test-real, TSTR);
* ``real_plus_augment``: real train with classic augmentation (the baseline to beat);
* ``real_class_weights``: real train with inverse-frequency class weights (only when the train
  classes are imbalanced; with balanced classes it equals ``real``).

A seed fixes the initialisation and batch order of every arm, so arms are paired per seed and
the gain interval is on the paired differences (``stats.paired_interval``); ``stats.verdict``
says "helps" only when the whole 95% interval is above zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from synthgen.evaluation.images.augment import ClassicAugment
from synthgen.vision.classifier import build_classifier
from synthgen.vision.training import predict_proba, train_classifier
from synthgen.evaluation.scores import METRIC_KEYS as METRICS
from synthgen.evaluation.scores import classifier_scores
from synthgen.evaluation.stats import paired_interval, verdict

ARMS = ("real", "real_plus_synth", "synth_only", "real_plus_augment", "real_class_weights")


@dataclass
class UtilityResult:
    arms: list[str]
    minority: str  # the class with the fewest training images (its recall is reported)
    scores: dict[str, dict[str, list[float]]]  # arm -> metric -> per-seed values
    losses: dict[str, list[float]] = field(default_factory=dict)  # arm -> seed 0 loss curve

    def summary(self) -> dict[str, float]:
        """Flat metrics: ``<metric>/<arm>``, ``..._std``, ``gain_<arm>`` with ``_low``/``_high``."""
        out: dict[str, float] = {}
        for metric in METRICS:
            for arm in self.arms:
                vals = np.asarray(self.scores[arm][metric])
                out[f"{metric}/{arm}"] = float(np.mean(vals))
                out[f"{metric}/{arm}_std"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan")
            for key, iv in self.gains(metric).items():
                out[f"{metric}/gain_{key}"] = iv["gain"]
                out[f"{metric}/gain_{key}_low"] = iv["low"]
                out[f"{metric}/gain_{key}_high"] = iv["high"]
        return out

    def gains(self, metric: str) -> dict[str, dict[str, float]]:
        """Paired intervals of every arm over ``real``, and of real+synth over augmentation."""
        s = self.scores
        out = {arm: paired_interval(s[arm][metric], s["real"][metric])
               for arm in self.arms if arm != "real"}
        if "real_plus_synth" in self.arms and "real_plus_augment" in self.arms:
            out["real_plus_synth_vs_augment"] = paired_interval(
                s["real_plus_synth"][metric], s["real_plus_augment"][metric])
        return out

    def verdicts(self, metric: str = "balanced_accuracy") -> dict[str, str]:
        return {key: verdict(iv) for key, iv in self.gains(metric).items()}


def _arm_data(
    arm: str, train_x: np.ndarray, train_y: np.ndarray, synth_x: np.ndarray, synth_y: np.ndarray,
    tstr: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    if arm == "real_plus_synth":
        return np.concatenate([train_x, synth_x]), np.concatenate([train_y, synth_y])
    if arm == "synth_only":
        return tstr if tstr is not None else (synth_x, synth_y)
    return train_x, train_y


def choose_arms(arms: tuple[str, ...] | None, counts: np.ndarray, synth_y: np.ndarray,
                tstr: tuple[np.ndarray, np.ndarray] | None) -> tuple[str, ...]:
    """The default arms; TSTR only on a set that holds every class (a fill sample does not:
    a classifier trained on one class scores chance and says nothing about the images)."""
    if arms is None:
        imbalanced = counts.max() > 1.2 * max(counts.min(), 1)
        arms = tuple(a for a in ARMS if a != "real_class_weights" or imbalanced)
        tstr_y = tstr[1] if tstr is not None else synth_y
        if len(np.unique(tstr_y)) < len(counts):
            arms = tuple(a for a in arms if a != "synth_only")
    return ("real",) + tuple(a for a in arms if a != "real")


def downstream_gains(
    train_x: np.ndarray, train_y: np.ndarray,
    test_x: np.ndarray, test_y: np.ndarray,
    synth_x: np.ndarray, synth_y: np.ndarray,
    *,
    classes: list[str],
    seeds: int = 5,
    epochs: int = 10,
    arms: tuple[str, ...] | None = None,
    tstr: tuple[np.ndarray, np.ndarray] | None = None,
    flip_axis: int = -1,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> UtilityResult:
    """Train every arm over ``seeds`` seeds; labels are indices into ``classes``.

    ``tstr``: images and labels for the synthetic-only arm (a balanced draw from the model)
    instead of the sample; ``flip_axis``: the tensor axis of left-right for classic augmentation.
    """
    n_classes = len(classes)
    counts = np.bincount(train_y, minlength=n_classes)
    minority = int(np.argmin(counts))
    arms = choose_arms(arms, counts, synth_y, tstr)
    weights = counts.sum() / (n_classes * np.maximum(counts, 1))
    scores = {a: {m: [] for m in METRICS} for a in arms}
    losses: dict[str, list[float]] = {}
    for seed in range(seeds):
        for arm in arms:
            if progress:
                progress(f"downstream classifier: {arm}, seed {seed + 1}/{seeds}")
            x, y = _arm_data(arm, train_x, train_y, synth_x, synth_y, tstr)
            net = build_classifier(x.shape[1:], n_classes, seed=seed)
            curve = train_classifier(
                net, x, y, epochs=epochs, seed=seed, device=device,
                augment=ClassicAugment(x.ndim - 2, seed, flip_axis=flip_axis) if arm == "real_plus_augment" else None,
                class_weight=weights if arm == "real_class_weights" else None,
            )
            if seed == 0:
                losses[arm] = curve
            row = classifier_scores(test_y, predict_proba(net, test_x, device), np.arange(n_classes),
                                    minority)
            for m in METRICS:
                scores[arm][m].append(row[m])
    return UtilityResult(list(arms), classes[minority], scores, losses)

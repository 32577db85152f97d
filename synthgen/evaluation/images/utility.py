"""Downstream gains: does adding synthetic images make a real classifier better?

The same small MONAI CNN is trained, over several seeds, on each arm and tested on the real test
split (never seen by the generator or the classifiers):

* ``real``: real train only (the reference every gain is measured against);
* ``real_plus_chosen``: real train + the share of the synthetic images chosen on a validation
  part of real train (``share.choose_share``; the test split is never used to choose); the
  verdict is judged on this arm;
* ``real_plus_synth``: real train + all synthetic images;
* ``synth_only``: synthetic only (train-synthetic-test-real, TSTR);
* ``real_plus_augment``: real train with classic augmentation (the baseline to beat);
* ``real_class_weights``: real train with inverse-frequency class weights (only when the train
  classes are imbalanced; with balanced classes it equals ``real``).

A seed fixes the initialisation and batch order of every arm, so arms are paired per seed and
the gain interval is on the paired differences (``stats.paired_interval``); ``stats.verdict``
says "helps" only when the whole 95% interval is above zero. A chosen share of 0 or 1 is the
``real`` or ``real_plus_synth`` arm itself: its scores are reused, not retrained.

Proportionate cost: the real-only arms' scores are kept in the run folder (``cache``), so a
second evaluation trains only the arms with synthetic images; and seeds stop early once the
judged interval is already narrow (``settled``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from synthgen.config import AUGMENT_SHARES, SHARE_VALIDATION
from synthgen.evaluation.images.augment import ClassicAugment
from synthgen.evaluation.images.cache import REAL_ONLY_ARMS, ArmScores, cache_key
from synthgen.vision.classifier import build_classifier
from synthgen.vision.training import predict_proba, train_classifier
from synthgen.evaluation.scores import METRIC_KEYS as METRICS
from synthgen.evaluation.scores import classifier_scores
from synthgen.evaluation.share import ShareChoice, choose_share, share_indices, share_metrics
from synthgen.evaluation.stats import paired_interval, verdict

ARMS = ("real", "real_plus_chosen", "real_plus_synth", "synth_only", "real_plus_augment",
        "real_class_weights")
# Fewer repeats where the interval allows: after MIN_SEEDS, stop once the judged arm's paired
# 95% interval is within ±GAIN_PRECISION balanced accuracy (``settled``).
MIN_SEEDS = 3
GAIN_PRECISION = 0.005


@dataclass
class UtilityResult:
    arms: list[str]
    minority: str  # the class with the fewest training images (its recall is reported)
    scores: dict[str, dict[str, list[float]]]  # arm -> metric -> per-seed values
    losses: dict[str, list[float]] = field(default_factory=dict)  # arm -> seed 0 loss curve
    choice: ShareChoice | None = None  # the share of synthetic images chosen on validation
    seeds_asked: int = 0  # seeds asked for; fewer ran when ``settled`` stopped early
    cache: str = ""  # how the real-only arms' score cache was used, in words

    @property
    def seeds_run(self) -> int:
        return len(self.scores["real"]["balanced_accuracy"])

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
        if self.choice is not None:
            out |= share_metrics(self.choice)
        return out

    def gains(self, metric: str) -> dict[str, dict[str, float]]:
        """Paired intervals of every arm over ``real``, and of real + synthetic (the chosen share
        and all of it) over classic augmentation."""
        s = self.scores
        out = {arm: paired_interval(s[arm][metric], s["real"][metric])
               for arm in self.arms if arm != "real"}
        # The chosen share against augmentation only when it is neither none (that would be
        # real only vs augmentation) nor all (the same as real + all synthetic).
        chosen = self.choice is not None and 0 < self.choice.chosen < 1
        for arm in ("real_plus_chosen", "real_plus_synth"):
            if (arm in self.arms and "real_plus_augment" in self.arms
                    and (arm != "real_plus_chosen" or chosen)):
                out[f"{arm}_vs_augment"] = paired_interval(
                    s[arm][metric], s["real_plus_augment"][metric])
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


def _fit_predict(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, seed: int, *, n_classes: int,
                 epochs: int, device: str) -> np.ndarray:
    """The downstream CNN trained on (x, y); its predicted class indices for ``x_val``."""
    net = build_classifier(x.shape[1:], n_classes, seed=seed)
    train_classifier(net, x, y, epochs=epochs, seed=seed, device=device)
    return predict_proba(net, x_val, device).argmax(1)


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
    shares: Sequence[float] = AUGMENT_SHARES,
    share_validation: float = SHARE_VALIDATION,
    share_repeats: int = 1,
    cache_dir: Path | None = None,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> UtilityResult:
    """Train every arm over up to ``seeds`` seeds; labels are indices into ``classes``.

    ``tstr``: images and labels for the synthetic-only arm (a balanced draw from the model)
    instead of the sample; ``flip_axis``: the tensor axis of left-right for classic augmentation;
    ``shares``: shares of the synthetic images tried on a ``share_validation`` part of the
    real train images (``share_repeats`` carvings) for the chosen-share arm; ``cache_dir``:
    where real-only arms' scores are kept between evaluations (``cache.ArmScores``).
    """
    say = progress or (lambda _m: None)
    n_classes = len(classes)
    counts = np.bincount(train_y, minlength=n_classes)
    minority = int(np.argmin(counts))
    arms = choose_arms(arms, counts, synth_y, tstr)
    weights = counts.sum() / (n_classes * np.maximum(counts, 1))
    train = partial(_train_arm, n_classes=n_classes, epochs=epochs, flip_axis=flip_axis,
                    weights=weights, test=(test_x, test_y), minority=minority, device=device)
    choice = None
    if "real_plus_chosen" in arms:
        say("downstream classifier: choosing the synthetic share on validation")
        choice = _choose(train_x, train_y, synth_x, synth_y, n_classes, epochs, device, shares,
                         share_validation, share_repeats)
    # A chosen share of 0 / 1 trains on exactly the rows of the real / real + all synthetic arm.
    twin = {0.0: "real", 1.0: "real_plus_synth"}.get(choice.chosen) if choice else None
    reuse = twin in arms
    judged = "real_plus_chosen" if choice else "real_plus_synth"
    cache = ArmScores(cache_dir, cache_key(
        {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y},
        {"what": "real-only arms", "n_classes": n_classes, "epochs": epochs, "flip_axis": flip_axis,
         "weights": weights.tolist()}, device))
    scores = {a: {m: [] for m in METRICS} for a in arms}
    losses: dict[str, list[float]] = {}
    run = 0
    data = (train_x, train_y, synth_x, synth_y, tstr)
    for seed in range(seeds):
        for arm in arms:
            if arm == "real_plus_chosen" and reuse:
                continue
            entry = _cached_or_run(arm, seed, cache, train, data, choice,
                                   lambda: say(f"downstream classifier: {arm}, seed {seed + 1}/{seeds}"))
            if seed == 0:
                losses[arm] = entry["losses"]
            for m in METRICS:
                scores[arm][m].append(entry["scores"][m])
        if reuse:
            for m in METRICS:
                scores["real_plus_chosen"][m].append(scores[twin][m][-1])
        run = seed + 1
        if settled(scores, judged, run, seeds):
            say(f"downstream classifier: the judged gain is known to ±{GAIN_PRECISION} after "
                f"{run} seeds; stopping")
            break
    return UtilityResult(list(arms), classes[minority], scores, losses, choice, seeds, cache.save())


def _cached_or_run(arm: str, seed: int, cache: ArmScores, train, data, choice, announce) -> dict:
    """A real-only arm's scores from the cache when there, else trained (and cached)."""
    entry = cache.get(arm, seed) if arm in REAL_ONLY_ARMS else None
    if entry is None:
        announce()
        entry = _run_arm(arm, seed, train, data, choice)
        if arm in REAL_ONLY_ARMS:
            cache.put(arm, seed, entry["scores"], entry["losses"])
    return entry


def _choose(train_x, train_y, synth_x, synth_y, n_classes: int, epochs: int, device: str, shares,
            share_validation: float, repeats: int) -> ShareChoice:
    """The synthetic share, chosen on real *train* images and the synthetic ones only: the
    test split cannot be chosen on."""
    fit_predict = partial(_fit_predict, n_classes=n_classes, epochs=epochs, device=device)
    return choose_share(train_x, train_y, synth_x, synth_y, fit_predict, shares=shares,
                        fraction=share_validation, repeats=repeats)


def _run_arm(arm: str, seed: int, train, data, choice: ShareChoice | None) -> dict:
    """One arm's scores and loss curve for one seed; the chosen-share arm adds its share of the
    synthetic images (drawn per seed) to the real ones."""
    x, y = _arm_data(arm, *data)
    if arm == "real_plus_chosen":
        synth_x, synth_y = data[2], data[3]
        take = share_indices(synth_y, choice.chosen, np.random.default_rng([seed, 1]))
        x, y = np.concatenate([x, synth_x[take]]), np.concatenate([y, synth_y[take]])
    row, curve = train(arm, x, y, seed)
    return {"scores": row, "losses": curve}


def _train_arm(arm: str, x: np.ndarray, y: np.ndarray, seed: int, *, n_classes: int, epochs: int,
               flip_axis: int, weights: np.ndarray, test: tuple[np.ndarray, np.ndarray],
               minority: int, device: str) -> tuple[dict[str, float], list[float]]:
    """(test scores, loss curve) of one arm's CNN for one seed."""
    net = build_classifier(x.shape[1:], n_classes, seed=seed)
    curve = train_classifier(
        net, x, y, epochs=epochs, seed=seed, device=device,
        augment=ClassicAugment(x.ndim - 2, seed, flip_axis=flip_axis) if arm == "real_plus_augment" else None,
        class_weight=weights if arm == "real_class_weights" else None,
    )
    row = classifier_scores(test[1], predict_proba(net, test[0], device), np.arange(n_classes),
                            minority)
    return row, curve


def settled(scores: dict[str, dict[str, list[float]]], judged: str, run: int, asked: int) -> bool:
    """Whether more seeds are pointless: at least ``MIN_SEEDS`` ran and the judged arm's paired
    95% interval over real only is already narrower than ±``GAIN_PRECISION``.

    The rule looks at the width only, never at the sign or size of the gain, so it cannot push
    a verdict towards "helps"; the width is tight (about one test image of balanced accuracy)
    because stopping on a small spread would otherwise flatter the interval. It fires when the
    judged arm is real only (a chosen share of 0: every difference is exactly 0) or when the
    seeds agree to the last image.
    """
    if run >= asked or run < MIN_SEEDS or judged not in scores:
        return False
    iv = paired_interval(scores[judged]["balanced_accuracy"], scores["real"]["balanced_accuracy"])
    half = (iv["high"] - iv["low"]) / 2
    return bool(np.isfinite(half) and half <= GAIN_PRECISION)

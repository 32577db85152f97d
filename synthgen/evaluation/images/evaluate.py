"""``evaluate_images``: every image metric on arrays, gathered into one ``EvaluationResult``.

Order of work: check the sets, train the feature encoder on real train images, embed every set
in the encoder and the random space, then fidelity/diversity, memorization, downstream gains;
``sections.build_findings`` turns the measurements into metrics, verdicts and sections.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthgen.config import AUGMENT_SHARES, SHARE_VALIDATION
from synthgen.evaluation.classes import class_warnings, count_labels
from synthgen.evaluation.findings import Findings
from synthgen.evaluation.images.diversity import class_diversity
from synthgen.evaluation.images.cache import cached_encoder
from synthgen.evaluation.images.detection import detection_auc
from synthgen.evaluation.images.features import encoder_accuracy, random_encoder, standardise
from synthgen.evaluation.images.fidelity import feature_fidelity
from synthgen.evaluation.images.inputs import ImageSets, cap_indices, check_sets
from synthgen.evaluation.images.intensity import intensity_summary
from synthgen.evaluation.images.measurements import ALL, ImageMeasurements
from synthgen.evaluation.images.mix import class_mix_indices
from synthgen.evaluation.images.memorization import (
    DEFAULT_QUANTILE,
    copy_check,
    most_similar,
    pixel_vectors,
    unit_rows,
)
from synthgen.evaluation.images.sections import build_findings
from synthgen.evaluation.images.utility import downstream_gains
TEST_COPY_CORRELATION = 0.999  # pixel correlation that means "the same image"


def _cap(sets: ImageSets, max_images: int | None, seed: int) -> list[str]:
    """Subsample each set to ``max_images``; return notes on what was capped."""
    notes = []
    for name in ("train", "test", "synth", "balanced"):
        x, y = getattr(sets, f"{name}_x"), getattr(sets, f"{name}_y")
        if x is None:
            continue
        keep = cap_indices(len(x), max_images, seed)
        if len(keep) < len(x):
            notes.append(f"{name} set capped at {len(keep)} of {len(x)} images (max_images)")
            setattr(sets, f"{name}_x", x[keep])
            setattr(sets, f"{name}_y", y[keep])
    return notes


def _groups(y: np.ndarray, classes: Sequence[str], like: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """One mask per class, and ``ALL``: a draw of ``y`` in the class mix of ``like`` (the sample)."""
    mixed = np.zeros(len(y), bool)
    mixed[class_mix_indices(y, like, seed)] = True
    return {ALL: mixed} | {c: y == c for c in classes}


def evaluate_images(
    train_x: Any, train_y: Any,
    test_x: Any, test_y: Any,
    synth_x: Any, synth_y: Any,
    *,
    holdout_x: Any = None, holdout_y: Any = None,
    seeds: int = 5,
    epochs: int = 10,
    encoder_epochs: int = 8,
    detection_epochs: int = 10,
    max_images: int | None = 5000,
    feature_dim: int = 128,
    ssim_pairs: int = 200,
    copy_quantile: float = DEFAULT_QUANTILE,
    arms: Sequence[str] | None = None,
    shares: Sequence[float] = AUGMENT_SHARES,
    share_validation: float = SHARE_VALIDATION,
    tstr_x: Any = None, tstr_y: Any = None,
    flip_axis: int = -1,
    history: Mapping[str, Sequence[float]] | Sequence[Mapping[str, float]] | None = None,
    progress: Callable[[str], None] | None = None,
    cache_dir: str | Path | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> Findings:
    """Evaluate synthetic images against real ones; arrays ``(N, C, H, W)``/``(N, C, D, H, W)``.

    Images are float in [-1, 1], labels strings (anything ``str()`` maps). ``seeds=0`` skips the
    downstream classifiers, ``detection_epochs=0`` the real-vs-synthetic detector.
    ``tstr_x``/``tstr_y``: a balanced draw from the model for the synthetic-only arm (a ``fill``
    sample lacks the majority class); ``flip_axis``: the tensor axis of left-right, for classic
    augmentation. ``shares``: shares of the synthetic images tried on a ``share_validation``
    part of the real train images; the best is scored on test.
    ``history``: generator training losses, ``{name: [per epoch]}`` or
    ``[{name: value} per epoch]``, drawn as curves. ``cache_dir``: where the trained feature
    encoder and the real-only arms' scores are kept between evaluations of the same real images
    (beside a run folder; see ``cache``).
    """
    say = progress or (lambda _msg: None)
    clock = time.perf_counter()
    sets = check_sets(train_x, train_y, test_x, test_y, synth_x, synth_y, holdout_x, holdout_y)
    sets.attach_balanced(tstr_x, tstr_y)
    notes = _cap(sets, max_images, seed)
    f = ImageMeasurements(sets=sets, history=history, options=dict(
        seeds=seeds, epochs=epochs, encoder_epochs=encoder_epochs,
        detection_epochs=detection_epochs, max_images=max_images,
        feature_dim=feature_dim, ssim_pairs=ssim_pairs, copy_quantile=copy_quantile, seed=seed,
        shares=list(shares), share_validation=share_validation, notes=notes))
    classes = sets.classes
    index = {c: i for i, c in enumerate(classes)}
    to_idx = lambda y: np.array([index[v] for v in y], dtype=np.int64)  # noqa: E731
    ytr, yte, ysy = to_idx(sets.train_y), to_idx(sets.test_y), to_idx(sets.synth_y)

    def lap(name: str, start: float) -> float:
        now = time.perf_counter()
        f.timings[name] = now - start
        return now

    t = time.perf_counter()
    say("image evaluation: the feature encoder (trained on real train images, or cached)")
    enc, feats = _feature_spaces(f, ytr, yte, feature_dim, device, cache_dir, say)
    t = lap("features", t)
    say("image evaluation: fidelity (FD, KID, precision/recall, density/coverage)")
    _fidelity(f, feats)
    t = lap("fidelity", t)
    if detection_epochs > 0:
        say("image evaluation: realism (a CNN trained to tell synthetic from real images)")
        _detection(f, device)
        t = lap("detection", t)
    say("image evaluation: diversity (MS-SSIM within classes)")
    _diversity(f)
    t = lap("diversity", t)
    say("image evaluation: memorization (nearest training image per synthetic image)")
    _memorization(f, enc, feats["encoder"], copy_quantile)
    t = lap("memorization", t)

    if seeds > 0:
        _utility(f, to_idx, ytr, yte, ysy, arms, flip_axis, cache_dir, device, say)
        t = lap("utility", t)
    f.timings["total"] = time.perf_counter() - clock
    return build_findings(f, *_class_counts(sets))


def _diversity(f: ImageMeasurements) -> None:
    sets, o = f.sets, f.options
    pcx, pcy, o["stand_in_classes"] = sets.per_class_synthetic()
    f.diversity, f.ssim_plan = class_diversity(
        sets.train_x, sets.train_y, pcx, pcy, sets.classes,
        test_x=sets.test_x, test_y=sets.test_y, pairs=o["ssim_pairs"], seed=o["seed"])


def _utility(f: ImageMeasurements, to_idx, ytr, yte, ysy, arms, flip_axis: int, cache_dir, device: str,
             say) -> None:
    """Downstream gains; synthetic-only (TSTR) on the balanced draw from the model when given."""
    sets, o = f.sets, f.options
    tstr = None
    if sets.balanced_x is not None:
        tstr = (sets.balanced_x, to_idx(sets.balanced_y))
        o["tstr_images"] = len(sets.balanced_x)
    f.utility = downstream_gains(
        sets.train_x, ytr, sets.test_x, yte, sets.synth_x, ysy, classes=sets.classes,
        seeds=o["seeds"], epochs=o["epochs"], arms=tuple(arms) if arms else None, tstr=tstr,
        flip_axis=flip_axis, shares=o["shares"], share_validation=o["share_validation"],
        cache_dir=cache_dir, device=device, progress=say)
    o["real_arms_cache"] = f.utility.cache


def _feature_spaces(f: ImageMeasurements, ytr, yte, feature_dim: int, device: str, cache_dir,
                    say):
    """The encoder trained on real train images (or loaded from ``cache_dir``, see ``cache``)
    and a fixed random network; every set embedded and standardised in both."""
    sets, seed = f.sets, f.options["seed"]
    enc, f.options["encoder_cache"] = cached_encoder(
        cache_dir, sets.train_x, ytr, len(sets.classes), epochs=f.options["encoder_epochs"],
        seed=seed, feature_dim=feature_dim, device=device, say=say)
    f.encoder_losses = enc.losses
    f.encoder_accuracy = encoder_accuracy(enc, sets.test_x, yte)
    spaces = {"encoder": enc, "random": random_encoder(sets.image_shape, seed=seed,
                                                        feature_dim=feature_dim, device=device)}
    pcx = sets.per_class_synthetic()[0]
    extra = pcx[len(sets.synth_x):]  # balanced-draw stand-ins, embedded once more
    embed = lambda sp, x: sp(x) if len(x) else np.zeros((0, feature_dim))  # noqa: E731
    feats = {name: standardise(*(embed(sp, x) for x in (sets.train_x, sets.test_x, sets.synth_x, extra)))
             for name, sp in spaces.items()}
    return enc, feats


def _fidelity(f: ImageMeasurements, feats) -> None:
    sets, seed = f.sets, f.options["seed"]
    pcx, pcy, _ = sets.per_class_synthetic()  # per class: the sample, else the balanced draw
    gtr, gte = (_groups(y, sets.classes, sets.synth_y, seed) for y in (sets.train_y, sets.test_y))
    gsy = {ALL: np.arange(len(pcy)) < len(sets.synth_y)} | {c: pcy == c for c in sets.classes}
    f.options["mix"] = {"train": int(gtr[ALL].sum()), "test": int(gte[ALL].sum()),
                        "synthetic": int(gsy[ALL].sum())}
    for name, (ftr, fte, fsy, fextra) in feats.items():
        fpc = np.concatenate([fsy, fextra])
        f.fidelity[name] = {g: feature_fidelity(ftr[gtr[g]], fte[gte[g]], fpc[gsy[g]], seed=seed)
                            for g in gtr}
    for g in gtr:
        f.intensity[g] = intensity_summary(sets.train_x[gtr[g]], sets.test_x[gte[g]], pcx[gsy[g]])


def _detection(f: ImageMeasurements, device: str) -> None:
    """Real train vs synthetic (stand-ins for classes the sample lacks), and real train vs real
    test as the baseline; the overall figure pools the sample's own classes."""
    sets, o = f.sets, f.options
    pcx, pcy, _ = sets.per_class_synthetic()
    pooled = [c for c in sets.classes if (sets.synth_y == c).any()]
    f.detection, f.detection_baseline = (
        detection_auc(sets.train_x, sets.train_y, x, y, sets.classes, pooled=pooled,
                      epochs=o["detection_epochs"], seed=o["seed"], device=device)
        for x, y in ((pcx, pcy), (sets.test_x, sets.test_y)))


def _memorization(f: ImageMeasurements, enc, encoder_feats, copy_quantile: float) -> None:
    sets = f.sets
    unseen_x = sets.test_x if sets.holdout_x is None else np.concatenate([sets.holdout_x, sets.test_x])
    unseen_y = sets.test_y if sets.holdout_y is None else np.concatenate([sets.holdout_y, sets.test_y])
    # The copy threshold comes from unseen real images in the sample's class mix.
    mixed = class_mix_indices(unseen_y, sets.synth_y, f.options["seed"])
    synth_pix = pixel_vectors(sets.synth_x)
    f.copies.append(copy_check("pixel", pixel_vectors(sets.train_x), pixel_vectors(unseen_x[mixed]),
                               synth_pix, copy_quantile))
    # Synthetic images that are test images would make the downstream gains meaningless.
    test_sims, _ = most_similar(synth_pix, pixel_vectors(sets.test_x))
    f.test_copy_share = float((test_sims >= TEST_COPY_CORRELATION).mean())
    ftr, fte, fsy, _ = encoder_feats
    if sets.holdout_x is not None:
        (fho,) = standardise(enc(sets.train_x), enc(sets.holdout_x))[1:]
        fte = np.concatenate([fho, fte])
    f.copies.append(copy_check("encoder", unit_rows(ftr), unit_rows(fte[mixed]), unit_rows(fsy),
                               copy_quantile))


def _class_counts(sets) -> tuple[dict, list[str]]:
    """Images per class in each set, and the notes a ``fill`` sample's missing class gets."""
    named = [("train", sets.train_y), ("holdout", sets.holdout_y), ("test", sets.test_y),
             ("synthetic", sets.synth_y)]
    counts = {name: count_labels(y, sets.classes) for name, y in named if y is not None}
    warnings, notes = class_warnings(counts, "images")
    sets.warnings.extend(warnings)
    # Classes measured on the balanced draw do have per-class results (the fidelity note says so).
    stand_ins = sets.per_class_synthetic()[2]
    notes = [n for n in notes if not any(f"no '{c}' " in n for c in stand_ins)]
    return counts, notes

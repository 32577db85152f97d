"""The image measurements as findings: metrics, verdicts and report sections as data."""

from __future__ import annotations

import math

import numpy as np

from synthgen.evaluation.findings import Column, FigureSpec, Findings, Note, Section, Table
from synthgen.evaluation.gain_tables import (
    gain_figure,
    gain_table,
    score_table,
    share_notes,
    share_table,
)
from synthgen.evaluation.images import verdicts
from synthgen.vision.feature_distance import K_DENSITY_COVERAGE, K_PRECISION_RECALL
from synthgen.evaluation.images.intensity import bin_centres
from synthgen.evaluation.images.measurements import ALL, ImageMeasurements
from synthgen.evaluation.images.memorization import FLAG_P_VALUE
from synthgen.evaluation.images.metrics import flat_metrics
from synthgen.evaluation.images.utility import GAIN_PRECISION
from synthgen.evaluation.names import arm_label, headline
from synthgen.evaluation.scores import METRIC_KEYS
from synthgen.evaluation.training import by_epoch, curves_figure, training_section

SPACES = ("encoder", "random")
FIDELITY_METRICS = ("fd", "kid", "precision", "recall", "density", "coverage")
HEADLINE = (
    "fidelity/fd_encoder", "fidelity/fd_encoder_baseline", "fidelity/kid_encoder",
    "fidelity/kid_encoder_baseline", "fidelity/precision_encoder", "fidelity/recall_encoder",
    "fidelity/density_encoder", "fidelity/coverage_encoder", "fidelity/detection_auc",
    "fidelity/detection_auc_baseline", "fidelity/fd_random",
    "fidelity/fd_random_baseline", "diversity/ms_ssim_synthetic", "diversity/ms_ssim_real",
    "diversity/ms_ssim_test", "memorization/copy_rate_pixel", "memorization/copy_rate_encoder",
    "utility/cnn/balanced_accuracy/real", "utility/cnn/chosen_share",
    "utility/cnn/balanced_accuracy/gain_real_plus_chosen",
    "utility/cnn/balanced_accuracy/gain_real_plus_synth",
    "utility/cnn/balanced_accuracy/gain_real_plus_augment",
)


def _fidelity_section(f: ImageMeasurements, notes: list[str]) -> Section:
    rows = [[space, k, f.fidelity[space][ALL].get(k, np.nan),
             f.fidelity[space][ALL].get(f"{k}_baseline", np.nan)]
            for space in SPACES for k in FIDELITY_METRICS]
    w = f.intensity[ALL]
    rows.append(["pixels", "intensity W1", w["w1"], w["w1_baseline"]])
    det, base = f.detection, f.detection_baseline
    if det is not None:
        rows.append(["CNN detector", "real-vs-synthetic AUC", det.auc, base.auc])
    per_class = [[c] + [f.fidelity["encoder"].get(c, {}).get(k, np.nan) for k in
                        ("fd", "fd_baseline", "precision", "recall", "coverage", "coverage_baseline")]
                 + ([det.per_class.get(c, np.nan), base.per_class.get(c, np.nan)] if det else [])
                 for c in f.sets.classes]
    n_matched = int(f.fidelity["encoder"][ALL].get("n_matched", 0))
    blocks = [Note(n) for n in notes] + [Note(_mix_note(f)),
        Note("Each synthetic figure is measured against the real training images and sits beside "
             "the same figure for unseen real test images (the baseline: what real data "
             f"achieves). FD and precision/recall/density/coverage are drawn at equal sizes "
             f"({n_matched} images) on both sides, precision/recall/density/coverage against as many "
             f"training images (the same draws for both); precision/recall use k={K_PRECISION_RECALL}, "
             f"density/coverage k={K_DENSITY_COVERAGE}. Encoder: a small CNN trained on the real "
             f"train split (test balanced accuracy {f.encoder_accuracy:.2f}); random: the same "
             "network with fixed random weights, as a check that does not depend on what the "
             "encoder learned." + _detection_note(f)),
        Table([Column("features", "text"), Column("metric", "text"),
               Column("synthetic", digits=4), Column("real baseline", digits=4)], rows),
        Table([Column("class", "text")] + [Column(n) for n in (
            "FD", "FD baseline", "precision", "recall", "coverage", "coverage baseline")
            + (("detection AUC", "detection baseline") if det else ())],
            per_class, "Per class (encoder features; detection: its own CNN)"),
        FigureSpec("intensity_histograms", "Intensity histograms",
                   "grey-level distribution of real training vs synthetic images",
                   {"centres": bin_centres(),
                    "panels": {g: s["histograms"] for g, s in f.intensity.items()}}),
    ]
    return Section("fidelity", "Fidelity: do synthetic images look like real ones?", blocks)


def _detection_note(f: ImageMeasurements) -> str:
    det = f.detection
    if det is None:
        return ""
    sizes = ", ".join(f"{n} {c}" for c, n in det.n_per_class.items())
    return (" CNN detector: a fresh CNN trained to tell real training images from synthetic ones "
            f"({f.options['detection_epochs']} epochs, {det.folds}-fold out-of-fold ROC AUC; per "
            f"side {sizes} images); 0.5 means it cannot tell them apart. Its baseline tells real "
            "test from real training images the same way. It looks at the pixels, so it sees "
            "texture and artefacts that the encoder's class features can miss.")


def _mix_note(f: ImageMeasurements) -> str:
    mix = f.options.get("mix", {})
    return ("Like with like: the overall figures compare the synthetic sample with real images "
            "drawn in the sample's own class proportions "
            f"({mix.get('train', 0)} train, {mix.get('test', 0)} test images; a fill sample holds "
            "minority classes only), the per-class table with each class's real images; the copy "
            "threshold uses unseen real images in the same mix." + _stand_in_note(f))


def _stand_in_note(f: ImageMeasurements) -> str:
    lacking = f.options.get("stand_in_classes") or []
    if not lacking:
        return ""
    return (f" The sample holds no {', '.join(map(str, lacking))} images: per-class figures and "
            f"diversity for {'it' if len(lacking) == 1 else 'them'} come from a balanced draw of "
            f"{f.options.get('tstr_images', 0)} images from the same model, which also trains "
            "the synthetic-only (TSTR) classifier.")


def _sample_picks(f: ImageMeasurements, per_row: int = 8) -> dict:
    rng, s = np.random.default_rng(f.options["seed"]), f.sets
    picks: dict = {"classes": list(s.classes), "real": {}, "synthetic": {}}
    for c in s.classes:
        for side, x, y in (("real", s.train_x, s.train_y), ("synthetic", s.synth_x, s.synth_y)):
            pool = np.flatnonzero(y == c)
            chosen = rng.choice(pool, min(per_row, len(pool)), replace=False) if len(pool) else []
            picks[side][c] = x[np.asarray(chosen, dtype=np.int64)]
    return picks


def _diversity_section(f: ImageMeasurements) -> Section:
    rows = [[c, d["real"], d.get("test", np.nan), d["synthetic"],
             verdicts.excess_similarity(d)] for c, d in f.diversity.items()]
    plan = f.ssim_plan.note if f.ssim_plan else ""
    return Section("samples", "Samples and diversity", [
        Note(f"Mean similarity of {f.options['ssim_pairs']} random pairs of images within a "
             f"class ({plan}). Higher among synthetic than among real images means the generator "
             "repeats itself (mode collapse); far lower means variety the real images do not have "
             "(noise, artefacts)."),
        Table([Column("class", "text"), Column("real train"), Column("real test"),
               Column("synthetic"), Column("excess over real", "signed")], rows),
        FigureSpec("sample_grid", "Samples per class", "each class: a row of real training "
                   "images, then a row of synthetic ones", _sample_picks(f)),
    ])


def _memorization_section(f: ImageMeasurements) -> Section:
    rows = [[c.space, c.threshold, c.rate, c.p_value, float(c.synth_sims.max()),
             "flagged" if c.flagged else "ok"] for c in f.copies]
    blocks = [
        Note("For every synthetic image, its most similar training image: by pixel (Pearson) "
             "correlation and by cosine similarity of encoder features. The copy threshold is "
             f"the {f.options['copy_quantile']:.0%} quantile of the same similarity for unseen "
             "real images, so about 1% of new real images exceed it. The p-value is the chance "
             "of this many synthetic images above it if they were new real images (exact "
             f"negative-hypergeometric test); flagged below {FLAG_P_VALUE}."),
        Table([Column("similarity", "text"), Column("copy threshold", digits=4),
               Column("copy rate", "share"), Column("p-value", digits=4),
               Column("highest", digits=4), Column("status", "text")], rows),
        FigureSpec("similarity_distributions", "Nearest-training-image similarity",
                   "synthetic images far right of the unseen real ones are copies",
                   {"panels": [{"space": c.space, "synthetic": c.synth_sims,
                                "unseen": c.test_sims, "threshold": c.threshold,
                                "rate": c.rate} for c in f.copies]}),
    ]
    for c in f.copies:
        pairs = c.closest(8)
        blocks.append(FigureSpec(
            "closest_pairs", f"Closest synthetic–training pairs ({c.space})",
            f"similarity above each pair; copy threshold {c.threshold:.3f} (99th percentile of "
            "unseen real images' nearest-training similarity)",
            {"synthetic": f.sets.synth_x[[p[0] for p in pairs]],
             "train": f.sets.train_x[[p[1] for p in pairs]],
             "similarity": [p[2] for p in pairs], "threshold": c.threshold}))
    return Section("memorization", "Memorization: does the generator copy training images?",
                   blocks)


def _utility_section(f: ImageMeasurements) -> Section:
    u, o = f.utility, f.options
    verdict = verdicts.utility_verdict(f)
    sd = lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")  # noqa: E731
    means = {arm: {m: (float(np.mean(u.scores[arm][m])), sd(u.scores[arm][m]))
                   for m in METRIC_KEYS} for arm in u.arms}
    gains: dict = {}
    for m in METRIC_KEYS:
        for arm, iv in u.gains(m).items():
            gains.setdefault(arm, {})[m] = (iv["gain"], iv["low"], iv["high"])
    bal = u.gains("balanced_accuracy")
    blocks = [
        Note(verdict.text, verdict.severity),
        Note(f"A small MONAI CNN trained {o['epochs']} epochs per arm over {u.seeds_run} seeds, "
             f"tested on the real test split. Minority class (recall): {u.minority}. Gains are "
             "paired per seed; 'helps' only when the whole 95% interval is above zero."
             + _seeds_note(u)),
    ]
    if u.choice is not None:
        blocks += share_notes({"cnn": u.choice}, "images") + [share_table({"cnn": u.choice}, "images")]
    blocks += [
        score_table(means, "Test scores (mean ± sd over seeds)"),
        gain_table(gains, u.verdicts("balanced_accuracy"),
                   "Gain over real only (paired 95% interval)"),
    ]
    rows = [(arm_label(k), k, (iv["gain"], iv["low"], iv["high"])) for k, iv in bal.items()
            if math.isfinite(iv["low"])]
    if rows:
        blocks.append(gain_figure(rows))
    return Section("utility", "Downstream gains: does synthetic data help a classifier?", blocks)


def _seeds_note(u) -> str:
    if u.seeds_run >= u.seeds_asked:
        return ""
    return (f" {u.seeds_asked} seeds were asked for; after {u.seeds_run} the judged gain's "
            f"interval was already within ±{GAIN_PRECISION} (a rule on its width only, never "
            "its sign), so the rest were not trained.")


def _training_section(f: ImageMeasurements) -> Section:
    extra = [curves_figure(by_epoch({"encoder": f.encoder_losses}), "Feature encoder training "
                           "loss", "epoch", "loss", "cross-entropy of the label classifier whose "
                           "features the metrics use")]
    if f.utility is not None and f.utility.losses:
        extra.append(curves_figure(
            by_epoch({arm_label(k): v for k, v in f.utility.losses.items()}),
            "Downstream classifier losses (seed 0)", "epoch", "loss"))
    return training_section(f.history, extra)


def build_findings(f: ImageMeasurements, counts: dict, notes: list[str]) -> Findings:
    r = Findings(class_counts=counts)
    for w in f.sets.warnings + f.options.get("notes", []):
        r.warn(w)
    if f.test_copy_share > 0:
        r.warn(f"{f.test_copy_share:.1%} of synthetic images are test images (pixel correlation "
               "≥ 0.999): the test split leaked, so downstream gains are not trustworthy")
    r.metrics = flat_metrics(f)
    r.verdicts = {"fidelity": verdicts.fidelity_verdict(f),
                  "diversity": verdicts.diversity_verdict(f),
                  "memorization": verdicts.memorization_verdict(f)}
    r.sections = [_fidelity_section(f, notes), _diversity_section(f), _memorization_section(f)]
    if f.utility is not None:
        r.verdicts["utility"] = verdicts.utility_verdict(f)
        r.sections.append(_utility_section(f))
    r.sections.append(_training_section(f))
    r.headline = headline(HEADLINE, r.metrics)
    s = f.sets
    r.meta = {"modality": f"image{s.spatial_dims}d", "image_shape": list(s.image_shape),
              "classes": list(s.classes), "ms_ssim": f.ssim_plan.note if f.ssim_plan else None,
              "options": {k: v for k, v in f.options.items() if k != "notes"},
              "timings_s": {k: round(v, 2) for k, v in f.timings.items()}}
    if f.utility is not None:
        r.meta["minority_class"] = f.utility.minority
        r.meta["utility_seeds"] = f.utility.seeds_run
    return r

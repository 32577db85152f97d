"""Turn the image findings into flat metrics, plain-language verdicts and report sections.

Metric keys: ``fidelity/<metric>_<space>[_baseline]`` (whole set) and
``fidelity/class/<class>/<metric>_<space>[_baseline]``; ``diversity/ms_ssim_{real,synthetic}``;
``memorization/copy_rate_{pixel,encoder}``; ``utility/cnn/<metric>/<arm>`` and
``utility/cnn/<metric>/gain_<arm>[_low|_high]``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from synthgen.evaluation.images import figures
from synthgen.evaluation.images.fidelity import K_DENSITY_COVERAGE, K_PRECISION_RECALL
from synthgen.evaluation.images.intensity import bin_centres
from synthgen.evaluation.images.memorization import FLAG_P_VALUE
from synthgen.report.labels import IMAGE_LABELS
from synthgen.evaluation.result import EvaluationResult, Section
from synthgen.report.fragments import note, table

if TYPE_CHECKING:
    from synthgen.evaluation.images.evaluate import Findings

ALL = "all"
SPACES = ("encoder", "random")
FIDELITY_METRICS = ("fd", "kid", "precision", "recall", "density", "coverage")
# FD within this factor of the real baseline reads as "close", within the next as "moderate".
CLOSE_RATIO, MODERATE_RATIO = 1.5, 4.0
# Synthetic images of a class this much more alike (MS-SSIM) than real ones: low diversity.
DIVERSITY_MARGIN = 0.05



def _key(name: str) -> str:
    """A class name usable inside an MLflow metric key."""
    return re.sub(r"[^A-Za-z0-9_.\- ]", "_", str(name))


def _pct(v: float) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.1%}"


def _mean_sd(vals: Sequence[float]) -> str:
    sd = f"{np.std(vals, ddof=1):.3f}" if len(vals) > 1 else "—"
    return f"{np.mean(vals):.3f} ± {sd}"


def _signed(v: float, digits: int = 3) -> str:
    return "—" if not math.isfinite(v) else f"{v:+.{digits}f}"


# -- metrics -------------------------------------------------------------------------------------
def _metrics(f: Findings) -> dict[str, float]:
    m: dict[str, float] = {}
    for space, groups in f.fidelity.items():
        for group, vals in groups.items():
            prefix = "fidelity/" if group == ALL else f"fidelity/class/{_key(group)}/"
            for k, v in vals.items():
                if k == "n_matched":
                    continue
                base = k.removesuffix("_baseline")
                suffix = "_baseline" if k.endswith("_baseline") else ""
                m[f"{prefix}{base}_{space}{suffix}"] = v
    m["fidelity/encoder_test_balanced_accuracy"] = f.encoder_accuracy
    for group, s in f.intensity.items():
        prefix = "fidelity/" if group == ALL else f"fidelity/class/{_key(group)}/"
        m[f"{prefix}intensity_w1"], m[f"{prefix}intensity_w1_baseline"] = s["w1"], s["w1_baseline"]
    for side in ("real", "test", "synthetic"):
        vals = [d.get(side, np.nan) for d in f.diversity.values()]
        m[f"diversity/ms_ssim_{side}"] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
        for c, d in f.diversity.items():
            m[f"diversity/class/{_key(c)}/ms_ssim_{side}"] = d.get(side, np.nan)
    for chk in f.copies:
        m[f"memorization/copy_rate_{chk.space}"] = chk.rate
        m[f"memorization/copy_threshold_{chk.space}"] = chk.threshold
        m[f"memorization/max_similarity_{chk.space}"] = float(chk.synth_sims.max())
        m[f"memorization/copy_p_value_{chk.space}"] = chk.p_value
        m[f"memorization/flagged_{chk.space}"] = float(chk.flagged)
    m["memorization/test_copy_share"] = f.test_copy_share
    if f.utility is not None:
        m |= {f"utility/cnn/{k}": v for k, v in f.utility.summary().items()}
    m |= {f"time/{k}_s": v for k, v in f.timings.items()}
    return m


# -- verdicts ------------------------------------------------------------------------------------
def _fd_ratio(f: Findings, space: str = "encoder") -> float:
    vals = f.fidelity[space][ALL]
    return vals.get("fd", np.nan) / max(vals.get("fd_baseline", np.nan), 1e-12)


def _fidelity_verdict(f: Findings) -> str:
    enc = f.fidelity["encoder"][ALL]
    ratio = _fd_ratio(f)
    ratio_r = _fd_ratio(f, "random")
    word = ("close to real" if ratio <= CLOSE_RATIO else
            "moderate" if ratio <= MODERATE_RATIO else "poor")
    return (f"{word}: Fréchet distance {enc.get('fd', np.nan):.3g} vs {enc.get('fd_baseline', np.nan):.3g} "
            f"for unseen real images ({ratio:.1f}x; random-network check {ratio_r:.1f}x); "
            f"precision {enc.get('precision', np.nan):.2f} (real {enc.get('precision_baseline', np.nan):.2f}), "
            f"recall {enc.get('recall', np.nan):.2f} (real {enc.get('recall_baseline', np.nan):.2f})")


def _excess_similarity(d: Mapping[str, float]) -> float:
    """How much more alike synthetic images are than the more alike of the two real sets."""
    return d["synthetic"] - np.nanmax([d["real"], d.get("test", np.nan)])


def _diversity_verdict(f: Findings) -> str:
    low = [c for c, d in f.diversity.items() if _excess_similarity(d) > DIVERSITY_MARGIN]
    if low:
        worst = max(low, key=lambda c: _excess_similarity(f.diversity[c]))
        d = f.diversity[worst]
        return (f"weak: synthetic images of {', '.join(map(str, low))} are more alike than real ones "
                f"(MS-SSIM {d['synthetic']:.2f} vs {d['real']:.2f} train, "
                f"{d.get('test', np.nan):.2f} test, for {worst}): possible mode collapse")
    return "close to real: synthetic images within each class vary about as much as real ones"


def _memorization_verdict(f: Findings) -> str:
    parts = ", ".join(f"{_pct(c.rate)} by {c.space}" for c in f.copies)
    if any(c.flagged for c in f.copies):
        return (f"flag: {parts} of synthetic images are closer to a training image than 99% of "
                "unseen real images are: likely copies (see the closest pairs)")
    return f"no sign of copying: {parts} above the copy threshold (≈1% expected for new real images)"


def _utility_verdict(f: Findings, metric: str = "balanced_accuracy") -> str:
    u = f.utility
    gains, verdicts = u.gains(metric), u.verdicts(metric)
    if "real_plus_synth" not in gains:
        return "inconclusive: the real + synthetic arm was not run"
    g = gains["real_plus_synth"]
    text = (f"{verdicts['real_plus_synth']}: adding synthetic images changed {metric.replace('_', ' ')} by "
            f"{_signed(g['gain'])} (95% interval {_signed(g['low'])} to {_signed(g['high'])}, "
            f"{len(u.scores['real'][metric])} seeds)")
    ratio = _fd_ratio(f)
    if verdicts["real_plus_synth"] == "helps" and ratio > MODERATE_RATIO:
        # Seen with uniform noise on PneumoniaMNIST (+0.05): extra off-manifold images regularise.
        text += (f", yet the synthetic images are far from real ({ratio:.0f}x the baseline FD): "
                 "the gain is likely regularisation, a weak reason to use them")
    # Later parts give intervals, not verdict words: the report colours by the leading verdict.
    if "real_plus_augment" in gains:
        a = gains["real_plus_augment"]
        text += (f"; classic augmentation alone {_signed(a['gain'])} "
                 f"({_signed(a['low'])} to {_signed(a['high'])})")
        vs = gains.get("real_plus_synth_vs_augment")
        if vs is not None:
            text += (f"; synthetic minus augmentation {_signed(vs['gain'])} "
                     f"({_signed(vs['low'])} to {_signed(vs['high'])})")
    return text


# -- sections ------------------------------------------------------------------------------------
def _fidelity_section(f: Findings) -> Section:
    rows = []
    for space in SPACES:
        vals = f.fidelity[space][ALL]
        for k in FIDELITY_METRICS:
            rows.append([space, k, vals.get(k, np.nan), vals.get(f"{k}_baseline", np.nan)])
    w = f.intensity[ALL]
    rows.append(["pixels", "intensity W1", w["w1"], w["w1_baseline"]])
    html = note(
        "Each synthetic figure is measured against the real training images and sits beside the "
        "same figure for unseen real test images (the baseline: what real data achieves). "
        f"FD and precision/recall/density/coverage are drawn at equal sizes "
        f"({int(f.fidelity['encoder'][ALL].get('n_matched', 0))} images) on both sides; "
        f"precision/recall use k={K_PRECISION_RECALL}, density/coverage k={K_DENSITY_COVERAGE}. "
        "Encoder: a small CNN trained on the real train split "
        f"(test balanced accuracy {f.encoder_accuracy:.2f}); random: the same network with fixed "
        "random weights, as a check that does not depend on what the encoder learned.")
    html += table(["features", "metric", "synthetic", "real baseline"], rows, digits=4)
    per_class = []
    for c in f.sets.classes:
        e = f.fidelity["encoder"].get(c, {})
        per_class.append([c, e.get("fd", np.nan), e.get("fd_baseline", np.nan),
                          e.get("precision", np.nan), e.get("recall", np.nan),
                          e.get("coverage", np.nan), e.get("coverage_baseline", np.nan)])
    html += "<h3>Per class (encoder features)</h3>" + table(
        ["class", "FD", "FD baseline", "precision", "recall", "coverage", "coverage baseline"],
        per_class, digits=3)
    panels = {g: s["histograms"] for g, s in f.intensity.items()}
    return Section("fidelity", "Fidelity: do synthetic images look like real ones?", html,
                   [figures.intensity_histograms(bin_centres(), panels)])


def _diversity_section(f: Findings) -> Section:
    rows = [[c, d["real"], d.get("test", np.nan), d["synthetic"], _excess_similarity(d)]
            for c, d in f.diversity.items()]
    html = note(f"Mean similarity of {f.options['ssim_pairs']} random pairs of images within a class "
                f"({f.ssim_plan.note if f.ssim_plan else ''}). Higher among synthetic than among "
                "real images means the generator repeats itself (mode collapse).")
    html += table(["class", "real train", "real test", "synthetic", "excess over real"], rows,
                  digits=3)
    s = f.sets
    return Section("samples", "Samples and diversity", html,
                   [figures.sample_grid(s.train_x, s.train_y, s.synth_x, s.synth_y, s.classes,
                                        seed=f.options["seed"])])


def _memorization_section(f: Findings) -> Section:
    rows = [[c.space, c.threshold, c.rate, c.p_value, float(c.synth_sims.max()),
             "flagged" if c.flagged else "ok"] for c in f.copies]
    html = note("For every synthetic image, its most similar training image: by pixel (Pearson) "
                "correlation and by cosine similarity of encoder features. The copy threshold is "
                f"the {f.options['copy_quantile']:.0%} quantile of the same similarity for unseen "
                "real images, so about 1% of new real images exceed it. The p-value is the chance "
                "of this many synthetic images above it if they were new real images (exact "
                f"negative-hypergeometric test); flagged below {FLAG_P_VALUE}.")
    html += table(["similarity", "copy threshold", "copy rate", "p-value", "highest", "status"],
                  rows, digits=4)
    figs = [figures.similarity_distributions(f.copies)]
    figs += [figures.closest_pairs(c.closest(8), f.sets.synth_x, f.sets.train_x, c.threshold, c.space)
             for c in f.copies]
    return Section("memorization", "Memorization: does the generator copy training images?", html, figs)


_ARM_NAMES = {
    "real": "real only", "real_plus_synth": "real + synthetic", "synth_only": "synthetic only (TSTR)",
    "real_plus_augment": "real + classic augmentation", "real_class_weights": "real, class weights",
    "real_plus_synth_vs_augment": "real + synthetic vs classic augmentation",
}


def _utility_section(f: Findings) -> Section:
    from synthgen.evaluation.images.utility import METRICS

    u = f.utility
    o = f.options
    text = _utility_verdict(f)
    html = note(text, "good" if text.startswith("helps") and "weak" not in text else "warn")
    html += note(f"A small MONAI CNN trained {o['epochs']} epochs per arm over {o['seeds']} seeds, "
                 f"tested on the real test split. Minority class (recall): {u.minority}. Gains are "
                 "paired per seed; 'helps' only when the whole 95% interval is above zero.")
    header = ["arm"] + [m.replace("_", " ") for m in METRICS]
    rows = [[_ARM_NAMES.get(arm, arm)] + [_mean_sd(u.scores[arm][m]) for m in METRICS]
            for arm in u.arms]
    html += "<h3>Test scores (mean ± sd over seeds)</h3>" + table(header, rows)
    grows = []
    for m in METRICS:
        for key, iv in u.gains(m).items():
            grows.append([m.replace("_", " "), _ARM_NAMES.get(key, key), iv["gain"], iv["low"],
                          iv["high"], u.verdicts(m)[key]])
    html += "<h3>Gain over real only (paired 95% interval)</h3>" + table(
        ["metric", "arm", "gain", "low", "high", "verdict"], grows, digits=4)
    iv_rows = [(_ARM_NAMES.get(k, k), iv) for k, iv in u.gains("balanced_accuracy").items()
               if math.isfinite(iv["low"])]
    figs = [figures.gain_intervals(iv_rows, "balanced_accuracy")] if iv_rows else []
    return Section("utility", "Downstream gains: does synthetic data help a classifier?", html, figs)


def _history_curves(history: Any) -> dict[str, list[float]]:
    """``{name: [per epoch]}`` or ``[{name: value} per epoch]`` -> ``{name: [per epoch]}``."""
    if not history:
        return {}
    if isinstance(history, Mapping):
        return {str(k): [float(v) for v in vals] for k, vals in history.items()
                if isinstance(vals, Sequence) and len(vals)}
    curves: dict[str, list[float]] = {}
    for row in history:
        for k, v in row.items():
            if k != "epoch" and isinstance(v, (int, float)):
                curves.setdefault(str(k), []).append(float(v))
    return curves


def _training_section(f: Findings) -> Section:
    figs = []
    curves = _history_curves(f.history)
    if curves:
        figs.append(figures.loss_curves(curves, "Generator training losses"))
    figs.append(figures.loss_curves({"encoder": f.encoder_losses}, "Feature encoder training loss",
                                    "cross-entropy of the label classifier whose features the metrics use"))
    if f.utility is not None and f.utility.losses:
        figs.append(figures.loss_curves(f.utility.losses, "Downstream classifier losses (seed 0)"))
    return Section("training", "Training curves", "", figs)


def build_result(f: Findings) -> EvaluationResult:
    r = EvaluationResult()
    for w in f.sets.warnings + f.options.get("notes", []):
        r.warn(w)
    if f.test_copy_share > 0:
        r.warn(f"{f.test_copy_share:.1%} of synthetic images are test images (pixel correlation "
               "≥ 0.999): the test split leaked, so downstream gains are not trustworthy")
    r.metrics = _metrics(f)
    r.verdicts = {
        "fidelity": _fidelity_verdict(f),
        "diversity": _diversity_verdict(f),
        "memorization": _memorization_verdict(f),
    }
    if f.utility is not None:
        r.verdicts["utility"] = _utility_verdict(f)
    r.sections = [_fidelity_section(f), _diversity_section(f), _memorization_section(f)]
    if f.utility is not None:
        r.sections.append(_utility_section(f))
    r.sections.append(_training_section(f))
    r.headline = [k for k in (
        "fidelity/fd_encoder", "fidelity/fd_encoder_baseline", "fidelity/kid_encoder",
        "fidelity/kid_encoder_baseline", "fidelity/precision_encoder", "fidelity/recall_encoder",
        "fidelity/density_encoder", "fidelity/coverage_encoder", "fidelity/fd_random",
        "fidelity/fd_random_baseline", "diversity/ms_ssim_synthetic", "diversity/ms_ssim_real",
        "diversity/ms_ssim_test", "memorization/copy_rate_pixel", "memorization/copy_rate_encoder",
        "utility/cnn/balanced_accuracy/real", "utility/cnn/balanced_accuracy/gain_real_plus_synth",
        "utility/cnn/balanced_accuracy/gain_real_plus_synth_low",
        "utility/cnn/balanced_accuracy/gain_real_plus_synth_high",
        "utility/cnn/balanced_accuracy/gain_real_plus_augment",
    ) if k in r.metrics]
    s = f.sets
    r.meta = {
        "modality": f"image{s.spatial_dims}d",
        "image_shape": list(s.image_shape),
        "classes": list(s.classes),
        "counts": {name: {c: int((y == c).sum()) for c in s.classes}
                   for name, y in (("train", s.train_y), ("test", s.test_y), ("synthetic", s.synth_y))},
        "ms_ssim": f.ssim_plan.note if f.ssim_plan else None,
        "options": {k: v for k, v in f.options.items() if k != "notes"},
        "timings_s": {k: round(v, 2) for k, v in f.timings.items()},
        "labels": IMAGE_LABELS,
    }
    if f.utility is not None:
        r.meta["minority_class"] = f.utility.minority
    return r


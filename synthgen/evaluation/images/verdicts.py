"""Plain-language verdicts on the image measurements, each with the severity judged here."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from synthgen.evaluation.fidelity import DETECTION_BANDS
from synthgen.evaluation.findings import Severity, Verdict
from synthgen.evaluation.images.measurements import ALL, ImageMeasurements
from synthgen.evaluation.names import metric_label
from synthgen.evaluation.share import share_label

# FD within this factor of the real baseline reads as "close", within the next as "moderate".
CLOSE_RATIO, MODERATE_RATIO = 1.5, 4.0
# Synthetic images of a class this much more alike (MS-SSIM) than real ones: low diversity.
DIVERSITY_MARGIN = 0.05
# ... this much less alike than the less alike real set: wider than real (noise, artefacts, or
# another class's look). Real train and test differ by up to ~0.1, hence the wider margin.
SPREAD_MARGIN = 0.15
_GAIN_SEVERITY = {"helps": Severity.GOOD, "hurts": Severity.BAD}
# Fidelity words from best to worst, and how each reads.
_FIDELITY_WORDS = {"close to real": Severity.GOOD, "moderate": Severity.CAUTION,
                   "weak": Severity.BAD, "poor": Severity.BAD}


def _pct(v: float) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.1%}"


def _signed(v: float, digits: int = 3) -> str:
    return "—" if not math.isfinite(v) else f"{v:+.{digits}f}"


def fd_ratio(f: ImageMeasurements, space: str = "encoder", group: str = ALL) -> float:
    vals = f.fidelity[space].get(group, {})
    return vals.get("fd", np.nan) / max(vals.get("fd_baseline", np.nan), 1e-12)


def worst_class(f: ImageMeasurements) -> tuple[str | None, float]:
    """The class with the highest FD ratio (encoder), and that ratio."""
    ratios = {c: fd_ratio(f, group=c) for c in f.sets.classes}
    ratios = {c: r for c, r in ratios.items() if math.isfinite(r)}
    if not ratios:
        return None, float("nan")
    c = max(ratios, key=ratios.get)
    return c, ratios[c]


def _detection_judgement(f: ImageMeasurements) -> tuple[str, str] | None:
    """(word, sentence) for the real-vs-synthetic detector, judged on the worse of the pooled
    and the worst class's AUC; None when it was not run or had too few images."""
    det, base = f.detection, f.detection_baseline
    if det is None or not np.isfinite(det.auc):
        return None
    worst = max(det.per_class, key=det.per_class.get, default=None)
    judged = max([det.auc] + ([det.per_class[worst]] if worst is not None else []))
    band = sum(judged > edge for edge in DETECTION_BANDS)
    word = ("close to real", "moderate", "weak", "poor")[band]
    text = f"a CNN trained to tell them apart reaches AUC {det.auc:.2f}"
    if base is not None and np.isfinite(base.auc):
        text += f" (real test vs train: {base.auc:.2f})"
    if worst is not None and len(det.per_class) > 1:
        text += f", {det.per_class[worst]:.2f} for {worst}"
    return word, text


def fidelity_verdict(f: ImageMeasurements) -> Verdict:
    """Judged on the worse of the overall and the worst class's FD ratio (with few images per
    class the overall mix can look close while every class is far), and on the real-vs-
    synthetic detector: the encoder's features can miss what a detector sees at once (grainy
    MRI blobs read 0.6x the real FD)."""
    enc = f.fidelity["encoder"][ALL]
    ratio, ratio_r = fd_ratio(f), fd_ratio(f, "random")
    worst, worst_ratio = worst_class(f)
    judged = np.nanmax([ratio, worst_ratio])
    word = ("close to real" if judged <= CLOSE_RATIO else "moderate" if judged <= MODERATE_RATIO
            else "poor")
    detection, lead = _detection_judgement(f), ""
    if detection is not None:
        order = list(_FIDELITY_WORDS)
        word = max(word, detection[0], key=order.index)
        lead = detection[1] + "; "
    return Verdict(_FIDELITY_WORDS[word], (
        f"{word}: {lead}Fréchet distance {enc.get('fd', np.nan):.3g} vs "
        f"{enc.get('fd_baseline', np.nan):.3g} for unseen real images ({ratio:.1f}x; "
        f"random-network check {ratio_r:.1f}x); precision {enc.get('precision', np.nan):.2f} "
        f"(real {enc.get('precision_baseline', np.nan):.2f}), recall "
        f"{enc.get('recall', np.nan):.2f} (real {enc.get('recall_baseline', np.nan):.2f})"
        + (f"; worst class {worst}: {worst_ratio:.1f}x its real baseline" if worst else "")))


def excess_similarity(d: Mapping[str, float]) -> float:
    """How much more alike synthetic images are than the more alike of the two real sets."""
    return d["synthetic"] - np.nanmax([d["real"], d.get("test", np.nan)])


def excess_spread(d: Mapping[str, float]) -> float:
    """How much less alike synthetic images are than the less alike of the two real sets."""
    return np.nanmin([d["real"], d.get("test", np.nan)]) - d["synthetic"]


def diversity_verdict(f: ImageMeasurements) -> Verdict:
    """Two-sided: more alike than real is collapse; far less alike is not diversity but images
    off the real manifold (high recall with low precision and coverage says the same)."""
    low = [c for c, d in f.diversity.items() if excess_similarity(d) > DIVERSITY_MARGIN]
    if not low:
        wide = [c for c, d in f.diversity.items() if excess_spread(d) > SPREAD_MARGIN]
        if wide:
            worst = max(wide, key=lambda c: excess_spread(f.diversity[c]))
            d = f.diversity[worst]
            return Verdict(Severity.CAUTION, (
                f"wider than real: synthetic images of {', '.join(map(str, wide))} are far less "
                f"alike than real ones (MS-SSIM {d['synthetic']:.2f} vs {d['real']:.2f} train, "
                f"{d.get('test', np.nan):.2f} test, for {worst}): variety beyond the real images' "
                "(noise, artefacts or another class's look), not more coverage"))
        return Verdict(Severity.GOOD, "close to real: synthetic images within each class vary "
                                      "about as much as real ones")
    worst = max(low, key=lambda c: excess_similarity(f.diversity[c]))
    d = f.diversity[worst]
    return Verdict(Severity.CAUTION, (
        f"weak: synthetic images of {', '.join(map(str, low))} are more alike than real ones "
        f"(MS-SSIM {d['synthetic']:.2f} vs {d['real']:.2f} train, {d.get('test', np.nan):.2f} "
        f"test, for {worst}): possible mode collapse"))


def memorization_verdict(f: ImageMeasurements) -> Verdict:
    parts = ", ".join(f"{_pct(c.rate)} by {c.space}" for c in f.copies)
    if any(c.flagged for c in f.copies):
        return Verdict(Severity.BAD, (
            f"flag: {parts} of synthetic images are closer to a training image than 99% of "
            "unseen real images are: likely copies (see the closest pairs)"))
    return Verdict(Severity.GOOD, f"no sign of copying: {parts} above the copy threshold "
                                  "(about 1% expected for new real images)")


def _chosen_words(u, words) -> tuple[str, str, str]:
    """(arm judged, verdict word, how the synthetic images were added) for the verdict."""
    if u.choice is None:
        return "real_plus_synth", words["real_plus_synth"], "adding all synthetic images"
    c = u.choice
    if c.chosen == 0:
        return ("real_plus_chosen", words["real_plus_chosen"],
                f"validation chose no synthetic data, so the classifier stays real-only (gain 0 "
                f"by construction; {c.evidence('images')})")
    return ("real_plus_chosen", words["real_plus_chosen"],
            f"adding {share_label(c.chosen)} of the synthetic images (the share validation chose)")


def utility_verdict(f: ImageMeasurements, metric: str = "balanced_accuracy") -> Verdict:
    """Judged on real + the share of synthetic images chosen on validation (all of them when no
    choice was made); classic augmentation alongside."""
    u = f.utility
    gains, words = u.gains(metric), u.verdicts(metric)
    if "real_plus_synth" not in gains and "real_plus_chosen" not in gains:
        return Verdict(Severity.CAUTION, "inconclusive: the real + synthetic arm was not run")
    arm, word, how = _chosen_words(u, words)
    g = gains[arm]
    severity = _GAIN_SEVERITY.get(word, Severity.CAUTION)
    n = len(u.scores["real"][metric])
    if u.choice is not None and u.choice.chosen == 0:
        text = f"{word}: {how}"
        if "real_plus_synth" in gains:
            a = gains["real_plus_synth"]
            text += (f"; all synthetic images, not chosen, changed {metric_label(metric)} by "
                     f"{_signed(a['gain'])} ({_signed(a['low'])} to {_signed(a['high'])}, {n} seeds)")
    else:
        text = (f"{word}: {how} changed {metric_label(metric)} by {_signed(g['gain'])} (95% "
                f"interval {_signed(g['low'])} to {_signed(g['high'])}, {n} seeds)")
    ratio = fd_ratio(f)
    if word == "helps" and ratio > MODERATE_RATIO:
        # Seen with uniform noise on PneumoniaMNIST (+0.05): extra off-manifold images regularise.
        text += (f", yet the synthetic images are far from real ({ratio:.0f}x the baseline FD): "
                 "the gain is likely regularisation, a weak reason to use them")
        severity = Severity.CAUTION
    if "real_plus_augment" in gains:
        a = gains["real_plus_augment"]
        text += (f"; classic augmentation alone {_signed(a['gain'])} "
                 f"({_signed(a['low'])} to {_signed(a['high'])})")
        vs = gains.get("real_plus_synth_vs_augment" if u.choice is not None and u.choice.chosen == 1
                       else f"{arm}_vs_augment")
        if vs is not None:
            text += (f"; synthetic minus augmentation {_signed(vs['gain'])} "
                     f"({_signed(vs['low'])} to {_signed(vs['high'])})")
    return Verdict(severity, text)

"""Flat metric keys of the image evaluation (for metrics.json and MLflow).

``fidelity/<metric>_<space>[_baseline]`` (whole set) and
``fidelity/class/<class>/<metric>_<space>[_baseline]``;
``fidelity/[class/<class>/]detection_auc[_baseline]``; ``diversity/ms_ssim_{real,test,synthetic}``;
``memorization/copy_rate_{pixel,encoder}``; ``utility/cnn/<metric>/<arm>`` and
``utility/cnn/<metric>/gain_<arm>[_low|_high]``.
"""

from __future__ import annotations

import re

import numpy as np

from synthgen.evaluation.images.measurements import ALL, ImageMeasurements


def metric_key(name: str) -> str:
    """A class name usable inside an MLflow metric key."""
    return re.sub(r"[^A-Za-z0-9_.\- ]", "_", str(name))


def _prefix(group: str) -> str:
    return "fidelity/" if group == ALL else f"fidelity/class/{metric_key(group)}/"


def _fidelity(f: ImageMeasurements) -> dict[str, float]:
    m: dict[str, float] = {}
    for space, groups in f.fidelity.items():
        for group, vals in groups.items():
            for k, v in vals.items():
                if k == "n_matched":
                    continue
                base = k.removesuffix("_baseline")
                suffix = "_baseline" if k.endswith("_baseline") else ""
                m[f"{_prefix(group)}{base}_{space}{suffix}"] = v
    m["fidelity/encoder_test_balanced_accuracy"] = f.encoder_accuracy
    for det, suffix in ((f.detection, ""), (f.detection_baseline, "_baseline")):
        if det is not None:
            m[f"fidelity/detection_auc{suffix}"] = det.auc
            for c, auc in det.per_class.items():
                m[f"{_prefix(c)}detection_auc{suffix}"] = auc
    for group, s in f.intensity.items():
        m[f"{_prefix(group)}intensity_w1"] = s["w1"]
        m[f"{_prefix(group)}intensity_w1_baseline"] = s["w1_baseline"]
    return m


def _diversity(f: ImageMeasurements) -> dict[str, float]:
    m: dict[str, float] = {}
    for side in ("real", "test", "synthetic"):
        vals = np.array([d.get(side, np.nan) for d in f.diversity.values()], float)
        m[f"diversity/ms_ssim_{side}"] = float(np.nanmean(vals)) if np.isfinite(vals).any() \
            else float("nan")
        for c, d in f.diversity.items():
            m[f"diversity/class/{metric_key(c)}/ms_ssim_{side}"] = d.get(side, np.nan)
    return m


def flat_metrics(f: ImageMeasurements) -> dict[str, float]:
    m = _fidelity(f) | _diversity(f)
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

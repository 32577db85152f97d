"""Quality of the image GAN per class, for ablations: variants side by side on one split.

    python pipelines/make_pneumonia_imbalanced.py             # the imbalanced PneumoniaMNIST
    SYNTHGEN_THREADS=1 .venv/bin/python benchmarks/bench_image_quality.py \\
        --variant default --variant ada=model.ada_target=0.6 --variant r1=model.r1_gamma=1 [--max-steps 3000]

Each variant fits the GAN on the file's *train* split with a fixed step budget (no time cap, so
the result does not depend on the machine's load; the default snapshot selection and early
stop) and draws, per class, as many images as the file's *test* split holds. Scoring is the
report's own image evaluation (``evaluate_images``, downstream classifiers off), which knows
nothing of the GAN: per class, Fréchet distance, recall and coverage of the synthetic images
against the real train images in the trained encoder's space, beside the same figures for the
real test images (the baseline: as good as real data gets). ``fd_x`` is the synthetic Fréchet
distance over the baseline's. The encoder is trained once and cached for every variant.
The targets of issue 13: per class ``fd_x`` <= 2, recall and coverage >= 0.5.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.config import ImageModelConfig, TrainConfig, deep_merge
from synthgen.data.imaging import load_image_dataset
from synthgen.evaluation.images import evaluate_images
from synthgen.modalities.imaging import native_size
from synthgen.models.imaging.synthesizer import ImageSynthesizer
from synthgen.runtime import configure_threads

DATA = Path(__file__).resolve().parents[1] / "examples" / "pneumonia_imbalanced.npz"


def parse_variant(text: str) -> tuple[str, dict]:
    """``name`` or ``name=section.key=value,section.key=value``."""
    name, _, sets = text.partition("=")
    override: dict = {}
    for item in filter(None, sets.split(",")):
        path, _, value = item.partition("=")
        section, key = path.split(".", 1)
        override = deep_merge(override, {section: {key: _number(value)}})
    return name, override


def _number(value: str):
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value.lower(), value)


def fit_variant(train, override: dict, max_steps: int, seed: int) -> tuple[ImageSynthesizer, float]:
    model = ImageModelConfig.model_validate({"spatial_dims": train.spatial_dims, **override.get("model", {})})
    settings = TrainConfig.model_validate(deep_merge(
        {"max_steps": max_steps, "batch_size": 64, "seed": seed, "device": "cpu", "progress": False},
        override.get("train", {})))
    start = time.perf_counter()
    synth = ImageSynthesizer(model, settings).fit(train)
    return synth, time.perf_counter() - start


def score(synth: ImageSynthesizer, train, test, cache: Path, seed: int) -> dict[str, float]:
    """Per class: FD over its baseline, recall and coverage (synthetic | test baseline)."""
    fake = synth.generate(test.class_counts(), seed=seed)
    findings = evaluate_images(train.images.numpy(), train.labels, test.images.numpy(), test.labels,
                               fake.images, fake.labels, seeds=0, cache_dir=cache, seed=seed)
    m, out = findings.metrics, {}
    for c in test.classes:
        key = f"fidelity/class/{c}/"
        out[f"{c}_fd_x"] = m[key + "fd_encoder"] / m[key + "fd_encoder_baseline"]
        for name in ("recall", "coverage"):
            out[f"{c}_{name}"], out[f"{c}_{name}_real"] = m[f"{key}{name}_encoder"], m[f"{key}{name}_encoder_baseline"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--condition", default="label")
    ap.add_argument("--variant", action="append", default=None)
    ap.add_argument("--max-steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"threads: {configure_threads()}")
    # The side the pipeline picks: the inputs' own (28 px for MedMNIST), as `synthgen fit` does.
    data = load_image_dataset(args.data, args.condition, image_size=partial(native_size, spatial_dims=2))
    print(f"image size {data.images.shape[-1]}")
    split = np.array(data.source_split)
    train = data.subset(np.flatnonzero(split == "train"))
    test = data.subset(np.flatnonzero(split == "test"))
    print(f"train {train.class_counts()}  test {test.class_counts()}")
    cache = Path(tempfile.mkdtemp(prefix="bench-image-quality-"))
    rows = {}
    for name, override in map(parse_variant, args.variant or ["default"]):
        synth, seconds = fit_variant(train, override, args.max_steps, args.seed)
        h = synth.history_
        best = int(np.argmax(h["val_score"])) if "val_score" in h else len(h["step"]) - 1
        rows[name] = {"fit_s": seconds, "steps": h["step"][-1], "kept_step": h["step"][best],
                      **score(synth, train, test, cache, args.seed)}
        print(name, {k: round(v, 3) for k, v in rows[name].items()}, flush=True)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(pd.DataFrame(rows).T.round(3).to_string())


if __name__ == "__main__":
    main()

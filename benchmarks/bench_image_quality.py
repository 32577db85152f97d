"""Quality of the image GAN per class, for ablations: variants side by side on one split.

    python pipelines/make_pneumonia_imbalanced.py             # the imbalanced PneumoniaMNIST
    SYNTHGEN_THREADS=1 .venv/bin/python benchmarks/bench_image_quality.py \\
        --variant default --variant ada=model.ada_target=0.6 --variant r1=model.r1_gamma=1 [--max-steps 3000]

Each variant fits the GAN on the file's *train* split with a fixed step budget (no time cap, so
the result does not depend on the machine's load) and draws, per class, as many images as the
file's *test* split holds. Scoring knows nothing of the GAN: a small CNN trained on the real
train split (the evaluation's encoder, same seed for every variant) embeds train, test and
synthetic images; per class, Fréchet distance, recall and coverage of the synthetic images
against the real train images, beside the same figures for the real test images (the baseline:
as good as real data gets). ``fd_x`` is the synthetic Fréchet distance over the baseline's.
The targets of issue 13: per class ``fd_x`` <= 2, recall and coverage >= 0.5.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.config import ImageModelConfig, TrainConfig, deep_merge
from synthgen.data.imaging import load_image_dataset
from synthgen.evaluation.images.features import fit_encoder, standardise
from synthgen.evaluation.images.fidelity import feature_fidelity
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


def score(synth: ImageSynthesizer, encoder, real: dict, seed: int) -> dict[str, float]:
    """Per class: FD over its baseline, recall and coverage (synthetic | test baseline)."""
    out: dict[str, float] = {}
    counts = {c: len(real["test"][c]) for c in real["test"]}
    fake = synth.generate(counts, seed=seed)
    labels = np.array(fake.labels)
    for c in counts:
        tr, te, sy = standardise(encoder(real["train"][c]), encoder(real["test"][c]),
                                 encoder(fake.images[labels == c]))
        f = feature_fidelity(tr, te, sy, kid_subsets=5, seed=seed)
        out[f"{c}_fd_x"] = f["fd"] / f["fd_baseline"]
        out[f"{c}_recall"], out[f"{c}_recall_real"] = f["recall"], f["recall_baseline"]
        out[f"{c}_coverage"], out[f"{c}_coverage_real"] = f["coverage"], f["coverage_baseline"]
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
    data = load_image_dataset(args.data, args.condition)
    split = np.array(data.source_split)
    train = data.subset(np.flatnonzero(split == "train"))
    test = data.subset(np.flatnonzero(split == "test"))
    print(f"train {train.class_counts()}  test {test.class_counts()}")
    real = {name: {c: part.images.numpy()[np.array(part.labels) == c] for c in part.classes}
            for name, part in (("train", train), ("test", test))}
    y = np.array([train.classes.index(label) for label in train.labels])
    encoder = fit_encoder(train.images.numpy(), y, len(train.classes), seed=args.seed)
    rows = {}
    for name, override in map(parse_variant, args.variant or ["default"]):
        synth, seconds = fit_variant(train, override, args.max_steps, args.seed)
        h = synth.history_
        best = int(np.argmax(h["val_score"])) if "val_score" in h else len(h["step"]) - 1
        rows[name] = {"fit_s": seconds, "steps": h["step"][-1], "kept_step": h["step"][best],
                      **score(synth, encoder, real, args.seed)}
        print(name, {k: round(v, 3) for k, v in rows[name].items()}, flush=True)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(pd.DataFrame(rows).T.round(3).to_string())


if __name__ == "__main__":
    main()

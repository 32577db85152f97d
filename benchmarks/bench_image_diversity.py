"""Diversity of the image GAN over training, per class: is the generator collapsing, and when?

    python pipelines/make_mri_patches.py examples/mri_patches     # (committed already)
    SYNTHGEN_THREADS=2 .venv/bin/python benchmarks/bench_image_diversity.py \\
        --steps 600 --every 200 --variant default --variant ms3=model.mode_seeking=3
    # the same images as 2D (each patch's central axial slice): ~10x faster per step
    ... benchmarks/bench_image_diversity.py --slices --steps 1500 --every 500

Each variant trains the GAN on the MRI example's *train* split (the pipeline's split: holdout
0.2, test 0.2, seed 0) for a fixed number of steps and, every ``--every`` steps, draws 40
images per class from fixed latents and prints, per class, the mean pairwise MS-SSIM among
them over the same figure among the real training images of that class (the report's
diversity measure; 1 = as varied as real, issue 13 asks for <= 2). ``ema`` is the generator
that is sampled from; ``live`` the one being trained (tells a collapse of the weights' average
from one of the generator itself). ``d_real``/``d_fake`` are the discriminator's mean logits
on the last batch: hinge margins near 0 mean D no longer tells them apart. A picture of
the last draw (the report's grid: middle slices, per class real above synthetic) goes to
``--pictures``.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from bench_image_quality import parse_variant
from synthgen.config import ImageModelConfig, TrainConfig, deep_merge
from synthgen.data.imaging import load_image_dataset
from synthgen.data.splits import make_splits
from synthgen.distributed import DistInfo
from synthgen.evaluation.images.diversity import mean_pairwise_ssim, ms_ssim_plan
from synthgen.modalities.imaging import native_size
from synthgen.models.imaging.diffaug import DiffAugment
from synthgen.models.imaging.networks import latent_size
from synthgen.models.imaging.synthesizer import left_right_axis
from synthgen.models.imaging.trainer import GanTrainer
from synthgen.report.figures.images import sample_grid
from synthgen.report.figures.png import to_png
from synthgen.runtime import configure_threads, seed_everything

DATA = Path(__file__).resolve().parents[1] / "examples" / "mri_patches"
PER_CLASS = 40


def training_images(folder: Path, condition: str, slices: bool):
    """The train split as ``(images, class ids, class names, reference)``; ``slices``: 2D."""
    data = load_image_dataset(folder, condition, spatial_dims=3,
                              image_size=partial(native_size, spatial_dims=3))
    train = data.subset(make_splits(data.labels, holdout=0.2, test=0.2, seed=0).train)
    classes = train.classes
    labels = torch.tensor([classes.index(label) for label in train.labels])
    images = train.images.float()
    if slices:  # the central axial slice: the same anatomy through the 2D network
        images = images[..., images.shape[-1] // 2].contiguous()
    return images, labels, classes, train.reference


def ssim_ratios(images: np.ndarray, ids: np.ndarray, real: list[float], plan) -> list[float]:
    return [mean_pairwise_ssim(images[ids == c], plan) / real[c] for c in range(len(real))]


def run_variant(name: str, override: dict, data, steps: int, every: int, pictures: Path | None):
    images, labels, classes, reference = data
    model = ImageModelConfig.model_validate(
        {"spatial_dims": images.ndim - 2, "image_size": images.shape[-1], **override.get("model", {})})
    train = TrainConfig.model_validate(deep_merge(
        {"max_steps": steps, "batch_size": 16, "seed": 0, "device": "cpu", "progress": False},
        override.get("train", {})))
    generator = seed_everything(train.seed)
    trainer = GanTrainer(model, train, len(classes), dist=DistInfo(),
                         augment=DiffAugment(flip_axis=left_right_axis(reference)))
    trainer.attach(images, labels, generator)
    trainer.train_mode()
    plan = ms_ssim_plan(tuple(images.shape[2:]))
    real_np, label_np = images.numpy(), labels.numpy()
    real = [mean_pairwise_ssim(real_np[label_np == c], plan) for c in range(len(classes))]
    ids = torch.arange(len(classes)).repeat_interleave(PER_CLASS)
    z = torch.randn(len(ids), latent_size(model), generator=torch.Generator().manual_seed(1))
    start = time.perf_counter()
    for step in range(1, steps + 1):
        losses = trainer.step()
        if step % every and step != steps:
            continue
        with torch.no_grad():
            ema = trainer.g_ema.eval()(z, ids).numpy()
            live = trainer.g.eval()(z, ids).numpy()
        trainer.train_mode()
        row = {"ema": ssim_ratios(ema, ids.numpy(), real, plan), "live": ssim_ratios(live, ids.numpy(), real, plan)}
        print(f"{name:>14} step {step:5d} {time.perf_counter() - start:6.0f} s  "
              + "  ".join(f"{kind} " + " ".join(f"{v:5.2f}" for v in vals) for kind, vals in row.items())
              + f"  d_real {losses['d_real'].item():5.2f} d_fake {losses['d_fake'].item():5.2f}", flush=True)
    if pictures is not None:
        draw(real_np, label_np, ema, ids.numpy(), classes, pictures / f"{name}.png")


def draw(real: np.ndarray, real_ids: np.ndarray, fake: np.ndarray, fake_ids: np.ndarray,
         classes: list[str], path: Path, columns: int = 8) -> None:
    """The report's real-above-synthetic grid (middle slices), written as a PNG."""
    rows = {side: {name: pool[ids == c][:columns] for c, name in enumerate(classes)}
            for side, (pool, ids) in (("real", (real, real_ids)), ("synthetic", (fake, fake_ids)))}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_png(sample_grid({"classes": classes, **rows}, per_row=columns)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--condition", default="region")
    ap.add_argument("--slices", action="store_true", help="train on each volume's central axial slice (2D)")
    ap.add_argument("--variant", action="append", default=None)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--every", type=int, default=200)
    ap.add_argument("--pictures", type=Path, default=None, help="folder for a sample picture per variant")
    args = ap.parse_args()
    print(f"threads: {configure_threads()}")
    data = training_images(args.data, args.condition, args.slices)
    images, labels, classes, _ = data
    counts = dict(zip(classes, np.bincount(labels.numpy()).tolist()))
    print(f"train {counts}, images {tuple(images.shape[1:])}; columns: synthetic / real MS-SSIM per class "
          f"({', '.join(classes)})")
    for name, override in map(parse_variant, args.variant or ["default"]):
        run_variant(name, override, data, args.steps, args.every, args.pictures)


if __name__ == "__main__":
    main()

"""Scoring image-GAN snapshots on validation images carved out of the training split.

The images held out here are never shown to the GAN (and are never holdout or test images).
A small CNN is trained once, at the start of the fit, to tell the classes apart on the images
the GAN trains on; its embedding is the feature space, as in the evaluation's trained-encoder
metrics. Each round the snapshot draws, per class, as many images as that class has in
validation (from the same latents every round, so rounds differ only by the weights) and is
scored per class by

- coverage (k=5): the share of validation images with a synthetic one inside their k-NN ball
  (a generator that collapses onto a few modes covers little), and
- fidelity: the real-vs-real Fréchet distance (validation against as many training images)
  over the snapshot's (1 is as good as real data; capped at 1).

``val_score`` is their mean over both terms and all scored classes: higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from synthgen.vision.classifier import build_classifier
from synthgen.vision.feature_distance import K_DENSITY_COVERAGE, frechet_distance, prdc
from synthgen.vision.training import apply_in_batches, train_classifier

MIN_PER_CLASS = 12  # validation images a class needs to be scored (coverage uses k=5)
ENCODER_EPOCHS = 8  # as the evaluation's encoder
FEATURE_DIM = 64  # fewer dimensions than the evaluation's 128: Fréchet distance on ~50 images
GENERATE_CHUNK = 256


def carve_validation(labels: Sequence[int], share: float, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(fit, validation) indices, stratified by class; None when some class would get fewer than
    ``MIN_PER_CLASS`` validation images: the fit then trains on every image and keeps the EMA
    generator. (Scoring only the larger classes picked snapshots that were worse for the
    others: on the 3D MRI patches, where two of three classes are too small to score, Fréchet
    distance went 0.9x -> 1.5x the real baseline.)"""
    labels = np.asarray(labels)
    if share <= 0:
        return None
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        val.append(members[: int(round(share * len(members)))])
    val_idx = np.sort(np.concatenate(val))
    if np.bincount(labels[val_idx], minlength=labels.max() + 1).min() < MIN_PER_CLASS:
        return None
    fit_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return fit_idx, val_idx


class ImageSnapshotScorer:
    """``scorer(generator)`` -> ``val_score`` and its parts (``val_coverage``, ``val_fidelity``),
    all in [0, 1] so that the report draws them on one axis."""

    def __init__(self, fit_images: torch.Tensor, fit_labels: torch.Tensor, val_images: torch.Tensor,
                 val_labels: torch.Tensor, n_classes: int, latent_size: int, *, seed: int):
        self.fit = (fit_images, fit_labels)
        self.validation = (val_images, val_labels)
        self.n_classes, self.latent_size, self.seed = n_classes, latent_size, seed
        self.net = None  # trained at the first score: only the process that scores pays for it

    def _prepare(self) -> None:
        """Train the encoder; embed the validation images and each class's real baseline."""
        seed = self.seed
        x_fit, y_fit = (t.float().cpu().numpy() for t in self.fit)
        x_val, y_val = (t.float().cpu().numpy() for t in self.validation)
        y_fit, y_val = y_fit.astype(int), y_val.astype(int)
        # (both seeded on their own streams: the GAN's random draws are left untouched)
        self.net = build_classifier(x_fit.shape[1:], self.n_classes, seed=seed, feature_dim=FEATURE_DIM)
        train_classifier(self.net, x_fit, y_fit, epochs=ENCODER_EPOCHS, seed=seed)
        feats_fit, feats_val = self._features(x_fit), self._features(x_val)
        rng = np.random.default_rng(seed)
        self.classes: list[int] = []
        self.val: dict[int, np.ndarray] = {}
        self.baseline: dict[int, float] = {}
        for c in range(self.n_classes):
            n = int((y_val == c).sum())
            pool = np.flatnonzero(y_fit == c)
            if len(pool) < n:  # (carve_validation leaves every class enough)
                continue
            self.classes.append(c)
            self.val[c] = feats_val[y_val == c]
            self.baseline[c] = frechet_distance(self.val[c], feats_fit[rng.choice(pool, n, replace=False)])
        counts = [len(self.val[c]) for c in self.classes]
        self.ids = torch.tensor(np.repeat(self.classes, counts), dtype=torch.long)
        # The same latents every round: scores differ by the snapshot's weights, not by the draw.
        self.z = torch.randn(len(self.ids), self.latent_size,
                             generator=torch.Generator().manual_seed(seed))

    def _features(self, x: np.ndarray) -> np.ndarray:
        self.net.eval()
        return apply_in_batches(self.net.embed, x)

    def __call__(self, generator: nn.Module) -> dict[str, float]:
        if self.net is None:
            self._prepare()
        images = self._generate(generator)
        feats, ids = self._features(images), self.ids.numpy()
        coverage, fidelity = [], []
        for c in self.classes:
            fake, real = feats[ids == c], self.val[c]
            fd = frechet_distance(real, fake)
            coverage.append(prdc(real, fake)["coverage"] if len(real) > K_DENSITY_COVERAGE else 0.0)
            fidelity.append(min(1.0, self.baseline[c] / max(fd, 1e-12)))
        score = 0.5 * (float(np.mean(coverage)) + float(np.mean(fidelity)))
        return {"val_score": score, "val_coverage": float(np.mean(coverage)),
                "val_fidelity": float(np.mean(fidelity))}

    @torch.no_grad()
    def _generate(self, generator: nn.Module) -> np.ndarray:
        device = next(generator.parameters()).device
        return torch.cat([
            generator(self.z[i:i + GENERATE_CHUNK].to(device), self.ids[i:i + GENERATE_CHUNK].to(device)).float().cpu()
            for i in range(0, len(self.ids), GENERATE_CHUNK)
        ]).numpy()

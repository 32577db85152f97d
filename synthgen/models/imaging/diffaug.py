"""DiffAugment-style differentiable augmentation for grayscale 2D/3D images in [-1, 1].

Applied to real and generated images alike before the discriminator (Zhao et al. 2020), so a
small data set does not let D memorise it. Intensity: brightness and contrast (no colour).
Geometric: integer translation (background -1 shifted in), a cutout box, and a left-right flip
with probability ``flip_p`` < 0.5: at exactly 0.5 the flip would "leak" (G could produce
mirrored anatomy unpunished); below it the augmented distributions still differ.

With ``p`` < 1 each transform is applied to a sample with probability ``p`` only: adaptive
discriminator augmentation (``ada.AdaptiveAugment``) tunes ``p`` during training.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class DiffAugment:
    brightness: float = 0.25  # +- shift in [-1, 1] units
    contrast: float = 0.25  # scale in [1 - c, 1 + c] around the image mean
    translation: float = 0.125  # up to this share of the side, per axis
    cutout: float = 0.25  # box side as a share of the image side
    flip_p: float = 0.2
    flip_axis: int = 2  # tensor axis of left-right (2: first spatial axis, RAS "R")
    p: float = 1.0  # probability each transform is applied to a sample (ADA tunes it)
    class_p: torch.Tensor | None = None  # per-class probabilities instead of p (per-class ADA)

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Augment ``x``; with ``class_p`` set, sample i with probability ``class_p[y[i]]``."""
        prob: float | torch.Tensor = self.p
        if self.class_p is not None and y is not None:
            prob = self.class_p.to(x.device, x.dtype)[y].view((-1,) + (1,) * (x.ndim - 1))
        for transform in (self._intensity, self._flip, self._translate, self._cutout):
            x = self._sometimes(transform, x, prob)
        return x

    def _sometimes(self, transform, x: torch.Tensor, prob: float | torch.Tensor) -> torch.Tensor:
        if isinstance(prob, float) and prob >= 1.0:  # every sample, drawing nothing more (fixed DiffAugment)
            return transform(x)
        if isinstance(prob, float) and prob <= 0.0:
            return x
        return torch.where(self._per_sample(x) < prob, transform(x), x)

    def _per_sample(self, x: torch.Tensor) -> torch.Tensor:
        return torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), device=x.device, dtype=x.dtype)

    def _intensity(self, x: torch.Tensor) -> torch.Tensor:
        x = x + (self._per_sample(x) - 0.5) * (2 * self.brightness)
        mean = x.mean(dim=tuple(range(1, x.ndim)), keepdim=True)
        return (x - mean) * (1 + (self._per_sample(x) - 0.5) * (2 * self.contrast)) + mean

    def _flip(self, x: torch.Tensor) -> torch.Tensor:
        if self.flip_p <= 0:
            return x
        chosen = self._per_sample(x) < self.flip_p
        return torch.where(chosen, x.flip(self.flip_axis), x)

    def _translate(self, x: torch.Tensor) -> torch.Tensor:
        if self.translation <= 0:
            return x
        spatial = x.shape[2:]
        pad = [max(1, int(s * self.translation)) for s in spatial]
        # Pad with background, then read a shifted window per sample, one axis at a time.
        flat_pad = [p for p in reversed(pad) for _ in (0, 1)]
        x = torch.nn.functional.pad(x, flat_pad, value=-1.0)
        n = x.shape[0]
        for axis, (size, p) in enumerate(zip(spatial, pad), start=2):
            shift = torch.randint(0, 2 * p + 1, (n,), device=x.device)
            index = torch.arange(size, device=x.device).view(1, -1) + shift.view(-1, 1)
            view = [n] + [1] * (x.ndim - 1)
            view[axis] = size
            index = index.view(view).expand(*x.shape[:axis], size, *x.shape[axis + 1:])
            x = torch.gather(x, axis, index)
        return x

    def _cutout(self, x: torch.Tensor) -> torch.Tensor:
        if self.cutout <= 0:
            return x
        n, spatial = x.shape[0], x.shape[2:]
        inside = torch.ones((n, 1) + tuple(spatial), dtype=torch.bool, device=x.device)
        for axis, size in enumerate(spatial):
            half = max(1, int(size * self.cutout)) // 2
            centre = torch.randint(0, size, (n,), device=x.device)
            coord = torch.arange(size, device=x.device)
            hit = (coord.view(1, -1) - centre.view(-1, 1)).abs() <= half  # (n, size)
            view = [n, 1] + [1] * len(spatial)
            view[2 + axis] = size
            inside = inside & hit.view(view)
        return x.masked_fill(inside, 0.0)

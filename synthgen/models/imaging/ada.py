"""Adaptive discriminator augmentation (Karras et al. 2020, StyleGAN2-ADA).

The discriminator's overfitting signal is r = E[sign D(real)]: near 0 when it cannot tell its
training images from fakes, near 1 when it has memorised them. Every ``interval`` steps the
augmentation probability p moves up when r is above ``target`` and down when below, by a step
that lets it cross 0..1 in ``speed_images`` images. StyleGAN2-ADA uses 500k images over runs
of millions; our budgets are ~200k images, hence a faster default.
"""

from __future__ import annotations

from typing import Any

import torch

from synthgen import distributed
from synthgen.distributed import DistInfo
from synthgen.models.imaging.diffaug import DiffAugment


SPEED_IMAGES = 100_000  # images over which p can cross 0..1
INTERVAL = 4  # steps between adjustments


class AdaptiveAugment:
    """ADA's controller. With ``n_classes`` it keeps one p per class, from each class's own
    signal: a small class's images are seen far more often per image than a large class's, so
    D overfits them first (on imbalanced PneumoniaMNIST, less augmentation helped the large
    class and hurt the small one)."""

    def __init__(self, augment: DiffAugment, target: float, dist: DistInfo, n_classes: int | None = None):
        self.augment, self.target, self.dist, self.interval = augment, target, dist, INTERVAL
        self.per_class = n_classes is not None
        groups = n_classes or 1
        self.p = torch.zeros(groups, dtype=torch.float64)
        self._publish()
        # per group: sum of sign(D(real)) and count, on the training device (read every
        # `interval` steps only)
        self.signs = torch.zeros(groups, 2, dtype=torch.float64, device=dist.device)
        self.steps = 0

    def _publish(self) -> None:
        if self.per_class:
            self.augment.class_p = self.p.float()
        else:
            self.augment.p = float(self.p[0])

    def observe(self, logits_real: torch.Tensor, y: torch.Tensor) -> None:
        """After a D step: accumulate the overfitting signal; adjust p every ``interval`` steps."""
        group = y if self.per_class else torch.zeros_like(y)
        seen = torch.stack([logits_real.detach().sign().double(), torch.ones_like(logits_real, dtype=torch.float64)], 1)
        self.signs.index_add_(0, group, seen)
        self.steps += 1
        if self.steps % self.interval == 0:
            total, count = distributed.all_reduce_sum(self.signs, self.dist).cpu().unbind(1)
            r = total / count.clamp(min=1.0)
            # p moves by the images seen over SPEED_IMAGES, up where D is overconfident on reals
            step = count / SPEED_IMAGES * torch.where(r > self.target, 1.0, -1.0)
            self.p = (self.p + torch.where(count > 0, step, 0.0)).clamp(0.0, 1.0)
            self._publish()
            self.signs.zero_()

    def mean_p(self) -> float:
        return float(self.p.mean())

    def state_dict(self) -> dict[str, Any]:
        return {"p": self.p.clone(), "signs": self.signs.clone(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p = state["p"].to(torch.float64).clone()
        self._publish()
        self.signs = state["signs"].to(self.dist.device, torch.float64).clone()
        self.steps = int(state["steps"])

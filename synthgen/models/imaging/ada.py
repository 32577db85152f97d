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
    def __init__(self, augment: DiffAugment, target: float, batch: int, dist: DistInfo):
        self.augment, self.target, self.dist, self.interval = augment, target, dist, INTERVAL
        self.adjust = batch * INTERVAL / SPEED_IMAGES
        self.augment.p = 0.0
        # sum of sign(D(real)) and count, on the training device: read every `interval` steps only
        self.signs = torch.zeros(2, dtype=torch.float64, device=dist.device)
        self.steps = 0

    def observe(self, logits_real: torch.Tensor) -> None:
        """After a D step: accumulate the overfitting signal; adjust p every ``interval`` steps."""
        self.signs[0] += logits_real.detach().sign().sum().double()
        self.signs[1] += logits_real.numel()
        self.steps += 1
        if self.steps % self.interval == 0:
            total, count = distributed.all_reduce_sum(self.signs, self.dist).tolist()
            r = total / max(count, 1.0)
            self.augment.p = min(max(self.augment.p + self.adjust * (1 if r > self.target else -1), 0.0), 1.0)
            self.signs.zero_()

    def state_dict(self) -> dict[str, Any]:
        return {"p": self.augment.p, "signs": self.signs.clone(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.augment.p = float(state["p"])
        self.signs = state["signs"].to(self.dist.device, torch.float64).clone()
        self.steps = int(state["steps"])

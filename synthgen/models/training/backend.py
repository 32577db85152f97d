"""What a GAN backend supplies to the training engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import torch
from torch import nn


class GanBackend(Protocol):
    """Networks, optimizers and one optimizer step; the engine does everything around them.

    ``state_dict`` is everything rank 0 checkpoints (nested dicts of tensors and plain values:
    the networks', optimizers' and loss scalers' state dicts, and the backend's own position in
    its data); ``load_state_dict`` takes it back. Random streams are the engine's business.
    """

    def train_mode(self) -> None:
        """Put the networks that train into training mode."""

    def step(self) -> Mapping[str, torch.Tensor]:
        """One optimizer step on the backend's next batch; its losses as 0-dim tensors (no sync)."""

    def snapshot(self) -> nn.Module:
        """The generator to score now (the EMA weights, with the live BatchNorm statistics)."""

    def finish(self, chosen: Mapping[str, torch.Tensor] | None) -> None:
        """Training is over: keep ``chosen`` (the best snapshot's weights), or the EMA when None,
        as the generator to sample from; every process holds the same weights afterwards."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...

    def describe(self, budget_epochs: float | None) -> str | None:
        """The data and batch the budget covers, for the start-of-training line and the
        expected end (None: no such lines; the progress bar alone)."""


class SnapshotScorer(Protocol):
    """Scores a generator snapshot on validation data carved out of train: higher is better.

    Returns ``{"val_score": ..., <other named figures>}``; runs on rank 0 only.
    """

    def __call__(self, generator: nn.Module) -> dict[str, float]: ...

"""An image fit's checkpoint fingerprint: the model settings and a digest of the training
images and labels, on top of the settings every backend checks. What a checkpoint holds is the
engine's business (``synthgen.models.training.state``).
"""

from __future__ import annotations

from typing import Any

import torch

from synthgen.config import ImageModelConfig, TrainConfig
from synthgen.distributed import DistInfo
from synthgen.models.checkpoints import array_digest, run_settings
from synthgen.models.imaging.trainer import training_autocast


def run_fingerprint(images: torch.Tensor, labels: torch.Tensor, model: ImageModelConfig,
                    train: TrainConfig, dist: DistInfo) -> dict[str, Any]:
    """What must match for a checkpoint to continue this run exactly."""
    return {
        "model": model.model_dump(mode="json"),
        **run_settings(train, dist, training_autocast(train, dist.device)),
        "data": array_digest(images.detach().cpu().numpy(), labels.detach().cpu().numpy()),
    }

"""What an image fit's checkpoint holds, on top of ``synthgen.models.checkpoints``.

Networks: generator, discriminator and the generator's EMA, both Adam states and the
GradScalers (used with fp16 on CUDA). Per process: the RNG streams (the loop's epoch order is
the same on every process; torch's global stream, which draws latents and augmentations, is
each process's own) and the loss sums of an unfinished epoch. When stopped mid-epoch, that
epoch's order too, so a resumed fit takes the remaining batches in the same order. The
fingerprint adds the model settings and a digest of the training images and labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from synthgen import distributed
from synthgen.config import ImageModelConfig, TrainConfig
from synthgen.distributed import DistInfo
from synthgen.models.checkpoints import (
    Checkpoint,
    CheckpointDir,
    array_digest,
    mine,
    module_tensors,
    optimizer_tensors,
    per_rank,
    restore_optimizer,
    restore_rng,
    rng_tensors,
    run_settings,
    under,
)
from synthgen.models.imaging.trainer import GanTrainer, Position, training_autocast


ORDER = "loop.order"


def run_fingerprint(images: torch.Tensor, labels: torch.Tensor, model: ImageModelConfig,
                    train: TrainConfig, dist: DistInfo) -> dict[str, Any]:
    """What must match for a checkpoint to continue this run exactly."""
    return {
        "model": model.model_dump(mode="json"),
        **run_settings(train, dist, training_autocast(train, dist.device)),
        "data": array_digest(images.detach().cpu().numpy(), labels.detach().cpu().numpy()),
    }


class TrainingCheckpoints:
    """Saves and restores a ``GanTrainer``'s whole state through a ``CheckpointDir``.

    ``save`` is called on every process (each one's RNG states and loss sums are gathered);
    rank 0 writes, and nobody goes on until the checkpoint is on disk.
    """

    def __init__(self, store: CheckpointDir, trainer: GanTrainer):
        self.store, self.trainer = store, trainer

    def _networks(self) -> dict[str, torch.nn.Module]:
        t = self.trainer
        return {"generator": t.g, "discriminator": t.d, "generator_ema": t.g_ema}

    def save(self, position: Position | None = None) -> Path | None:
        """Write the trainer's state; ``position`` when stopping inside an epoch."""
        t = self.trainer
        local = rng_tensors(t.rng, t.dist.device)
        if position is not None:
            local |= {f"sums.{k}": v.detach().float().reshape(1) for k, v in position.sums.items()}
        tensors = per_rank(local, t.dist)
        path = None
        if t.dist.is_main:
            for name, module in self._networks().items():
                tensors |= module_tensors(name, module)
            flat_g, groups_g = optimizer_tensors("opt_g", t.opt_g)
            flat_d, groups_d = optimizer_tensors("opt_d", t.opt_d)
            doc: dict[str, Any] = {
                "epoch": t.epoch,
                "step": t.step,
                "elapsed": t.elapsed,
                "history": dict(t.history),
                "param_groups": {"opt_g": groups_g, "opt_d": groups_d},
                "scalers": {"g": t.scaler_g.state_dict(), "d": t.scaler_d.state_dict()},
                "torch": torch.__version__,
            }
            if position is not None:
                tensors[ORDER] = position.order.detach().cpu()
                doc["position"] = {"next_index": position.next_index}
            path = self.store.save(t.step, tensors | flat_g | flat_d, doc)
        distributed.barrier()
        return path

    def restore(self, saved: Checkpoint) -> None:
        """Load ``saved`` into the trainer: it continues where that checkpoint stopped."""
        t, tensors, doc = self.trainer, saved.tensors, saved.doc
        for name, module in self._networks().items():
            module.load_state_dict(under(name, tensors), strict=True)
        restore_optimizer("opt_g", t.opt_g, tensors, doc["param_groups"]["opt_g"])
        restore_optimizer("opt_d", t.opt_d, tensors, doc["param_groups"]["opt_d"])
        t.scaler_g.load_state_dict(doc["scalers"]["g"])
        t.scaler_d.load_state_dict(doc["scalers"]["d"])
        own = mine(tensors, t.dist)
        t.rng = torch.Generator()
        restore_rng(t.rng, t.dist.device, own)
        t.epoch, t.step = int(doc["epoch"]), int(doc["step"])
        t.elapsed = float(doc.get("elapsed", 0.0))
        t.history = {k: [float(x) for x in v] for k, v in doc["history"].items()}
        if "position" in doc:
            sums = {k: v.reshape(()).to(t.device) for k, v in under("sums", own).items()}
            t.position = Position(tensors[ORDER], int(doc["position"]["next_index"]), sums)

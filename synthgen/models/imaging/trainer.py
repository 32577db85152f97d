"""The image GAN as a backend of the training engine: one D step and one G step per batch, EMA.

The engine (``synthgen.models.training``) runs the loop, scores snapshots and writes
checkpoints; ``GanTrainer.state_dict`` holds everything else (weights, optimizers, loss
scalers, the position in the epoch), so a resumed fit ends exactly where an uninterrupted one
with the same seed would.

Under torchrun (``synthgen.distributed``) G and D train inside DistributedDataParallel. Every
process draws the same epoch order (the loop's generator is seeded alike) and takes its own
slice of each batch, so an epoch is a partition of the data; latents and augmentations come
from each process's own seeded stream. Each DDP wrapper runs one forward per backward: the
discriminator's real+fake pass (R1's double backward included) and the generator's pass; the
generator's no-grad fakes for D and D's scores in the G step go through the plain modules,
whose gradients (D's are switched off there) never need averaging.

The whole preprocessed data set is one tensor (on the training device when it is CUDA);
batches are random index sets into it, so there is no DataLoader and no per-item Python.
With ``train.precision: auto`` the forward passes run under autocast on CUDA (bf16 where
supported, else fp16 with a GradScaler); on CPU in fp32 eager, which measured fastest there
(DESIGN.md section 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from synthgen import distributed
from synthgen.config import ImageModelConfig, TrainConfig
from synthgen.distributed import DistInfo
from synthgen.errors import UserError
from synthgen.models.imaging.ada import AdaptiveAugment
from synthgen.models.imaging.diffaug import DiffAugment
from synthgen.models.imaging.ema import make_ema, update_ema
from synthgen.models.imaging.losses import d_loss, g_loss, mode_seeking, r1_penalty
from synthgen.models.imaging.networks import build_networks
from synthgen.models.training.budget import Budget, plan_rounds
from synthgen.runtime import autocast_dtype

BETAS = (0.5, 0.999)  # Adam betas usual for DCGAN-style G with BatchNorm


def training_autocast(train: TrainConfig, device: torch.device) -> torch.dtype | None:
    """What the trainer autocasts to: bf16, or fp16 with loss scaling where a GPU lacks bf16."""
    return autocast_dtype(train.precision, device, fp16_fallback=True)


@dataclass
class Position:
    """Where the current epoch stands: its order of the images and the next batch's index."""

    order: torch.Tensor | None = None
    next_index: int = 0


class GanTrainer:
    """Owns G, D, G-EMA and their optimizers; ``run`` trains for a number of epochs.

    ``dist`` says which process this is and its device (``DistInfo(device=...)`` for one
    process). Build the trainer with the same global seed on every process: the networks
    start equal, and DDP keeps them so.
    """

    def __init__(self, config: ImageModelConfig, train: TrainConfig, num_classes: int, *,
                 dist: DistInfo, augment: DiffAugment | None = None):
        self.config, self.train, self.dist, self.device = config, train, dist, dist.device
        self.num_classes = num_classes
        self.augment = augment if (augment is not None and config.diffaug) else (lambda x, y=None: x)
        # channels_last: oneDNN's convolutions ran 2-4x faster with it on this CPU (bench_imaging).
        self.memory_format = memory_format(config.spatial_dims)
        self.g, self.d = (net.to(self.device, memory_format=self.memory_format)
                          for net in build_networks(config, num_classes))
        self.g_ema = make_ema(self.g)
        # What the loop calls for gradients that must be averaged: DDP wrappers under torchrun.
        self.train_g, self.train_d = distributed.wrap(self.g, dist), distributed.wrap(self.d, dist)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=config.generator_lr, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=config.discriminator_lr, betas=BETAS)
        self.amp_dtype = training_autocast(train, self.device)
        fp16 = self.amp_dtype == torch.float16  # (CUDA only) needs its losses scaled
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=fp16)
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=fp16)
        self.step_count = 0  # drives the EMA's warm-up
        self.position = Position()
        self.rng: torch.Generator | None = None  # draws each epoch's order (alike on all processes)
        self.images = self.labels = None
        self.batch = self.steps_per_epoch = 0
        self.ada: AdaptiveAugment | None = None  # set by attach when model.ada_target > 0

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                              enabled=self.amp_dtype is not None)

    def _latent(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.g.latent_size, device=self.device)

    def d_step(self, real: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Hinge / non-saturating D loss on augmented real + fake (+ R1 on the reals)."""
        with torch.no_grad(), self._autocast():
            fake = self.g(self._latent(len(y)), y)
        r1 = self.config.r1_gamma
        real = real.detach().requires_grad_(r1 > 0)
        with self._autocast():
            # One D pass over real and fake together (a bigger batch runs faster); minibatch
            # statistics groups must divide the batch so that none mixes real and fake.
            images = self.augment(torch.cat([real, fake.to(real.dtype)]), torch.cat([y, y]))
            logits = self.train_d(images, torch.cat([y, y]), group=_group(len(y)))
            logits_real, logits_fake = logits.float().chunk(2)
            loss = d_loss(self.config.loss, logits_real, logits_fake)
        out = {"loss_d": loss.detach(), "d_real": logits_real.detach().mean(),
               "d_fake": logits_fake.detach().mean()}
        if self.ada is not None:
            out["ada_p"] = torch.tensor(self.ada.mean_p(), device=self.device)  # p this step used
            self.ada.observe(logits_real, y)
        if r1 > 0:
            penalty = r1_penalty(logits_real, real)
            loss = loss + 0.5 * r1 * penalty
            out["r1"] = penalty.detach()
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler_d.scale(loss).backward()
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()
        return out

    def g_step(self, y: torch.Tensor) -> dict[str, torch.Tensor]:
        self.d.requires_grad_(False)  # no D weight gradients needed here: saves a third of D's backward
        half = len(y) // 2
        y = torch.cat([y[:half], y[:half], y[2 * half:]])  # pairs of equal class for mode seeking
        z = self._latent(len(y))
        with self._autocast():
            fake = self.train_g(z, y)
            logits = self.d(self.augment(fake, y), y, group=_group(len(y)))
            adversarial = g_loss(self.config.loss, logits.float())
            diversity = mode_seeking(fake.float(), z)
            loss = adversarial + self.config.mode_seeking * diversity
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(loss).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self.d.requires_grad_(True)
        return {"loss_g": adversarial.detach(), "mode_seeking": diversity.detach()}

    # -- the engine's backend ----------------------------------------------------------------

    def attach(self, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> Budget:
        """Train on ``images`` ``(N, 1, *spatial)`` with class ids ``labels``, drawing epoch
        orders from ``generator``; returns the budget ``train`` asks for."""
        # One tensor, on the training device when that is a GPU: batches are index sets into it.
        self.images = images.to(self.device, non_blocking=True)
        self.labels = labels.to(self.device, non_blocking=True)
        self.rng = generator
        n, world = len(images), self.dist.world_size
        # Over all processes, each taking an equal slice (DDP weighs every process's gradient alike).
        batch = min(self.train.batch_size, n) // world * world
        if batch // world < 2:
            raise UserError(f"batch size {batch} leaves fewer than 2 images per process for "
                            f"{world} processes: raise --batch-size or lower --nproc_per_node")
        self.batch, self.steps_per_epoch = batch, max(1, n // batch)
        if self.config.ada_target > 0 and isinstance(self.augment, DiffAugment):
            per_class = self.num_classes if self.config.ada_per_class else None
            self.ada = AdaptiveAugment(self.augment, self.config.ada_target, self.dist, per_class)
        return plan_rounds(batch // world, self.steps_per_epoch, self.train)

    def train_mode(self) -> None:
        self.train_g.train()
        self.train_d.train()

    def step(self) -> dict[str, torch.Tensor]:
        """A D step, then a G step on the same classes, on this process's slice of the next batch."""
        at = self.position
        if at.order is None or at.next_index >= self.steps_per_epoch:  # a new epoch
            at.order, at.next_index = torch.randperm(len(self.images), generator=self.rng), 0
        i, rank, world = at.next_index, self.dist.rank, self.dist.world_size
        idx = at.order[i * self.batch:(i + 1) * self.batch][rank::world].to(self.device)
        at.next_index += 1
        losses = self.d_step(self.images[idx], self.labels[idx]) | self.g_step(self.labels[idx])
        update_ema(self.g_ema, self.g, self.config.ema_decay, self.step_count)
        self.step_count += 1
        return losses

    def snapshot(self) -> torch.nn.Module:
        return self.g_ema

    def finish(self, chosen: Mapping[str, torch.Tensor] | None) -> None:
        # Each process's BatchNorm running statistics came from its own shards: take rank 0's,
        # so every process holds (and rank 0 saves) one model.
        distributed.broadcast_buffers(self.g, self.dist)
        distributed.broadcast_buffers(self.g_ema, self.dist)
        if chosen is not None:
            self.g_ema.load_state_dict(chosen)
        self.g_ema.eval()

    def _stateful(self) -> dict[str, Any]:
        return {"generator": self.g, "discriminator": self.d, "generator_ema": self.g_ema,
                "opt_g": self.opt_g, "opt_d": self.opt_d, "scaler_g": self.scaler_g, "scaler_d": self.scaler_d}

    def state_dict(self) -> dict[str, Any]:
        state = {name: obj.state_dict() for name, obj in self._stateful().items()}
        position = {"next_index": self.position.next_index, "step_count": self.step_count}
        if self.ada is not None:
            position["ada"] = self.ada.state_dict()
        if self.position.order is not None:
            position["order"] = self.position.order
        return state | {"position": position}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, obj in self._stateful().items():
            obj.load_state_dict(state[name])
        position = state["position"]
        self.step_count = int(position["step_count"])
        self.position = Position(position.get("order"), int(position["next_index"]))
        if self.ada is not None:
            self.ada.load_state_dict(position["ada"])

    def describe(self, epochs: float | None) -> str:
        about = f"about {epochs:.0f} epochs of " if epochs is not None else ""
        return f"{about}{len(self.images)} images, batch {self.batch}"


def _group(batch: int, largest: int = 4) -> int:
    return max(g for g in range(1, largest + 1) if batch % g == 0)


def memory_format(spatial_dims: int) -> torch.memory_format:
    return torch.channels_last if spatial_dims == 2 else torch.channels_last_3d

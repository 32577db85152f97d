"""The conditional GAN training loop: one D step and one G step per batch, EMA, checkpoints.

Checkpoints hold the whole state (weights, optimizers, RNGs, position in the epoch), so a
resumed fit ends exactly where an uninterrupted one with the same seed would.

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

import datetime
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import torch
from tqdm.auto import tqdm

from synthgen import distributed
from synthgen.config import ImageModelConfig, TrainConfig
from synthgen.distributed import DistInfo
from synthgen.errors import UserError
from synthgen.interrupt import stop_requests
from synthgen.models.imaging.diffaug import DiffAugment
from synthgen.models.imaging.ema import make_ema, update_ema
from synthgen.models.imaging.losses import d_loss, g_loss, mode_seeking, r1_penalty
from synthgen.models.imaging.networks import build_networks
from synthgen.runtime import autocast_dtype, progress_disabled

BETAS = (0.5, 0.999)  # Adam betas usual for DCGAN-style G with BatchNorm


def training_autocast(train: TrainConfig, device: torch.device) -> torch.dtype | None:
    """What the trainer autocasts to: bf16, or fp16 with loss scaling where a GPU lacks bf16."""
    return autocast_dtype(train.precision, device, fp16_fallback=True)


@dataclass
class Position:
    """Where an interrupted epoch stopped: its order, the next batch, this process's loss sums."""

    order: torch.Tensor
    next_index: int = 0
    sums: dict[str, torch.Tensor] = field(default_factory=dict)


class TrainingCheckpoints(Protocol):
    """What the loop needs of ``checkpoint.TrainingCheckpoints`` (which imports this module)."""

    def save(self, position: Position | None = None) -> object: ...


class GanTrainer:
    """Owns G, D, G-EMA and their optimizers; ``run`` trains for a number of epochs.

    ``dist`` says which process this is and its device (``DistInfo(device=...)`` for one
    process). Build the trainer with the same global seed on every process: the networks
    start equal, and DDP keeps them so.
    """

    def __init__(self, config: ImageModelConfig, train: TrainConfig, num_classes: int, *,
                 dist: DistInfo, augment: DiffAugment | None = None):
        self.config, self.train, self.dist, self.device = config, train, dist, dist.device
        self.augment = augment if (augment is not None and config.diffaug) else (lambda x: x)
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
        # Loop state, all of it saved in checkpoints.
        self.step = 0
        self.epoch = 0
        self.elapsed = 0.0  # training seconds so far, over interruptions (for max_minutes)
        self.history: dict[str, list[float]] = {}
        self.rng: torch.Generator | None = None  # draws each epoch's order (alike on all processes)
        self.position: Position | None = None  # inside an interrupted epoch

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                              enabled=self.amp_dtype is not None)

    def _latent(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim, device=self.device)

    def d_step(self, real: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Hinge / non-saturating D loss on augmented real + fake (+ R1 on the reals)."""
        with torch.no_grad(), self._autocast():
            fake = self.g(self._latent(len(y)), y)
        r1 = self.config.r1_gamma
        real = real.detach().requires_grad_(r1 > 0)
        with self._autocast():
            # One D pass over real and fake together (a bigger batch runs faster); minibatch
            # statistics groups must divide the batch so that none mixes real and fake.
            images = self.augment(torch.cat([real, fake.to(real.dtype)]))
            logits = self.train_d(images, torch.cat([y, y]), group=_group(len(y)))
            logits_real, logits_fake = logits.float().chunk(2)
            loss = d_loss(self.config.loss, logits_real, logits_fake)
        out = {"loss_d": loss.detach(), "d_real": logits_real.detach().mean(),
               "d_fake": logits_fake.detach().mean()}
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
            logits = self.d(self.augment(fake), y, group=_group(len(y)))
            adversarial = g_loss(self.config.loss, logits.float())
            diversity = mode_seeking(fake.float(), z)
            loss = adversarial + self.config.mode_seeking * diversity
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(loss).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self.d.requires_grad_(True)
        return {"loss_g": adversarial.detach(), "mode_seeking": diversity.detach()}

    def run(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        epochs: int | None = None,
        max_steps: int | None = None,
        max_minutes: float | None = None,
        callback: Callable[[int, Mapping[str, float]], None] | None = None,
        checkpoints: TrainingCheckpoints | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, list[float]]:
        """Train ``images`` ``(N, 1, *spatial)`` (class ids ``labels``) for ``max_steps``
        optimizer steps, or ``epochs`` passes, ending early once ``max_minutes`` of training
        (summed over interruptions) have passed; the last epoch may be partial.

        A trainer restored from a checkpoint continues from where that checkpoint stopped.
        ``checkpoints`` saves every ``train.checkpoint_every`` epochs and on Ctrl-C / SIGTERM:
        the current step finishes, a checkpoint is written, and KeyboardInterrupt propagates.
        """
        # --- data: one tensor, on the training device when that is a GPU
        images = images.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        n, world = len(images), self.dist.world_size
        # Over all processes, each taking an equal slice (DDP weighs every process's gradient alike).
        batch = min(self.train.batch_size, n) // world * world
        if batch // world < 2:
            raise UserError(f"batch size {batch} leaves fewer than 2 images per process for "
                            f"{world} processes: raise --batch-size or lower --nproc_per_node")
        steps = max(1, n // batch)
        budget = Budget(max_steps or steps * (epochs or 1), max_minutes, self.elapsed)
        budget.start_step = self.step
        epochs = math.ceil(budget.total / steps)
        self._announce(budget, n, batch, steps)
        if self.rng is None:
            self.rng = generator if generator is not None else torch.Generator().manual_seed(self.train.seed)
        every = self.train.checkpoint_every if checkpoints is not None else 0
        bar = tqdm(total=epochs, initial=self.epoch, desc="fit image GAN", unit="epoch",
                   file=sys.stderr, leave=False,
                   disable=progress_disabled(self.train.progress and self.dist.is_main))
        self.train_g.train()
        self.train_d.train()
        with stop_requests() as stop:
            for epoch in range(self.epoch + 1, epochs + 1):
                # --- one pass in a random order (or the rest of an interrupted one)
                at = self.position or Position(torch.randperm(n, generator=self.rng))
                self.position = None
                first = at.next_index
                stopping, done = self._pass(at, images, labels, batch, steps, stop, checkpoints, budget)
                # --- epoch end: mean over steps and processes, record, report, checkpoint
                self.epoch = epoch
                self.elapsed = budget.elapsed()
                means = distributed.mean_over_processes(at.sums, done, self.dist)
                means["step"] = float(self.step)
                for key, value in means.items():
                    self.history.setdefault(key, []).append(value)
                bar.update(1)
                bar.set_postfix(loss_d=f"{means['loss_d']:.3f}", loss_g=f"{means['loss_g']:.3f}")
                if checkpoints is not None and (stopping or (every and epoch % every == 0)):
                    checkpoints.save()  # before the callback: what it reports is on disk
                if callback is not None:
                    callback(epoch, means)
                if stopping:
                    raise KeyboardInterrupt
                if budget.spent(self.step):
                    break
        bar.close()
        # Each process's BatchNorm running statistics came from its own shards: take rank 0's,
        # so every process holds (and rank 0 saves) one model.
        distributed.broadcast_buffers(self.g, self.dist)
        distributed.broadcast_buffers(self.g_ema, self.dist)
        return dict(self.history)

    def _pass(self, at: Position, images, labels, batch: int, steps: int, stop,
              checkpoints: TrainingCheckpoints | None, budget: Budget) -> tuple[bool, int]:
        """Steps ``at.next_index`` .. ``steps`` of an epoch, or fewer once the budget is spent;
        returns (a stop was requested on the last step, steps counted in ``at.sums``). A stop
        before that saves ``at`` (with ``checkpoints``) and raises."""
        rank, world = self.dist.rank, self.dist.world_size
        stopping = False
        i = at.next_index - 1
        for i in range(at.next_index, steps):
            idx = at.order[i * batch:(i + 1) * batch][rank::world].to(self.device)
            real, y = images[idx], labels[idx]
            # --- a D step, then a G step on the same classes
            losses = self.d_step(real, y) | self.g_step(y)
            # --- generator EMA, used for sampling
            update_ema(self.g_ema, self.g, self.config.ema_decay, self.step)
            self.step += 1
            for key, value in losses.items():
                at.sums[key] = at.sums.get(key, 0.0) + value
            # all processes agree on stopping, or DDP's next collective would hang
            stopping = distributed.any_process(stop.requested, self.dist)
            spent = budget.spent(self.step, self.dist)
            if stopping and i + 1 < steps and not spent:
                if checkpoints is not None:
                    checkpoints.save(Position(at.order, i + 1, at.sums))
                raise KeyboardInterrupt
            if self.step == budget.start_step + ESTIMATE_AFTER:
                self._estimate(budget)
            if spent:
                break
        return stopping, i + 1

    def _announce(self, budget: Budget, n: int, batch: int, steps: int) -> None:
        if self.dist.is_main and self.train.progress and self.step < budget.total:
            limit = f", at most {budget.minutes:g} min" if budget.minutes else ""
            print(f"training budget: {budget.total} steps (about {budget.total / steps:.0f} "
                  f"epochs of {n} images, batch {batch}){limit}", file=sys.stderr, flush=True)

    def _estimate(self, budget: Budget) -> None:
        if self.dist.is_main and self.train.progress:
            per_step = (budget.elapsed() - budget.start_elapsed) / ESTIMATE_AFTER
            left = per_step * (budget.total - self.step)
            if budget.minutes:
                left = min(left, budget.minutes * 60 - budget.elapsed())
            end = datetime.datetime.now() + datetime.timedelta(seconds=max(left, 0))
            print(f"{per_step:.2f} s/step: expected end at {end:%H:%M} (in {left / 60:.1f} min)",
                  file=sys.stderr, flush=True)


ESTIMATE_AFTER = 5  # steps timed before the expected end is printed


class Budget:
    """Steps to reach, and the wall-clock allowance summed over interruptions."""

    def __init__(self, total: int, minutes: float | None, elapsed: float):
        self.total, self.minutes, self.start_elapsed = total, minutes, elapsed
        self.start_step: int | None = None
        self._t0 = time.monotonic()

    def elapsed(self) -> float:
        return self.start_elapsed + time.monotonic() - self._t0

    def spent(self, step: int, dist: DistInfo | None = None) -> bool:
        over = bool(self.minutes) and self.elapsed() > 60 * self.minutes
        if dist is not None and self.minutes:  # every process must stop on the same step
            over = distributed.any_process(over, dist)
        return step >= self.total or over


def _group(batch: int, largest: int = 4) -> int:
    return max(g for g in range(1, largest + 1) if batch % g == 0)


def memory_format(spatial_dims: int) -> torch.memory_format:
    return torch.channels_last if spatial_dims == 2 else torch.channels_last_3d

"""The conditional GAN training loop: one D step and one G step per batch, EMA, checkpoints.

The whole preprocessed data set is one tensor (on the training device when it is CUDA);
batches are random index sets into it, so there is no DataLoader and no per-item Python.
On CUDA the forward passes run under autocast (bf16 where supported, else fp16 with a
GradScaler); on CPU in fp32 eager, which measured fastest there (DESIGN.md section 7).
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from tqdm.auto import tqdm

from synthgen.config import ImageModelConfig, TrainConfig
from synthgen.models.imaging.checkpoint import save_checkpoint
from synthgen.models.imaging.diffaug import DiffAugment
from synthgen.models.imaging.ema import make_ema, update_ema
from synthgen.models.imaging.losses import d_loss, g_loss, r1_penalty
from synthgen.models.imaging.networks import build_networks

BETAS = (0.5, 0.999)  # Adam betas usual for DCGAN-style G with BatchNorm


class GanTrainer:
    """Owns G, D, G-EMA and their optimizers; ``run`` trains for a number of epochs."""

    def __init__(self, config: ImageModelConfig, train: TrainConfig, num_classes: int, *,
                 device: torch.device, augment: DiffAugment | None = None):
        self.config, self.train, self.device = config, train, device
        self.augment = augment if (augment is not None and config.diffaug) else (lambda x: x)
        # channels_last: oneDNN's convolutions ran 2-4x faster with it on this CPU (bench_imaging).
        self.memory_format = memory_format(config.spatial_dims)
        self.g, self.d = (net.to(device, memory_format=self.memory_format)
                          for net in build_networks(config, num_classes))
        self.g_ema = make_ema(self.g)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=config.generator_lr, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=config.discriminator_lr, betas=BETAS)
        self.amp_dtype = _amp_dtype(device)
        fp16 = self.amp_dtype == torch.float16
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=fp16)
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=fp16)
        self.step = 0
        self.epoch = 0

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
            # One D pass over real and fake together: a bigger batch runs faster.
            logits = self.d(self.augment(torch.cat([real, fake.to(real.dtype)])), torch.cat([y, y]))
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
        with self._autocast():
            logits = self.d(self.augment(self.g(self._latent(len(y)), y)), y)
            loss = g_loss(self.config.loss, logits.float())
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(loss).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self.d.requires_grad_(True)
        return {"loss_g": loss.detach()}

    def run(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        epochs: int,
        callback: Callable[[int, Mapping[str, float]], None] | None = None,
        checkpoint_dir: Path | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, list[float]]:
        """Train ``epochs`` passes over ``images`` ``(N, 1, *spatial)`` with class ids ``labels``."""
        # --- data: one tensor, on the training device when that is a GPU
        images = images.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        n = len(images)
        batch = min(self.train.batch_size, n)
        steps = max(1, n // batch)
        history: dict[str, list[float]] = collections.defaultdict(list)
        bar = tqdm(range(self.epoch + 1, self.epoch + epochs + 1), desc="fit image GAN", unit="epoch",
                   file=sys.stderr, disable=not self.train.progress, leave=False)
        self.g.train()
        self.d.train()
        for epoch in bar:
            # --- one pass in a random order, a D step then a G step per batch
            order = torch.randperm(n, generator=generator).to(self.device)
            sums: dict[str, torch.Tensor] = {}
            for i in range(steps):
                idx = order[i * batch:(i + 1) * batch]
                real, y = images[idx], labels[idx]
                losses = self.d_step(real, y) | self.g_step(y)
                # --- generator EMA, used for sampling
                update_ema(self.g_ema, self.g, self.config.ema_decay, self.step)
                self.step += 1
                for key, value in losses.items():
                    sums[key] = sums.get(key, 0.0) + value
            # --- epoch end: record, report, checkpoint
            self.epoch = epoch
            means = {key: float(total) / steps for key, total in sums.items()}
            for key, value in means.items():
                history[key].append(value)
            bar.set_postfix(loss_d=f"{means['loss_d']:.3f}", loss_g=f"{means['loss_g']:.3f}")
            if callback is not None:
                callback(epoch, means)
            every = self.train.checkpoint_every
            if checkpoint_dir is not None and every and epoch % every == 0:
                self.save_checkpoint(Path(checkpoint_dir) / f"epoch-{epoch:04d}", history)
        bar.close()
        return dict(history)

    def save_checkpoint(self, folder: Path, history: Mapping[str, list[float]]) -> Path:
        return save_checkpoint(
            folder,
            modules={"generator": self.g, "discriminator": self.d, "generator_ema": self.g_ema},
            optimizers={"opt_g": self.opt_g, "opt_d": self.opt_d},
            info={"epoch": self.epoch, "step": self.step, "history": dict(history),
                  "model": self.config.model_dump(mode="json"),
                  "train": self.train.model_dump(mode="json")},
        )


def memory_format(spatial_dims: int) -> torch.memory_format:
    return torch.channels_last if spatial_dims == 2 else torch.channels_last_3d


def _amp_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision on CUDA only: bf16 where the GPU has it, else fp16 (with GradScaler)."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

"""The conditional GAN training loop: one D step and one G step per batch, EMA, checkpoints.

Checkpoints hold the whole state (weights, optimizers, RNGs, position in the epoch), so a
resumed fit ends exactly where an uninterrupted one with the same seed would.

The whole preprocessed data set is one tensor (on the training device when it is CUDA);
batches are random index sets into it, so there is no DataLoader and no per-item Python.
On CUDA the forward passes run under autocast (bf16 where supported, else fp16 with a
GradScaler); on CPU in fp32 eager, which measured fastest there (DESIGN.md section 7).
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from tqdm.auto import tqdm

from synthgen.config import ImageModelConfig, TrainConfig
from synthgen.errors import UserError
from synthgen.models.imaging.checkpoint import (
    PREFIX,
    folder_name,
    load_checkpoint,
    restore_optimizer,
    save_checkpoint,
    take,
)
from synthgen.models.imaging.diffaug import DiffAugment
from synthgen.models.imaging.ema import make_ema, update_ema
from synthgen.models.imaging.losses import d_loss, g_loss, mode_seeking, r1_penalty
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
        # Loop state, all of it saved in checkpoints.
        self.step = 0
        self.epoch = 0
        self.history: dict[str, list[float]] = collections.defaultdict(list)
        self.rng: torch.Generator | None = None  # draws each epoch's order
        self.position = None  # (order, next batch index, loss sums) inside an interrupted epoch

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
            logits = self.d(images, torch.cat([y, y]), group=_group(len(y)))
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
            fake = self.g(z, y)
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
        epochs: int,
        callback: Callable[[int, Mapping[str, float]], None] | None = None,
        checkpoint_dir: Path | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, list[float]]:
        """Train until ``epochs`` passes over ``images`` ``(N, 1, *spatial)`` (class ids ``labels``).

        A trainer restored from a checkpoint continues from where that checkpoint stopped.
        On Ctrl-C the current step finishes, a checkpoint is written, and KeyboardInterrupt
        propagates.
        """
        # --- data: one tensor, on the training device when that is a GPU
        images = images.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        n = len(images)
        batch = min(self.train.batch_size, n)
        steps = max(1, n // batch)
        if self.rng is None:
            self.rng = generator if generator is not None else torch.Generator().manual_seed(self.train.seed)
        bar = tqdm(total=epochs, initial=self.epoch, desc="fit image GAN", unit="epoch",
                   file=sys.stderr, disable=not self.train.progress, leave=False)
        self.g.train()
        self.d.train()
        with _sigint_flag() as stop:
            for epoch in range(self.epoch + 1, epochs + 1):
                # --- one pass in a random order (or the rest of an interrupted one)
                order, first, sums = self.position or (torch.randperm(n, generator=self.rng), 0, {})
                self.position = None
                for i in range(first, steps):
                    idx = order[i * batch:(i + 1) * batch].to(self.device)
                    real, y = images[idx], labels[idx]
                    # --- a D step, then a G step on the same classes
                    losses = self.d_step(real, y) | self.g_step(y)
                    # --- generator EMA, used for sampling
                    update_ema(self.g_ema, self.g, self.config.ema_decay, self.step)
                    self.step += 1
                    for key, value in losses.items():
                        sums[key] = sums.get(key, 0.0) + value
                    if stop.requested:
                        if checkpoint_dir is not None:
                            self.save_checkpoint(checkpoint_dir, position=(order, i + 1, sums))
                        raise KeyboardInterrupt
                # --- epoch end: record, report, checkpoint
                self.epoch = epoch
                means = {key: float(total) / steps for key, total in sums.items()}
                for key, value in means.items():
                    self.history[key].append(value)
                bar.update(1)
                bar.set_postfix(loss_d=f"{means['loss_d']:.3f}", loss_g=f"{means['loss_g']:.3f}")
                if callback is not None:
                    callback(epoch, means)
                every = self.train.checkpoint_every
                if checkpoint_dir is not None and every and epoch % every == 0:
                    self.save_checkpoint(checkpoint_dir)
        bar.close()
        return dict(self.history)

    # -- checkpoints -------------------------------------------------------------------------------

    def save_checkpoint(self, folder: Path, position=None) -> Path:
        """Write the full state to ``folder/step-<step>/``; keep only the newest two there."""
        extra = {"rng.torch": torch.get_rng_state(), "rng.loop": self.rng.get_state()}
        if self.device.type == "cuda":
            extra["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        info = {"epoch": self.epoch, "step": self.step, "history": dict(self.history),
                "model": self.config.model_dump(mode="json"), "train": self.train.model_dump(mode="json"),
                "scalers": {"g": self.scaler_g.state_dict(), "d": self.scaler_d.state_dict()}}
        if position is not None:  # mid-epoch: where to pick up the interrupted pass
            order, next_index, sums = position
            extra["loop.order"] = order
            info["position"] = {"next_index": next_index, "sums": {k: float(v) for k, v in sums.items()}}
        path = save_checkpoint(
            Path(folder) / folder_name(self.step),
            modules={"generator": self.g, "discriminator": self.d, "generator_ema": self.g_ema},
            optimizers={"opt_g": self.opt_g, "opt_d": self.opt_d}, extra=extra, info=info,
        )
        for old in sorted(p for p in Path(folder).iterdir() if p.name.startswith(PREFIX))[:-2]:
            shutil.rmtree(old, ignore_errors=True)
        return path

    def restore(self, folder: Path) -> None:
        """Continue from a checkpoint written by ``save_checkpoint`` with the same settings."""
        tensors, doc = load_checkpoint(folder)
        if doc.get("model") != self.config.model_dump(mode="json"):
            raise UserError(f"{folder}: checkpoint was trained with other model settings; "
                            "use the same config, or delete the checkpoints to start afresh")
        for name, module in (("generator", self.g), ("discriminator", self.d), ("generator_ema", self.g_ema)):
            module.load_state_dict(take(name, tensors), strict=True)
        restore_optimizer("opt_g", self.opt_g, tensors, doc["param_groups"]["opt_g"])
        restore_optimizer("opt_d", self.opt_d, tensors, doc["param_groups"]["opt_d"])
        self.scaler_g.load_state_dict(doc["scalers"]["g"])
        self.scaler_d.load_state_dict(doc["scalers"]["d"])
        torch.set_rng_state(tensors["rng.torch"])
        self.rng = torch.Generator()
        self.rng.set_state(tensors["rng.loop"])
        if "rng.cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        self.epoch, self.step = int(doc["epoch"]), int(doc["step"])
        self.history = collections.defaultdict(list, {k: list(v) for k, v in doc["history"].items()})
        if "position" in doc:
            pos = doc["position"]
            sums = {k: torch.tensor(v) for k, v in pos["sums"].items()}
            self.position = (tensors["loop.order"], int(pos["next_index"]), sums)


class _Flag:
    requested = False


@contextlib.contextmanager
def _sigint_flag():
    """First Ctrl-C asks the loop to stop after the current step; a second one stops at once."""
    flag = _Flag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _group(batch: int, largest: int = 4) -> int:
    return max(g for g in range(1, largest + 1) if batch % g == 0)


def memory_format(spatial_dims: int) -> torch.memory_format:
    return torch.channels_last if spatial_dims == 2 else torch.channels_last_3d


def _amp_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision on CUDA only: bf16 where the GPU has it, else fp16 (with GradScaler)."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

"""Building the conditional GAN and its WGAN-GP training loop.

``build_gan`` is the one place the modules and optimizers are made; ``distribute`` wraps them
in DistributedDataParallel when torchrun started several processes. ``train_gan`` runs the loop
from a ``Progress`` (fresh, or restored from a checkpoint) and hands it to ``save`` whenever a
checkpoint is due; the loop takes its data only through the ``TrainingSampler`` passed in.

Under DDP every process draws its own ``batch / world_size`` rows per step from its own seeded
stream (training-by-sampling draws rows with replacement, so the shards are independent draws,
not a partition of the table); DDP averages the gradients, so the processes stay identical.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from synthgen import distributed
from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.distributed import DistInfo
from synthgen.interrupt import stop_requests
from synthgen.models.base import TrainCallback
from synthgen.models.tabular.networks import Discriminator, Generator, gradient_penalty
from synthgen.models.tabular.sampler import ConditionCoder, Conditions, TrainingSampler
from synthgen.models.tabular.spans import SpanLayout
from synthgen.runtime import autocast_dtype, progress_disabled

ADAM_BETAS = (0.5, 0.9)  # CTGAN's
_ADAM_KW = {"fused": True}  # one kernel per step instead of one per parameter (CPU and CUDA)
SINGLE_PROCESS = DistInfo()


@dataclass
class GanParts:
    generator: nn.Module
    critic: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    # What the loop calls forward on: DDP wrappers under torchrun, else the modules themselves.
    # Checkpoints and the saved model always take the plain modules above.
    train_generator: nn.Module | None = None
    train_critic: nn.Module | None = None

    def __post_init__(self) -> None:
        if self.train_generator is None:
            self.train_generator = self.generator
        if self.train_critic is None:
            self.train_critic = self.critic


@dataclass
class RealRows:
    """The encoded training table on the training device (compact: scalars + block codes)."""

    scalars: torch.Tensor
    codes: torch.Tensor

    def dense(self, layout: SpanLayout, rows: torch.Tensor) -> torch.Tensor:
        return layout.dense(self.scalars[rows], self.codes[rows])


@dataclass
class Progress:
    """Where training stands: what a checkpoint stores and a resumed run starts from."""

    epoch: int = 0  # completed epochs
    step: int = 0  # steps done into the next epoch (non-zero only when stopped by Ctrl-C)
    global_step: int = 0  # steps done in all
    # this process's loss sums so far in that epoch, and the finished epochs' means
    totals: dict[str, torch.Tensor] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)


def make_generator(layout: SpanLayout, coder: ConditionCoder, model: TabularModelConfig) -> Generator:
    return Generator(model.embedding_dim + coder.dim, list(model.generator_dims), layout.dim)


def build_gan(
    layout: SpanLayout, coder: ConditionCoder, model: TabularModelConfig, device: torch.device
) -> GanParts:
    generator = make_generator(layout, coder, model).to(device)
    critic = Discriminator(layout.dim + coder.dim, list(model.discriminator_dims), model.pac).to(device)
    return GanParts(
        generator=generator,
        critic=critic,
        opt_g=torch.optim.Adam(generator.parameters(), lr=model.generator_lr, betas=ADAM_BETAS,
                               weight_decay=model.weight_decay, **_ADAM_KW),
        opt_d=torch.optim.Adam(critic.parameters(), lr=model.discriminator_lr, betas=ADAM_BETAS,
                               weight_decay=model.weight_decay, **_ADAM_KW),
    )


def distribute(parts: GanParts, dist: DistInfo) -> GanParts:
    """Wrap both networks for DistributedDataParallel when several processes train."""
    parts.train_generator = distributed.wrap(parts.generator, dist)
    parts.train_critic = distributed.wrap(parts.critic, dist)
    return parts


def training_autocast(train: TrainConfig, device: torch.device) -> torch.dtype | None:
    """bf16 autocast or fp32: no fp16, whose range WGAN-GP's penalty easily overflows."""
    return autocast_dtype(train.precision, device, fp16_fallback=False)


def batch_size_for(train: TrainConfig, model: TabularModelConfig, world_size: int = 1) -> int:
    """Rows one process draws per step: its share of the batch, in whole PacGAN packs (>= 1)."""
    return max(model.pac, train.batch_size // (model.pac * world_size) * model.pac)


def steps_per_epoch(n_rows: int, batch: int, world_size: int = 1) -> int:
    return max(1, n_rows // (batch * world_size))


def train_gan(
    parts: GanParts,
    sampler: TrainingSampler,
    real: RealRows,
    layout: SpanLayout,
    model: TabularModelConfig,
    train: TrainConfig,
    *,
    generator: torch.Generator,
    callback: TrainCallback | None = None,
    dist: DistInfo = SINGLE_PROCESS,
    progress: Progress | None = None,
    save: Callable[[Progress], object] | None = None,
) -> dict[str, list[float]]:
    """Train until ``train.epochs`` are done; return {loss name: [mean per epoch]}.

    ``save(progress)`` is called on every process every ``train.checkpoint_every`` epochs, and
    at the first step boundary after Ctrl-C / SIGTERM, after which ``KeyboardInterrupt`` is
    raised. Without ``save``, Ctrl-C interrupts as Python always does.
    """
    from tqdm.auto import tqdm

    progress = progress or Progress()
    batch = batch_size_for(train, model, dist.world_size)
    steps = steps_per_epoch(real.scalars.shape[0], batch, dist.world_size)
    amp = training_autocast(train, real.scalars.device)
    step = _Step(parts, sampler, real, layout, model, batch, generator, amp)
    every = train.checkpoint_every if save is not None else 0
    parts.train_generator.train()
    parts.train_critic.train()
    bar = tqdm(range(progress.epoch + 1, train.epochs + 1), desc="tabular GAN", unit="epoch",
               file=sys.stderr, leave=False,
               disable=progress_disabled(train.progress and dist.is_main))
    with stop_requests(enabled=save is not None) as stop:
        for epoch in bar:
            # --- one epoch: losses summed on-device (no per-step sync); a stop request is
            # honoured between steps (all processes agree on it, or DDP would deadlock) ---
            stopping = False
            while progress.step < steps:
                for name, value in step().items():
                    progress.totals[name] = progress.totals.get(name, 0.0) + value.detach()
                progress.step += 1
                progress.global_step += 1
                stopping = save is not None and distributed.any_process(stop.requested, dist)
                if stopping and progress.step < steps:
                    save(progress)
                    raise KeyboardInterrupt
            # --- epoch end: mean over steps and processes, record, checkpoint, report ---
            means = distributed.mean_over_processes(progress.totals, steps, dist)
            progress.epoch, progress.step, progress.totals = epoch, 0, {}
            for name, value in means.items():
                progress.history.setdefault(name, []).append(value)
            if stopping or (every and epoch % every == 0):
                save(progress)
            if callback is not None:
                callback(epoch, means)
            bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()}, refresh=False)
            if stopping:
                raise KeyboardInterrupt
    distributed.broadcast_buffers(parts.generator, dist)  # the BatchNorm statistics rank 0 saves
    parts.generator.eval()
    return progress.history


class _Step:
    """One WGAN-GP step: ``discriminator_steps`` critic updates, then one generator update.

    Under DDP each wrapper runs exactly one forward per backward, the pattern DDP's gradient
    averaging expects: the critic's real+fake scores in one call, the fakes for the critic made
    without autograd. The gradient penalty (a double backward) and the generator's adversarial
    term go through the plain critic: their parameter gradients still land in the same
    backward, where DDP's hooks average them, and no second DDP forward is left hanging.
    """

    def __init__(self, parts, sampler, real, layout, model, batch, generator, amp=None):
        self.parts, self.sampler, self.real, self.layout = parts, sampler, real, layout
        self.coder: ConditionCoder = sampler.coder
        self.model, self.batch, self.rng = model, batch, generator
        self.device = real.scalars.device
        self.amp = amp  # autocast dtype of the networks' forward passes (None: fp32)

    def _autocast(self):
        """The networks' matmuls in ``amp``; activations, losses and the penalty's norm stay fp32."""
        return torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None)

    def __call__(self) -> dict[str, torch.Tensor]:
        for _ in range(self.model.discriminator_steps):
            loss_d, penalty = self._critic_step()
        loss_g, cond_loss = self._generator_step()
        return {"loss_g": loss_g, "loss_d": loss_d, "gradient_penalty": penalty, "cond_loss": cond_loss}

    def _fake(self, cond: Conditions) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.coder.encode(cond)
        z = torch.randn(self.batch, self.model.embedding_dim, generator=self.rng, device=self.device)
        with self._autocast():
            raw = self.parts.train_generator(torch.cat([z, c], dim=1)).float()
        return raw, self.layout.activate(raw, self.rng), c

    def _critic_step(self):
        p = self.parts
        cond, _ = self.sampler.draw(self.batch, self.rng)
        with torch.no_grad():  # the critic's update needs no generator gradients
            _, fake, c_fake = self._fake(cond)
        # Real rows for the same conditions in another order: packs mix conditions alike.
        perm = torch.randperm(self.batch, generator=self.rng, device=self.device)
        cond_real = Conditions(cond.classes[perm], cond.column[perm], cond.value[perm])
        rows = self.sampler.rows_for(cond_real, self.rng)
        cond_real.classes = self.sampler.classes[rows]
        real = torch.cat([self.real.dense(self.layout, rows), self.coder.encode(cond_real)], dim=1)
        fake = torch.cat([fake, c_fake], dim=1)
        # Fake packs first, then real ones: whole packs, as the batch is a multiple of pac.
        with self._autocast():
            scores = p.train_critic(torch.cat([fake, real])).float()
            penalty = gradient_penalty(p.critic, real, fake, self.model.pac, self.rng)
        packs = self.batch // self.model.pac
        loss_d = scores[:packs].mean() - scores[packs:].mean()
        p.opt_d.zero_grad(set_to_none=True)
        (loss_d + self.model.gp_weight * penalty).backward()
        p.opt_d.step()
        return loss_d, penalty

    def _generator_step(self):
        p = self.parts
        cond, _ = self.sampler.draw(self.batch, self.rng)
        raw, fake, c = self._fake(cond)
        p.critic.requires_grad_(False)  # only the generator learns here: skip critic weight grads
        with self._autocast():
            adversarial = -p.critic(torch.cat([fake, c], dim=1)).float().mean()
        p.critic.requires_grad_(True)
        cond_loss = self._condition_loss(raw, cond)
        p.opt_g.zero_grad(set_to_none=True)
        (adversarial + cond_loss).backward()
        p.opt_g.step()
        return adversarial, cond_loss

    def _condition_loss(self, raw: torch.Tensor, cond: Conditions) -> torch.Tensor:
        """Cross-entropy of the generated category against the asked-for one (CTGAN)."""
        if self.coder.n_columns == 0:
            return raw.new_zeros(())
        asked = cond.column < self.coder.n_columns
        blocks = self.coder.column_blocks[cond.column.clamp_max(self.coder.n_columns - 1)]
        target = self.layout.block_offsets[blocks] + cond.value
        logp = self.layout.block_log_softmax(raw)
        picked = logp.gather(1, target[:, None]).squeeze(1)
        return -(picked * asked).sum() / raw.shape[0]

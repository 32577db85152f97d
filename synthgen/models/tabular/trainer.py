"""Building the conditional GAN and its WGAN-GP training loop.

``build_gan`` is the one place the modules and optimizers are made, so that a distributed
wrapper can wrap ``parts.generator`` / ``parts.critic`` before ``train_gan`` runs; the loop
takes its data only through the ``TrainingSampler`` passed in (a sharded sampler fits there).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
from torch import nn

from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.models.base import TrainCallback
from synthgen.models.tabular.networks import Discriminator, Generator, gradient_penalty
from synthgen.models.tabular.sampler import ConditionCoder, Conditions, TrainingSampler
from synthgen.models.tabular.spans import SpanLayout

ADAM_BETAS = (0.5, 0.9)  # CTGAN's
_ADAM_KW = {"fused": True}  # one kernel per step instead of one per parameter (CPU and CUDA)


@dataclass
class GanParts:
    generator: nn.Module
    critic: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer


@dataclass
class RealRows:
    """The encoded training table on the training device (compact: scalars + block codes)."""

    scalars: torch.Tensor
    codes: torch.Tensor

    def dense(self, layout: SpanLayout, rows: torch.Tensor) -> torch.Tensor:
        return layout.dense(self.scalars[rows], self.codes[rows])


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


def batch_size_for(train: TrainConfig, model: TabularModelConfig) -> int:
    """The batch size rounded down to whole PacGAN packs (at least one pack)."""
    return max(model.pac, train.batch_size // model.pac * model.pac)


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
) -> dict[str, list[float]]:
    """Train for ``train.epochs``; return {loss name: [mean per epoch]}."""
    from tqdm.auto import tqdm

    batch = batch_size_for(train, model)
    steps = max(1, real.scalars.shape[0] // batch)
    step = _Step(parts, sampler, real, layout, model, batch, generator)
    history: dict[str, list[float]] = {}
    parts.generator.train()
    parts.critic.train()
    bar = tqdm(range(1, train.epochs + 1), desc="tabular GAN", unit="epoch", file=sys.stderr,
               disable=not train.progress, leave=False)
    for epoch in bar:
        # --- one epoch: len(data) / batch steps, losses summed on-device (no per-step sync) ---
        totals: dict[str, torch.Tensor] = {}
        for _ in range(steps):
            for name, value in step().items():
                totals[name] = totals.get(name, 0.0) + value.detach()
        means = {name: float(total) / steps for name, total in totals.items()}
        # --- report ---
        for name, value in means.items():
            history.setdefault(name, []).append(value)
        if callback is not None:
            callback(epoch, means)
        bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()}, refresh=False)
    parts.generator.eval()
    return history


class _Step:
    """One WGAN-GP step: ``discriminator_steps`` critic updates, then one generator update."""

    def __init__(self, parts, sampler, real, layout, model, batch, generator):
        self.parts, self.sampler, self.real, self.layout = parts, sampler, real, layout
        self.coder: ConditionCoder = sampler.coder
        self.model, self.batch, self.rng = model, batch, generator
        self.device = real.scalars.device

    def __call__(self) -> dict[str, torch.Tensor]:
        for _ in range(self.model.discriminator_steps):
            loss_d, penalty = self._critic_step()
        loss_g, cond_loss = self._generator_step()
        return {"loss_g": loss_g, "loss_d": loss_d, "gradient_penalty": penalty, "cond_loss": cond_loss}

    def _fake(self, cond: Conditions) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.coder.encode(cond)
        z = torch.randn(self.batch, self.model.embedding_dim, generator=self.rng, device=self.device)
        raw = self.parts.generator(torch.cat([z, c], dim=1))
        return raw, self.layout.activate(raw, self.rng), c

    def _critic_step(self):
        p = self.parts
        cond, _ = self.sampler.draw(self.batch, self.rng)
        _, fake, c_fake = self._fake(cond)
        # Real rows for the same conditions in another order: packs mix conditions alike.
        perm = torch.randperm(self.batch, generator=self.rng, device=self.device)
        cond_real = Conditions(cond.classes[perm], cond.column[perm], cond.value[perm])
        rows = self.sampler.rows_for(cond_real, self.rng)
        cond_real.classes = self.sampler.classes[rows]
        real = torch.cat([self.real.dense(self.layout, rows), self.coder.encode(cond_real)], dim=1)
        fake = torch.cat([fake, c_fake], dim=1).detach()
        loss_d = p.critic(fake).mean() - p.critic(real).mean()
        penalty = gradient_penalty(p.critic, real, fake, self.model.pac, self.rng)
        p.opt_d.zero_grad(set_to_none=True)
        (loss_d + self.model.gp_weight * penalty).backward()
        p.opt_d.step()
        return loss_d, penalty

    def _generator_step(self):
        p = self.parts
        cond, _ = self.sampler.draw(self.batch, self.rng)
        raw, fake, c = self._fake(cond)
        adversarial = -p.critic(torch.cat([fake, c], dim=1)).mean()
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

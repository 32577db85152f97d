"""The tabular GAN as a backend of the training engine (``synthgen.models.training``).

``build_gan`` is the one place the modules and optimizers are made; ``distribute`` wraps them
in DistributedDataParallel when torchrun started several processes. ``TabularBackend`` gives
the engine its step (``step.TrainingStep``), snapshots and state; ``plan_budget`` sizes the
batch from the table. The engine runs the loop; the data comes only through the sampler.

Under DDP every process draws its own ``batch / world_size`` rows per step from its own seeded
stream (training-by-sampling draws rows with replacement, so the shards are independent draws,
not a partition of the table); DDP averages the gradients, so the processes stay identical.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from synthgen import distributed
from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.distributed import DistInfo
from synthgen.models.tabular.networks import Classifier, Discriminator, Generator
from synthgen.models.tabular.sampler import ConditionCoder, TrainingSampler
from synthgen.models.tabular.step import TrainingStep
from synthgen.models.tabular.spans import SpanLayout
from synthgen.models.training.budget import Budget, plan_rounds
from synthgen.runtime import autocast_dtype

ADAM_BETAS = (0.5, 0.9)  # CTGAN's
_ADAM_KW = {"fused": True}  # one kernel per step instead of one per parameter (CPU and CUDA)
SINGLE_PROCESS = DistInfo()
DEFAULT_BATCH = 500  # CTGAN's; smaller tables get a quarter of their rows per step


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
    # Exponential moving average of the generator's weights (None: off); sampling uses it.
    ema: nn.Module | None = None
    ema_decay: float = 0.0
    # Auxiliary classifier (row -> class) trained on real rows; None when its weight is 0.
    classifier: nn.Module | None = None
    opt_c: torch.optim.Optimizer | None = None
    train_classifier: nn.Module | None = None

    def __post_init__(self) -> None:
        if self.train_generator is None:
            self.train_generator = self.generator
        if self.train_critic is None:
            self.train_critic = self.critic
        if self.train_classifier is None:
            self.train_classifier = self.classifier

    @torch.no_grad()
    def update_ema(self) -> None:
        if self.ema is not None:
            torch._foreach_lerp_(list(self.ema.parameters()), list(self.generator.parameters()),
                                 1.0 - self.ema_decay)

    @torch.no_grad()
    def sampling_generator(self) -> nn.Module:
        """The generator to sample from now: the EMA weights with the live BatchNorm statistics."""
        if self.ema is None:
            return self.generator
        for mine, live in zip(self.ema.buffers(), self.generator.buffers()):
            mine.copy_(live)
        return self.ema


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
    critic = Discriminator(layout.dim + coder.dim, list(model.discriminator_dims), model.pac,
                           model.critic_dropout).to(device)
    ema = None
    if model.ema_decay > 0:
        ema = copy.deepcopy(generator).eval().requires_grad_(False)
    classifier = opt_c = None
    if model.aux_classifier > 0:
        classifier = Classifier(layout.dim, list(model.discriminator_dims), coder.n_classes).to(device)
        opt_c = torch.optim.Adam(classifier.parameters(), lr=model.discriminator_lr, betas=ADAM_BETAS,
                                 weight_decay=model.weight_decay, **_ADAM_KW)
    return GanParts(
        generator=generator,
        critic=critic,
        opt_g=torch.optim.Adam(generator.parameters(), lr=model.generator_lr, betas=ADAM_BETAS,
                               weight_decay=model.weight_decay, **_ADAM_KW),
        opt_d=torch.optim.Adam(critic.parameters(), lr=model.discriminator_lr, betas=ADAM_BETAS,
                               weight_decay=model.weight_decay, **_ADAM_KW),
        ema=ema, ema_decay=model.ema_decay, classifier=classifier, opt_c=opt_c,
    )


def distribute(parts: GanParts, dist: DistInfo) -> GanParts:
    """Wrap both networks for DistributedDataParallel when several processes train."""
    parts.train_generator = distributed.wrap(parts.generator, dist)
    parts.train_critic = distributed.wrap(parts.critic, dist)
    if parts.classifier is not None:
        parts.train_classifier = distributed.wrap(parts.classifier, dist)
    return parts


def training_autocast(train: TrainConfig, device: torch.device) -> torch.dtype | None:
    """bf16 autocast or fp32: no fp16, whose range WGAN-GP's penalty easily overflows."""
    return autocast_dtype(train.precision, device, fp16_fallback=False)


def plan_budget(n_rows: int, model: TabularModelConfig, train: TrainConfig, world_size: int = 1) -> Budget:
    """The fit's budget (DESIGN.md section 8): ``train.max_steps`` (default 3000) optimizer
    steps, or ``epochs`` passes when asked, or until ``max_minutes`` run out. The batch is
    ``train.batch_size`` (at most the table's rows) or by default a quarter of the rows, at most
    500 (a 343-row table gets ~80-row steps: as good as 340-row ones there, at a third of the
    cost); each process draws its share, in whole PacGAN packs."""
    wanted = train.batch_size or min(DEFAULT_BATCH, n_rows // 4)
    per_process = min(wanted, n_rows) // world_size
    batch = max(model.pac, per_process // model.pac * model.pac)
    return plan_rounds(batch, max(1, n_rows // (batch * world_size)), train)


class TabularBackend:
    """The engine's view of a tabular GAN: its step, its EMA snapshot and its state."""

    def __init__(self, parts: GanParts, sampler: TrainingSampler, real: RealRows, layout: SpanLayout,
                 model: TabularModelConfig, train: TrainConfig, generator: torch.Generator,
                 dist: DistInfo = SINGLE_PROCESS):
        self.parts, self.dist, self.n_rows = parts, dist, real.scalars.shape[0]
        self.budget = plan_budget(self.n_rows, model, train, dist.world_size)
        self.step = TrainingStep(parts, sampler, real, layout, model, self.budget.batch, generator,
                                 training_autocast(train, real.scalars.device))

    def train_mode(self) -> None:
        self.parts.train_generator.train()
        self.parts.train_critic.train()

    def snapshot(self) -> nn.Module:
        return self.parts.sampling_generator()

    def finish(self, chosen: Mapping[str, torch.Tensor] | None) -> None:
        """The chosen snapshot, else the EMA weights (else the last ones), into ``parts.generator``."""
        distributed.broadcast_buffers(self.parts.generator, self.dist)  # the BatchNorm statistics rank 0 saves
        if chosen is None and self.parts.ema is not None:
            chosen = self.parts.sampling_generator().state_dict()
        if chosen is not None:
            self.parts.generator.load_state_dict(chosen)
        self.parts.generator.eval()

    def _stateful(self) -> dict[str, Any]:
        p = self.parts
        named = {"generator": p.generator, "critic": p.critic, "opt_g": p.opt_g, "opt_d": p.opt_d,
                 "ema": p.ema, "classifier": p.classifier, "opt_c": p.opt_c}
        return {name: obj for name, obj in named.items() if obj is not None}

    def state_dict(self) -> dict[str, Any]:
        return {name: obj.state_dict() for name, obj in self._stateful().items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, obj in self._stateful().items():
            obj.load_state_dict(state[name])

    def describe(self, epochs: float | None) -> None:
        """No start line: a table's fit takes minutes, and its progress bar shows the pace."""
        return None

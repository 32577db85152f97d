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

import copy
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from synthgen import distributed
from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.distributed import DistInfo
from synthgen.interrupt import stop_requests
from synthgen.models.base import TrainCallback
from synthgen.models.tabular.networks import Classifier, Discriminator, Generator
from synthgen.models.tabular.sampler import ConditionCoder, TrainingSampler
from synthgen.models.tabular.step import TrainingStep
from synthgen.models.tabular.spans import SpanLayout
from synthgen.runtime import autocast_dtype, progress_disabled

ADAM_BETAS = (0.5, 0.9)  # CTGAN's
_ADAM_KW = {"fused": True}  # one kernel per step instead of one per parameter (CPU and CUDA)
SINGLE_PROCESS = DistInfo()
DEFAULT_BATCH = 500  # CTGAN's; smaller tables get a quarter of their rows per step
ROUNDS = 30  # rounds a budget is cut into: scores, logged losses and checkpoints come per round


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
    best: dict[str, torch.Tensor] | None = None  # weights of the best-scoring snapshot so far

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


@dataclass
class Progress:
    """Where training stands: what a checkpoint stores and a resumed run starts from."""

    epoch: int = 0  # completed epochs
    step: int = 0  # steps done into the next epoch (non-zero only when stopped by Ctrl-C)
    global_step: int = 0  # steps done in all
    # this process's loss sums so far in that epoch, and the finished epochs' means
    totals: dict[str, torch.Tensor] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    best_score: float = -math.inf  # best validation score so far
    stale: int = 0  # scores since the best one
    elapsed: float = 0.0  # training seconds so far, over interruptions (for max_minutes)


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


@dataclass(frozen=True)
class Budget:
    """How long a fit trains, resolved from the config and the table (DESIGN.md §8).

    Training is sized in optimizer steps: ``max_steps`` (default 3000), or ``epochs`` passes
    over the rows when the user asks for them, or until ``max_minutes`` run out. The batch is
    ``train.batch_size`` (at most the table's rows) or by default a quarter of the rows, at most
    500 (a 343-row table gets ~80-row steps: as good as 340-row ones there, at a third of the
    cost); each process draws its share, in whole PacGAN packs. Steps are grouped in rounds of ``round_steps``; after each round the
    generator is scored, losses are logged and checkpoints fall due.
    """

    batch: int
    steps_per_epoch: int
    total_steps: int | None  # None: until max_minutes or early stopping end it
    round_steps: int
    deadline_s: float | None

    @property
    def rounds(self) -> int | None:
        return None if self.total_steps is None else -(-self.total_steps // self.round_steps)

    def steps_in_round(self, round_index: int) -> int:
        """Steps of the 1-based ``round_index`` (the last round takes what is left)."""
        if self.total_steps is None:
            return self.round_steps
        return min(self.round_steps, self.total_steps - (round_index - 1) * self.round_steps)


def plan_budget(n_rows: int, model: TabularModelConfig, train: TrainConfig, world_size: int = 1) -> Budget:
    wanted = train.batch_size or min(DEFAULT_BATCH, n_rows // 4)
    per_process = min(wanted, n_rows) // world_size
    batch = max(model.pac, per_process // model.pac * model.pac)
    steps_per_epoch = max(1, n_rows // (batch * world_size))
    if train.epochs is not None:  # rounds of whole epochs, about 30 of them
        total = train.epochs * steps_per_epoch
        total = min(total, train.max_steps) if train.max_steps else total
        round_steps = steps_per_epoch * -(-train.epochs // ROUNDS)
    else:
        total = train.max_steps
        round_steps = -(-total // ROUNDS) if total else 100
    round_steps = train.validate_every or round_steps
    deadline = train.max_minutes * 60.0 if train.max_minutes else None
    return Budget(batch, steps_per_epoch, total, round_steps, deadline)


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
    scorer: Callable[[nn.Module], dict[str, float]] | None = None,
) -> dict[str, list[float]]:
    """Train for the ``Budget``; leave the chosen generator in ``parts.generator``; return the
    history: {name: [value per round]}, with ``step`` (global step at each round's end), the
    losses' round means and, with a ``scorer``, its validation scores.

    The generator kept is the best-scoring EMA snapshot when a ``scorer`` is given (training
    stops early after ``train.patience`` scores without improvement), else the EMA weights (or
    the last weights when the EMA is off). ``callback(round, metrics)`` after each round (a
    round is ``validate_every`` steps, about 1/30 of the budget, or whole epochs with ``epochs``).
    ``save(progress)`` is called on every process every ``train.checkpoint_every`` rounds, and
    at the first step boundary after Ctrl-C / SIGTERM, after which ``KeyboardInterrupt`` is
    raised. Without ``save``, Ctrl-C interrupts as Python always does.
    """
    from tqdm.auto import tqdm

    progress = progress or Progress()
    budget = plan_budget(real.scalars.shape[0], model, train, dist.world_size)
    step = TrainingStep(parts, sampler, real, layout, model, budget.batch, generator,
                        training_autocast(train, real.scalars.device))
    every = train.checkpoint_every if save is not None else 0
    parts.train_generator.train()
    parts.train_critic.train()
    started = time.monotonic() - progress.elapsed
    bar = tqdm(total=budget.total_steps, initial=progress.global_step, desc="tabular GAN", unit="step",
               file=sys.stderr, leave=False, disable=progress_disabled(train.progress and dist.is_main))
    with stop_requests(enabled=save is not None) as stop:
        round_index = progress.epoch
        while budget.rounds is None or round_index < budget.rounds:
            round_index += 1
            # --- one round: losses summed on-device (no per-step sync); a stop request is
            # honoured between steps (all processes agree on it, or DDP would deadlock) ---
            n_steps = budget.steps_in_round(round_index)
            stopping = _run_steps(step, progress, n_steps, bar, stop, save, dist, started)
            # --- round end: mean losses, score the snapshot, record, checkpoint, report ---
            metrics = _record_round(parts, scorer, progress, round_index, n_steps, dist)
            progress.elapsed = time.monotonic() - started
            finished = _should_finish(progress, budget, train, scorer is not None, dist)
            if stopping or (every and round_index % every == 0):
                save(progress)
            if callback is not None:
                callback(round_index, metrics)
            bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items() if k != "step"}, refresh=False)
            if stopping:
                raise KeyboardInterrupt
            if finished:
                break
    bar.close()
    distributed.broadcast_buffers(parts.generator, dist)  # the BatchNorm statistics rank 0 saves
    _keep_chosen_generator(parts, scorer is not None)
    parts.generator.eval()
    return progress.history


def _run_steps(step, progress: Progress, n_steps: int, bar, stop, save, dist: DistInfo, started: float) -> bool:
    """The round's remaining steps, losses summed on-device (no per-step sync); returns whether
    a stop was requested at its last step. A stop request is honoured between steps (all
    processes agree on it, or DDP would deadlock): mid-round it saves and raises
    ``KeyboardInterrupt``."""
    stopping = False
    while progress.step < n_steps:
        for name, value in step().items():
            progress.totals[name] = progress.totals.get(name, 0.0) + value.detach()
        progress.step += 1
        progress.global_step += 1
        bar.update(1)
        stopping = save is not None and distributed.any_process(stop.requested, dist)
        if stopping and progress.step < n_steps:
            progress.elapsed = time.monotonic() - started
            save(progress)
            raise KeyboardInterrupt
    return stopping


def _record_round(parts: GanParts, scorer, progress: Progress, round_index: int, n_steps: int,
                  dist: DistInfo) -> dict[str, float]:
    """Close the round in ``progress``: its mean losses and scores, appended to the history."""
    means = distributed.mean_over_processes(progress.totals, n_steps, dist)
    progress.epoch, progress.step, progress.totals = round_index, 0, {}
    metrics = {"step": float(progress.global_step), **means, **_score(parts, scorer, progress, dist)}
    for name, value in metrics.items():
        progress.history.setdefault(name, []).append(value)
    return metrics


def _score(parts: GanParts, scorer, progress: Progress, dist: DistInfo) -> dict[str, float]:
    """Score the EMA snapshot (rank 0; every process gets the same numbers); remember the best."""
    if scorer is None:
        return {}
    snapshot = parts.sampling_generator()
    training = snapshot.training  # the live generator (EMA off) samples in eval mode too
    snapshot.eval()
    scores = scorer(snapshot) if dist.is_main else {}
    snapshot.train(training)
    names = ("val_score", "val_detection_auc", "val_tstr")
    local = torch.tensor([scores.get(n, 0.0) for n in names], dtype=torch.float64)
    scores = dict(zip(names, distributed.all_reduce_sum(local, dist).tolist()))
    if scores["val_score"] > progress.best_score:
        progress.best_score, progress.stale = scores["val_score"], 0
        parts.best = {k: v.detach().clone() for k, v in snapshot.state_dict().items()}
    else:
        progress.stale += 1
    return scores


def _should_finish(progress: Progress, budget: Budget, train: TrainConfig, scored: bool, dist: DistInfo) -> bool:
    """Out of time, or no better snapshot for ``patience`` scores (all processes agree)."""
    late = budget.deadline_s is not None and progress.elapsed >= budget.deadline_s
    stalled = scored and train.patience > 0 and progress.stale >= train.patience
    return distributed.any_process(late or stalled, dist)


def _keep_chosen_generator(parts: GanParts, scored: bool) -> None:
    """The best snapshot if one was scored, else the EMA weights, into ``parts.generator``."""
    chosen = parts.best if scored and parts.best is not None else None
    if chosen is None and parts.ema is not None:
        chosen = parts.sampling_generator().state_dict()
    if chosen is not None:
        parts.generator.load_state_dict(chosen)

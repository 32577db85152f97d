"""The training loop: rounds of backend steps, scoring, snapshot selection, checkpoints.

Under torchrun every process runs this loop in step: all agree on stopping (a stop request on
any process, the deadline, early stopping), or DDP's next collective would hang. Snapshots are
scored on rank 0 and the scores shared, so every process keeps the same best snapshot.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from collections.abc import Callable, Mapping

import torch

from synthgen import distributed
from synthgen.config import TrainConfig
from synthgen.distributed import DistInfo
from synthgen.interrupt import stop_requests
from synthgen.models.training.backend import GanBackend, SnapshotScorer
from synthgen.models.training.budget import Budget
from synthgen.models.training.state import Progress
from synthgen.runtime import progress_disabled

ESTIMATE_AFTER = 5  # steps timed before the expected end is printed
RoundCallback = Callable[[int, Mapping[str, float]], None]


def train(
    backend: GanBackend,
    budget: Budget,
    train_config: TrainConfig,
    *,
    dist: DistInfo,
    progress: Progress | None = None,
    scorer: SnapshotScorer | None = None,
    callback: RoundCallback | None = None,
    save: Callable[[Progress], object] | None = None,
    desc: str = "fit GAN",
) -> dict[str, list[float]]:
    """Train ``backend`` for ``budget``; return the history {name: [value per round]}: ``step``
    (the global step at each round's end), the losses' round means and the scorer's figures.

    With a ``scorer`` the generator kept is the best-scoring snapshot, and training stops early
    after ``train_config.patience`` scores without improvement; without one, the EMA weights.
    ``callback(round, metrics)`` runs after each round. ``save(progress)`` is called on every
    process every ``train_config.checkpoint_every`` rounds and at the first step boundary after
    Ctrl-C / SIGTERM, after which ``KeyboardInterrupt`` is raised. Without ``save``, Ctrl-C
    interrupts as Python always does.
    """
    from tqdm.auto import tqdm

    progress = progress or Progress()
    show = train_config.progress and dist.is_main
    every = train_config.checkpoint_every if save is not None else 0
    clock = Clock(progress.elapsed, progress.step)
    about = backend.describe(budget.epochs())
    announce = show and about is not None
    if announce:
        _announce(about, budget, progress)
    backend.train_mode()
    bar = tqdm(total=budget.total_steps, initial=progress.step, desc=desc, unit="step", file=sys.stderr,
               leave=False, disable=progress_disabled(show))
    with stop_requests(enabled=save is not None) as stop:
        while budget.rounds is None or progress.round < budget.rounds:
            n_steps = budget.steps_in_round(progress.round + 1)
            stopping = _run_steps(backend, progress, n_steps, bar, stop, save, dist, clock, budget, announce)
            metrics = _close_round(backend, scorer, progress, n_steps, dist)
            progress.elapsed = clock.elapsed()
            finished = _should_finish(progress, budget, train_config, scorer is not None, dist)
            if stopping or (every and progress.round % every == 0):
                save(progress)  # before the callback: what it reports is on disk
            if callback is not None:
                callback(progress.round, metrics)
            bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items() if k != "step"}, refresh=False)
            if stopping:
                raise KeyboardInterrupt
            if finished:
                break
    bar.close()
    backend.finish(progress.best if scorer is not None else None)
    return progress.history


class Clock:
    """Training seconds over interruptions, and the pace since this run started."""

    def __init__(self, elapsed: float, step: int):
        self.started, self.start_elapsed, self.start_step = time.monotonic() - elapsed, elapsed, step

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _run_steps(backend: GanBackend, progress: Progress, n_steps: int, bar, stop, save,
               dist: DistInfo, clock: Clock, budget: Budget, show: bool) -> bool:
    """The round's remaining steps, losses summed on-device (no per-step sync); returns whether
    a stop was requested at its last step. A stop request is honoured between steps (all
    processes agree on it): mid-round it saves and raises ``KeyboardInterrupt``."""
    stopping = False
    while progress.round_step < n_steps:
        for name, value in backend.step().items():
            progress.totals[name] = progress.totals.get(name, 0.0) + value.detach()
        progress.round_step += 1
        progress.step += 1
        bar.update(1)
        if show and progress.step == clock.start_step + ESTIMATE_AFTER:
            _estimate(clock, budget, progress.step)
        stopping = save is not None and distributed.any_process(stop.requested, dist)
        if stopping and progress.round_step < n_steps:
            progress.elapsed = clock.elapsed()
            save(progress)
            raise KeyboardInterrupt
    return stopping


def _close_round(backend: GanBackend, scorer, progress: Progress, n_steps: int, dist: DistInfo) -> dict[str, float]:
    """The round's mean losses and scores, appended to the history."""
    means = distributed.mean_over_processes(progress.totals, n_steps, dist)
    progress.round, progress.round_step, progress.totals = progress.round + 1, 0, {}
    metrics = {"step": float(progress.step), **means, **_score(backend, scorer, progress, dist)}
    for name, value in metrics.items():
        progress.history.setdefault(name, []).append(value)
    return metrics


def _score(backend: GanBackend, scorer, progress: Progress, dist: DistInfo) -> dict[str, float]:
    """Score the snapshot (rank 0; every process gets the same numbers); remember the best."""
    if scorer is None:
        return {}
    snapshot = backend.snapshot()
    training = snapshot.training
    snapshot.eval()
    scores = scorer(snapshot) if dist.is_main else {}
    snapshot.train(training)
    scores = json.loads(distributed.broadcast_str(json.dumps(scores)))
    if scores["val_score"] > progress.best_score:
        progress.best_score, progress.stale = scores["val_score"], 0
        progress.best = {k: v.detach().clone() for k, v in snapshot.state_dict().items()}
    else:
        progress.stale += 1
    return scores


def _should_finish(progress: Progress, budget: Budget, train: TrainConfig, scored: bool, dist: DistInfo) -> bool:
    """Out of time, or no better snapshot for ``patience`` scores (all processes agree)."""
    late = budget.deadline_s is not None and progress.elapsed >= budget.deadline_s
    stalled = scored and train.patience > 0 and progress.stale >= train.patience
    return distributed.any_process(late or stalled, dist)


def _announce(about: str, budget: Budget, progress: Progress) -> None:
    if budget.total_steps is not None and progress.step >= budget.total_steps:
        return
    steps = "until the time limit" if budget.total_steps is None else f"{budget.total_steps} steps"
    limit = f", at most {budget.deadline_s / 60:g} min" if budget.deadline_s else ""
    print(f"training budget: {steps} ({about}){limit}", file=sys.stderr, flush=True)


def _estimate(clock: Clock, budget: Budget, step: int) -> None:
    per_step = (clock.elapsed() - clock.start_elapsed) / (step - clock.start_step)
    left = per_step * (budget.total_steps - step) if budget.total_steps is not None else float("inf")
    if budget.deadline_s:
        left = min(left, budget.deadline_s - clock.elapsed())
    if left == float("inf"):
        return
    end = datetime.datetime.now() + datetime.timedelta(seconds=max(left, 0))
    print(f"{per_step:.2f} s/step: expected end at {end:%H:%M} (in {left / 60:.1f} min)",
          file=sys.stderr, flush=True)

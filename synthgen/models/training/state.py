"""Training state <-> checkpoint: one ``state_dict``-based format for every backend.

A backend's nested ``state_dict`` (networks, optimizers, loss scalers, its data position) is
split into flat tensors (``state.<path>`` in ``state.safetensors``) and a JSON tree holding
every other value, with ``{"@tensor": name}`` where a tensor was. The loop's own state goes
beside it: per process (``rank<r>.*``) the random streams and the loss sums of an unfinished
round; once, the history, the best snapshot's weights (``best.*``), its score and the patience
count. Nothing is pickled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from synthgen import distributed
from synthgen.distributed import DistInfo
from synthgen.models.checkpoints import Checkpoint, CheckpointDir, mine, per_rank, restore_rng, rng_tensors, under
from synthgen.models.training.backend import GanBackend

TENSOR, ITEMS = "@tensor", "@items"  # JSON markers: a tensor's name; a dict with non-string keys


@dataclass
class Progress:
    """Where training stands: what a checkpoint stores and a resumed run starts from."""

    round: int = 0  # completed rounds
    round_step: int = 0  # steps done into the next round (non-zero only when stopped mid-round)
    step: int = 0  # optimizer steps done in all
    totals: dict[str, torch.Tensor] = field(default_factory=dict)  # this process's loss sums this round
    history: dict[str, list[float]] = field(default_factory=dict)  # {name: [value per round]}
    best_score: float = -math.inf  # best validation score so far
    best: dict[str, torch.Tensor] | None = None  # that snapshot's weights
    stale: int = 0  # scores since the best one
    elapsed: float = 0.0  # training seconds so far, over interruptions (for max_minutes)


def split_state(value: Any, path: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` as JSON, its tensors moved into ``tensors`` under dotted names from ``path``."""
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu().contiguous().clone()
        return {TENSOR: path}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {k: split_state(v, f"{path}.{k}", tensors) for k, v in value.items()}
        # optimizer state is keyed by parameter index: keep the ints
        return {ITEMS: [[k, split_state(v, f"{path}.{k}", tensors)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [split_state(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]
    return value


def join_state(tree: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The inverse of ``split_state``."""
    if isinstance(tree, dict):
        if TENSOR in tree:
            return tensors[tree[TENSOR]]
        if ITEMS in tree:
            return {k: join_state(v, tensors) for k, v in tree[ITEMS]}
        return {k: join_state(v, tensors) for k, v in tree.items()}
    if isinstance(tree, list):
        return [join_state(v, tensors) for v in tree]
    return tree


class TrainingCheckpoints:
    """Saves and restores a backend's and the loop's state through a ``CheckpointDir``.

    ``save`` is called on every process (each one's random streams and partial loss sums are
    gathered); rank 0 writes, and nobody goes on until the checkpoint is on disk. ``extra``
    goes into the JSON as is (e.g. a fitted encoder, so a resumed fit need not refit it).
    """

    def __init__(self, store: CheckpointDir, backend: GanBackend, generator: torch.Generator,
                 dist: DistInfo, extra: Mapping[str, Any] | None = None):
        self.store, self.backend, self.rng, self.dist = store, backend, generator, dist
        self.extra = dict(extra or {})

    def save(self, progress: Progress) -> Path | None:
        local = rng_tensors(self.rng, self.dist.device)
        local |= {f"totals.{k}": v.detach().float().reshape(1) for k, v in progress.totals.items()}
        tensors = per_rank(local, self.dist)
        path = None
        if self.dist.is_main:
            tree = split_state(self.backend.state_dict(), "state", tensors)
            if progress.best is not None:
                tensors |= {f"best.{k}": v.detach().cpu().contiguous() for k, v in progress.best.items()}
            doc = {
                "round": progress.round,
                "round_step": progress.round_step,
                "step": progress.step,
                "history": progress.history,
                "best_score": progress.best_score if progress.best_score > -math.inf else None,
                "stale": progress.stale,
                "elapsed": progress.elapsed,
                "state": tree,
                "torch": torch.__version__,
                **self.extra,
            }
            path = self.store.save(progress.step, tensors, doc)
        # Nobody leaves (e.g. to exit on Ctrl-C, which makes torchrun stop the others) before
        # the checkpoint is on disk.
        distributed.barrier()
        return path

    def restore(self, saved: Checkpoint) -> Progress:
        """Load ``saved`` into the backend and the random streams; return where to continue."""
        t, doc, device = saved.tensors, saved.doc, self.dist.device
        self.backend.load_state_dict(join_state(doc["state"], t))
        own = mine(t, self.dist)
        restore_rng(self.rng, device, own)
        best = {k: v.to(device) for k, v in under("best", t).items()} or None
        best_score = doc.get("best_score")
        return Progress(
            round=int(doc["round"]), round_step=int(doc["round_step"]), step=int(doc["step"]),
            totals={k: v.reshape(()).to(device) for k, v in under("totals", own).items()},
            history={k: [float(x) for x in v] for k, v in doc["history"].items()},
            best_score=-math.inf if best_score is None else float(best_score), best=best,
            stale=int(doc.get("stale", 0)), elapsed=float(doc.get("elapsed", 0.0)),
        )

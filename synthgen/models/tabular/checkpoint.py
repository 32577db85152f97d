"""What a tabular fit's checkpoint holds, on top of ``synthgen.models.checkpoints``.

Networks: generator and critic with both Adam states; per process: the RNG streams and its
loss sums of an unfinished epoch; in the JSON: the fitted encoder (a resumed fit does not
refit the mixtures) and a digest of the encoded table. The fingerprint adds the table's
schema and values to the settings every backend checks.
"""

from __future__ import annotations

import hashlib
import math
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from synthgen import distributed
from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.data.schema import TableSchema
from synthgen.distributed import DistInfo
from synthgen.models.checkpoints import (
    Checkpoint,
    CheckpointDir,
    mine,
    module_tensors,
    optimizer_tensors,
    per_rank,
    restore_optimizer,
    restore_rng,
    rng_tensors,
    run_settings,
    under,
)
from synthgen.models.tabular.trainer import GanParts, Progress, training_autocast

# -- fingerprint ------------------------------------------------------------------------------


def run_fingerprint(df: pd.DataFrame, schema: TableSchema, model: TabularModelConfig,
                    train: TrainConfig, dist: DistInfo) -> dict[str, Any]:
    """What must match for a checkpoint to continue this run exactly."""
    schema_doc = json.dumps(schema.to_dict(), sort_keys=True, default=str)
    return {
        "model": model.model_dump(mode="json"),
        **run_settings(train, dist, training_autocast(train, dist.device)),
        "schema": hashlib.sha256(schema_doc.encode()).hexdigest(),  # kinds, drops, categories
        "data": frame_digest(df, schema.names),
    }


def frame_digest(df: pd.DataFrame, columns: list[str]) -> str:
    """A stable digest of the training table's values, names and dtypes (row order matters)."""
    h = hashlib.sha256()
    frame = df[columns]
    h.update(json.dumps([[c, str(t)] for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


# -- training state <-> checkpoint ------------------------------------------------------------


class TrainingCheckpoints:
    """Saves and restores a tabular GAN's training state through a ``CheckpointDir``.

    ``save`` is called on every process (each one's RNG states and partial loss sums are
    gathered); rank 0 writes. ``extra`` goes into the JSON (the fitted encoder, for resuming
    without refitting it).
    """

    def __init__(self, store: CheckpointDir, parts: GanParts, generator: torch.Generator,
                 dist: DistInfo, extra: Mapping[str, Any]):
        self.store, self.parts, self.rng, self.dist = store, parts, generator, dist
        self.extra = dict(extra)

    def save(self, progress: Progress) -> Path | None:
        """Write ``progress`` and the networks' state (rank 0); every process must call it."""
        local = rng_tensors(self.rng, self.dist.device)
        local.update({f"totals.{k}": v.detach().reshape(1) for k, v in progress.totals.items()})
        tensors = per_rank(local, self.dist)
        path = None
        if self.dist.is_main:
            tensors |= module_tensors("generator", self.parts.generator)
            tensors |= module_tensors("critic", self.parts.critic)
            tensors |= self._optional_tensors()
            flat_g, groups_g = optimizer_tensors("opt_g", self.parts.opt_g)
            flat_d, groups_d = optimizer_tensors("opt_d", self.parts.opt_d)
            groups = {"opt_g": groups_g, "opt_d": groups_d}
            if self.parts.opt_c is not None:
                flat_c, groups["opt_c"] = optimizer_tensors("opt_c", self.parts.opt_c)
                tensors |= flat_c
            doc = {
                "epoch": progress.epoch,
                "step": progress.step,
                "global_step": progress.global_step,
                "history": progress.history,
                "best_score": progress.best_score if progress.best_score > -math.inf else None,
                "stale": progress.stale,
                "elapsed": progress.elapsed,
                "param_groups": groups,
                "torch": torch.__version__,
                **self.extra,
            }
            path = self.store.save(progress.global_step, tensors | flat_g | flat_d, doc)
        # Nobody leaves (e.g. to exit on Ctrl-C, which makes torchrun stop the others) before
        # the checkpoint is on disk.
        distributed.barrier()
        return path

    def _optional_tensors(self) -> dict[str, torch.Tensor]:
        """EMA generator, best snapshot and auxiliary classifier, where the fit has them."""
        p, out = self.parts, {}
        if p.ema is not None:
            out |= module_tensors("ema", p.ema)
        if p.classifier is not None:
            out |= module_tensors("classifier", p.classifier)
        if p.best is not None:
            out |= {f"best.{k}": v.detach().cpu() for k, v in p.best.items()}
        return out

    def restore(self, saved: Checkpoint) -> Progress:
        """Load ``saved`` into the networks, optimizers and RNGs; return where to continue."""
        t, doc, device = saved.tensors, saved.doc, self.dist.device
        self.parts.generator.load_state_dict(under("generator", t), strict=True)
        self.parts.critic.load_state_dict(under("critic", t), strict=True)
        restore_optimizer("opt_g", self.parts.opt_g, t, doc["param_groups"]["opt_g"])
        restore_optimizer("opt_d", self.parts.opt_d, t, doc["param_groups"]["opt_d"])
        if self.parts.ema is not None:
            self.parts.ema.load_state_dict(under("ema", t), strict=True)
        if self.parts.classifier is not None:
            self.parts.classifier.load_state_dict(under("classifier", t), strict=True)
            restore_optimizer("opt_c", self.parts.opt_c, t, doc["param_groups"]["opt_c"])
        best = under("best", t)
        self.parts.best = {k: v.to(device) for k, v in best.items()} or None
        own = mine(t, self.dist)
        restore_rng(self.rng, device, own)
        totals = {k: v.reshape(()).to(device) for k, v in under("totals", own).items()}
        history = {k: [float(x) for x in v] for k, v in doc["history"].items()}
        best_score = doc.get("best_score")
        return Progress(epoch=int(doc["epoch"]), step=int(doc["step"]),
                        global_step=int(doc["global_step"]), totals=totals, history=history,
                        best_score=-math.inf if best_score is None else float(best_score),
                        stale=int(doc.get("stale", 0)), elapsed=float(doc.get("elapsed", 0.0)))

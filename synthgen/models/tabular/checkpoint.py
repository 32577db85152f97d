"""Tabular training checkpoints: everything needed to continue a fit bit for bit.

A checkpoint is a folder ``<dir>/step-00001234/`` (the global step, so names sort in time
order; the imaging backend uses the same layout), written atomically (a kill mid-write leaves
only a hidden temporary beside the previous checkpoint) and holding

- ``state.safetensors``: generator, critic, both Adam states, and per process ``rank<r>.*``:
  its RNG states (the sampling stream, torch's global one that drives dropout, CUDA's, numpy's
  and python's) and its loss sums so far in an unfinished epoch;
- ``checkpoint.json``: epoch, step, history, Adam's param groups, the fitted encoder, and the
  run's fingerprint: the settings that shape training, the world size, the device type and a
  digest of the data. Resuming with anything else there is refused with one line naming it.

Nothing is pickled. Only rank 0 writes; every rank reads the same folder to resume.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthgen import distributed
from synthgen.atomic import staged_dir
from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.data.schema import TableSchema
from synthgen.distributed import DistInfo
from synthgen.errors import UserError
from synthgen.models.tabular.trainer import GanParts, Progress

FORMAT = 1
TENSORS = "state.safetensors"
DOCUMENT = "checkpoint.json"
_NAME = re.compile(r"^step-(\d{8,})$")
KEEP = 2  # the newest two: if the newest turns out unreadable, the one before still is
# Train settings a run may be resumed with other values of: they do not change what an epoch
# does (more epochs trains longer). The device is compared as the device actually used.
_FREE_TRAIN_KEYS = ("epochs", "checkpoint_every", "resume", "progress", "device")


# -- fingerprint ------------------------------------------------------------------------------


def run_fingerprint(df: pd.DataFrame, schema: TableSchema, model: TabularModelConfig,
                    train: TrainConfig, dist: DistInfo) -> dict[str, Any]:
    """What must match for a checkpoint to continue this run exactly."""
    schema_doc = json.dumps(schema.to_dict(), sort_keys=True, default=str)
    return {
        "model": model.model_dump(mode="json"),
        "train": train.model_dump(mode="json", exclude=set(_FREE_TRAIN_KEYS)),
        "world_size": dist.world_size,
        "device": dist.device.type,  # RNG streams differ between CPU and CUDA
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


def array_digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(str((a.dtype, a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _first_difference(saved: Any, current: Any, path: str = "") -> tuple[str, Any, Any] | None:
    if isinstance(saved, dict) and isinstance(current, dict):
        for key in sorted(set(saved) | set(current)):
            where = f"{path}.{key}" if path else key
            found = _first_difference(saved.get(key), current.get(key), where)
            if found:
                return found
        return None
    return None if saved == current else (path, saved, current)


def check_fingerprint(folder: Path, saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """A one-line ``UserError`` naming the first setting that differs from the checkpoint's."""
    found = _first_difference(dict(saved), dict(current))
    if found is None:
        return
    key, then, now = found
    what = {"data": "the training data differs", "schema": "the columns or their kinds differ"}
    what = what.get(key, f"{key} was {then!r}, now {now!r}")
    if key == "world_size":
        what = f"it was written by {then} process(es), this run has {now}"
    raise UserError(
        f"{folder}: checkpoint is from another run ({what}); resume with the same data and "
        f"settings, or delete {folder.parent} to start afresh"
    )


# -- RNG states as tensors --------------------------------------------------------------------


def rng_tensors(generator: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    """Every random stream training may draw from, as tensors of a fixed shape per device."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    out = {
        "rng.sampler": generator.get_state(),
        "rng.torch": torch.get_rng_state(),
        "rng.numpy": torch.tensor([pos, has_gauss, *keys.tolist()], dtype=torch.int64),
        "rng.numpy_gauss": torch.tensor([gauss], dtype=torch.float64),
        "rng.python": torch.tensor([version, *py_state], dtype=torch.int64),
        "rng.python_gauss": torch.tensor([np.nan if py_gauss is None else py_gauss],
                                         dtype=torch.float64),
    }
    if device.type == "cuda":
        out["rng.cuda"] = torch.cuda.get_rng_state(device)
    return out


def restore_rng(generator: torch.Generator, device: torch.device,
                t: Mapping[str, torch.Tensor]) -> None:
    generator.set_state(t["rng.sampler"])
    torch.set_rng_state(t["rng.torch"])
    if device.type == "cuda":
        torch.cuda.set_rng_state(t["rng.cuda"], device)
    pos, has_gauss, *keys = t["rng.numpy"].tolist()
    np.random.set_state(("MT19937", np.array(keys, dtype=np.uint32), pos, has_gauss,
                         float(t["rng.numpy_gauss"][0])))
    version, *py_state = t["rng.python"].tolist()
    gauss = float(t["rng.python_gauss"][0])
    random.setstate((version, tuple(py_state), None if np.isnan(gauss) else gauss))


# -- optimizer state as tensors ---------------------------------------------------------------


def optimizer_tensors(prefix: str,
                      optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    """``<prefix>.<param index>.<key>`` tensors, plus the param groups (plain JSON values)."""
    state = optimizer.state_dict()
    tensors = {
        f"{prefix}.{index}.{key}": torch.as_tensor(value).detach().cpu().contiguous().clone()
        for index, entry in state["state"].items()
        for key, value in entry.items()
    }
    return tensors, state["param_groups"]


def restore_optimizer(prefix: str, optimizer: torch.optim.Optimizer,
                      tensors: Mapping[str, torch.Tensor], param_groups: list) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in _under(prefix, tensors).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": param_groups})


def _module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def _under(prefix: str, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    cut = len(prefix) + 1
    return {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


# -- the folder -------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    path: Path
    tensors: dict[str, torch.Tensor]
    doc: dict[str, Any]


class CheckpointDir:
    """A run's checkpoint folder: atomic writes, the newest ``KEEP`` kept, the latest found."""

    def __init__(self, folder: str | Path, fingerprint: Mapping[str, Any]):
        self.folder = Path(folder)
        self.fingerprint = dict(fingerprint)

    def save(self, step: int, tensors: Mapping[str, torch.Tensor], doc: Mapping[str, Any]) -> Path:
        from safetensors.torch import save_file

        path = self.folder / f"step-{step:08d}"
        with staged_dir(path) as tmp:
            save_file(dict(tensors), str(tmp / TENSORS))
            document = {"format": FORMAT, "fingerprint": self.fingerprint, **doc}
            (tmp / DOCUMENT).write_text(json.dumps(document, indent=1))
        self._prune()
        return path

    def _prune(self) -> None:
        for old in self.found()[:-KEEP]:
            # Renamed out of sight first, so a kill mid-delete never leaves a half checkpoint.
            hidden = old.with_name(f".{old.name}.deleting")
            old.rename(hidden)
            shutil.rmtree(hidden, ignore_errors=True)

    def found(self) -> list[Path]:
        """The checkpoints present, oldest first."""
        if not self.folder.is_dir():
            return []
        named = [(int(m.group(1)), p) for p in self.folder.iterdir() if (m := _NAME.match(p.name))]
        return [p for _, p in sorted(named)]

    def latest(self) -> Checkpoint | None:
        """The newest readable checkpoint, after checking that it belongs to this run."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        for path in reversed(self.found()):
            try:
                doc = json.loads((path / DOCUMENT).read_text())
                tensors = load_file(str(path / TENSORS))
            except (OSError, SafetensorError, json.JSONDecodeError) as e:
                warnings.warn(f"{path}: unreadable checkpoint skipped ({e})", stacklevel=2)
                continue
            if doc.get("format") != FORMAT:
                raise UserError(f"{path}: checkpoint format {doc.get('format')!r} is not {FORMAT}; "
                                f"delete {self.folder} to start afresh")
            check_fingerprint(path, doc["fingerprint"], self.fingerprint)
            return Checkpoint(path, tensors, doc)
        return None


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
        gathered = {key: distributed.all_gather(value, self.dist) for key, value in local.items()}
        path = None
        if self.dist.is_main:
            tensors = {f"rank{r}.{key}": per_rank[r]
                       for key, per_rank in gathered.items() for r in range(self.dist.world_size)}
            tensors |= _module_tensors("generator", self.parts.generator)
            tensors |= _module_tensors("critic", self.parts.critic)
            flat_g, groups_g = optimizer_tensors("opt_g", self.parts.opt_g)
            flat_d, groups_d = optimizer_tensors("opt_d", self.parts.opt_d)
            doc = {
                "epoch": progress.epoch,
                "step": progress.step,
                "global_step": progress.global_step,
                "history": progress.history,
                "param_groups": {"opt_g": groups_g, "opt_d": groups_d},
                "torch": torch.__version__,
                **self.extra,
            }
            path = self.store.save(progress.global_step, tensors | flat_g | flat_d, doc)
        # Nobody leaves (e.g. to exit on Ctrl-C, which makes torchrun stop the others) before
        # the checkpoint is on disk.
        distributed.barrier()
        return path

    def restore(self, saved: Checkpoint) -> Progress:
        """Load ``saved`` into the networks, optimizers and RNGs; return where to continue."""
        t, doc, device = saved.tensors, saved.doc, self.dist.device
        self.parts.generator.load_state_dict(_under("generator", t), strict=True)
        self.parts.critic.load_state_dict(_under("critic", t), strict=True)
        restore_optimizer("opt_g", self.parts.opt_g, t, doc["param_groups"]["opt_g"])
        restore_optimizer("opt_d", self.parts.opt_d, t, doc["param_groups"]["opt_d"])
        mine = _under(f"rank{self.dist.rank}", t)
        restore_rng(self.rng, device, mine)
        totals = {k: v.reshape(()).to(device) for k, v in _under("totals", mine).items()}
        history = {k: [float(x) for x in v] for k, v in doc["history"].items()}
        return Progress(epoch=int(doc["epoch"]), step=int(doc["step"]),
                        global_step=int(doc["global_step"]), totals=totals, history=history)

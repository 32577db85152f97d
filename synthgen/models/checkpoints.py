"""Training checkpoints shared by the GAN backends: a folder of atomic, verified snapshots.

A checkpoint is a folder ``<dir>/step-00001234/`` (the global step, so names sort in time
order), written atomically (a kill mid-write leaves only a hidden temporary beside the
previous checkpoint) and holding

- ``state.safetensors``: the tensors of the backend's state (networks, optimizers) and, per
  process ``rank<r>.*``, everything that differs between processes under torchrun: RNG states
  (the loop's stream, torch's global one that drives latents, dropout and augmentation,
  CUDA's, numpy's and python's) and loss sums of an unfinished round;
- ``checkpoint.json``: the format version, the run's fingerprint (the settings that shape
  training, the world size, the device type, a digest of the data), the loop's position and
  history, and the rest of the backend's state. Resuming with anything else is refused in one
  line naming it.

Nothing is pickled. Only rank 0 writes; every rank reads the same folder to resume. What goes
in is the training engine's business (``synthgen.models.training.state``); each backend adds
its fingerprint (``synthgen.models.tabular.checkpoint``, ``...imaging.checkpoint``).
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
import torch

from synthgen import distributed
from synthgen.atomic import staged_dir
from synthgen.config import TrainConfig
from synthgen.distributed import DistInfo
from synthgen.errors import UserError
from synthgen.models.tensor_files import save_tensors

FORMAT = 2  # 2: one state_dict-based layout for every backend
TENSORS = "state.safetensors"
DOCUMENT = "checkpoint.json"
_NAME = re.compile(r"^step-(\d{8,})$")
KEEP = 2  # the newest two: if the newest turns out unreadable, the one before still is
# Train settings a run may be resumed with other values of: they do not change what an epoch
# does (more epochs trains longer). The device is compared as the device actually used.
FREE_TRAIN_KEYS = ("epochs", "max_minutes", "patience", "checkpoint_every", "resume", "progress", "device")


# -- fingerprint ------------------------------------------------------------------------------


def run_settings(train: TrainConfig, dist: DistInfo, autocast: torch.dtype | None) -> dict[str, Any]:
    """The part of a run's fingerprint that is the same for every backend.

    ``autocast`` is the dtype ``train.precision`` resolved to on this machine: ``auto`` can
    mean bf16 on one GPU and fp16 (with a loss scaler to restore) on another.
    """
    return {
        "train": train.model_dump(mode="json", exclude=set(FREE_TRAIN_KEYS)),
        "world_size": dist.world_size,
        "device": dist.device.type,  # RNG streams differ between CPU and CUDA
        "autocast": str(autocast).removeprefix("torch.") if autocast is not None else "fp32",
    }


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

def per_rank(local: Mapping[str, torch.Tensor], dist: DistInfo) -> dict[str, torch.Tensor]:
    """Every process's ``local`` tensors as ``rank<r>.<key>`` (complete on rank 0 only).

    All processes must call it together; each key's tensor has the same shape on every rank.
    """
    gathered = {key: distributed.all_gather(value, dist) for key, value in local.items()}
    return {f"rank{r}.{key}": tensors[r] for key, tensors in gathered.items() for r in range(dist.world_size)}


def mine(tensors: Mapping[str, torch.Tensor], dist: DistInfo) -> dict[str, torch.Tensor]:
    """This process's entries of what ``per_rank`` stored."""
    return under(f"rank{dist.rank}", tensors)


# -- the folder's layout ------------------------------------------------------------------


def under(prefix: str, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
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
        path = self.folder / f"step-{step:08d}"
        with staged_dir(path) as tmp:
            save_tensors(tensors, tmp / TENSORS)
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
        """The newest readable checkpoint, after checking that it belongs to this run.

        Under torchrun all processes must call this together: rank 0 picks the checkpoint
        and every process loads that one, so a read that fails on one process only can never
        make the processes resume from different steps.
        """
        chosen = self._newest_readable() if distributed.is_main_process() else None
        name = distributed.broadcast_str(chosen.path.name if chosen else "")
        if chosen is None and name:
            path = self.folder / name
            chosen, problem = self._read(path)
            if chosen is None:
                raise UserError(f"{path}: checkpoint is readable by the main process but not by "
                                f"this one ({problem})")
        if chosen is not None:
            self._check(chosen)
        return chosen

    def _newest_readable(self) -> Checkpoint | None:
        for path in reversed(self.found()):
            found, problem = self._read(path)
            if found is not None:
                return found
            warnings.warn(f"{path}: unreadable checkpoint skipped ({problem})", stacklevel=3)
        return None

    @staticmethod
    def _read(path: Path) -> tuple[Checkpoint | None, str]:
        """The checkpoint at ``path``, or None and why it could not be read."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            doc = json.loads((path / DOCUMENT).read_text())
            return Checkpoint(path, load_file(str(path / TENSORS)), doc), ""
        except (OSError, SafetensorError, json.JSONDecodeError) as e:
            return None, str(e)

    def _check(self, saved: Checkpoint) -> None:
        doc, path = saved.doc, saved.path
        if doc.get("format") != FORMAT:
            raise UserError(f"{path}: checkpoint format {doc.get('format')!r} is not {FORMAT}; "
                            f"delete {self.folder} to start afresh")
        check_fingerprint(path, doc["fingerprint"], self.fingerprint)


def open_checkpoints(folder: str | Path | None, fingerprint: Mapping[str, Any],
                     resume: bool) -> tuple[CheckpointDir | None, Checkpoint | None]:
    """The run's checkpoint folder (or None) and, when resuming, its latest checkpoint."""
    if folder is None:
        if resume:
            raise UserError("resume=True needs the checkpoint_dir to resume from")
        return None, None
    store = CheckpointDir(folder, fingerprint)
    if not resume and store.found():
        # A fresh run would interleave its checkpoints with the old ones (and prune the wrong ones).
        raise UserError(f"{store.folder} holds checkpoints of an earlier fit: resume it, or delete the folder")
    return store, store.latest() if resume else None

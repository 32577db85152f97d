"""Training checkpoints: everything needed to continue a fit exactly where it stopped.

A checkpoint is a folder ``<dir>/step-00001234/`` (the global step, so names sort in time
order) written atomically, holding ``state.safetensors`` (G, D, G-EMA, both optimizers'
state, RNG states, and mid-epoch position when written on Ctrl-C) and ``checkpoint.json``
(epoch, step, history, optimizer param groups, configs). Optimizer state is flattened to
tensors named ``opt_g.state.<param index>.<key>``; nothing is pickled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from synthgen.atomic import staged_dir
from synthgen.errors import UserError

TENSORS = "state.safetensors"
DOCUMENT = "checkpoint.json"
PREFIX = "step-"


def flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    state = optimizer.state_dict()
    tensors = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            tensors[f"{prefix}.state.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous().clone()
    return tensors, state["param_groups"]


def restore_optimizer(prefix: str, optimizer: torch.optim.Optimizer,
                      tensors: Mapping[str, torch.Tensor], param_groups: list) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + ".state."):
            index, key = name[len(prefix) + 7:].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": param_groups})


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def take(prefix: str, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries under ``prefix.``, with the prefix removed (for ``load_state_dict``)."""
    cut = len(prefix) + 1
    return {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def folder_name(step: int) -> str:
    return f"{PREFIX}{step:08d}"


def save_checkpoint(folder: Path, *, modules: Mapping[str, torch.nn.Module],
                    optimizers: Mapping[str, torch.optim.Optimizer],
                    extra: Mapping[str, torch.Tensor], info: Mapping[str, Any]) -> Path:
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {k: v.detach().cpu().contiguous() for k, v in extra.items()}
    groups = {}
    for name, module in modules.items():
        tensors.update(module_tensors(name, module))
    for name, optimizer in optimizers.items():
        flat, groups[name] = flatten_optimizer(name, optimizer)
        tensors.update(flat)
    with staged_dir(folder) as tmp:
        save_file(tensors, str(tmp / TENSORS))
        doc = {"param_groups": groups, **info}
        (tmp / DOCUMENT).write_text(json.dumps(doc, indent=2, default=str))
    return Path(folder)


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint in ``folder`` (staged leftovers are hidden, so skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = sorted(p for p in folder.iterdir() if p.name.startswith(PREFIX) and (p / DOCUMENT).is_file())
    return found[-1] if found else None


def load_checkpoint(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        return load_file(str(folder / TENSORS)), json.loads((folder / DOCUMENT).read_text())
    except (OSError, SafetensorError, json.JSONDecodeError) as e:
        raise UserError(f"{folder}: unreadable checkpoint ({e}); delete it to start afresh") from None

"""torchrun / DistributedDataParallel plumbing: one place that knows about process groups.

Without torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) everything here is a no-op
for a single process, so the rest of the code calls it unconditionally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist

from synthgen.runtime import resolve_device


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def setup(device: str = "auto") -> DistInfo:
    """Join the process group torchrun describes (gloo on CPU, NCCL on CUDA), once."""
    world_size = _env_int("WORLD_SIZE", 1)
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    resolved = resolve_device(device)
    if resolved.type == "cuda" and world_size > 1:
        resolved = torch.device("cuda", local_rank)
        torch.cuda.set_device(resolved)
    if world_size > 1 and not tdist.is_initialized():
        tdist.init_process_group(backend="nccl" if resolved.type == "cuda" else "gloo")
    return DistInfo(rank, world_size, local_rank, resolved)


def is_distributed() -> bool:
    return tdist.is_available() and tdist.is_initialized() and tdist.get_world_size() > 1


def is_main_process() -> bool:
    return not is_distributed() or tdist.get_rank() == 0


def barrier() -> None:
    if is_distributed():
        tdist.barrier()


def broadcast_str(value: str) -> str:
    """Rank 0's ``value`` on every rank (e.g. a time-stamped run name)."""
    if not is_distributed():
        return value
    box = [value]
    tdist.broadcast_object_list(box, src=0)
    return box[0]


def cleanup() -> None:
    if tdist.is_available() and tdist.is_initialized():
        tdist.destroy_process_group()

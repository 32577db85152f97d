"""Multi-process training under ``torchrun``: process-group setup and the few collectives we use.

``torchrun --nproc_per_node=N -m synthgen fit ...`` starts N copies of the command with
RANK / WORLD_SIZE / LOCAL_RANK (and MASTER_ADDR / MASTER_PORT) in their environment.
``setup`` reads them and joins the process group once: NCCL with one GPU per process on CUDA,
gloo on CPU. Without those variables it is a no-op and describes a single process, so every
caller can call it unconditionally. Nothing here launches processes: torchrun does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from synthgen.errors import UserError
from synthgen.runtime import resolve_device


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: its rank among ``world_size`` and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    is_main: bool = True

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _launched_by_torchrun() -> bool:
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str = "auto") -> DistInfo:
    """Join torchrun's process group (once) and pick this process's device.

    ``device`` is the config's ``auto`` / ``cpu`` / ``cuda``. Under torchrun on CUDA each
    process takes ``cuda:LOCAL_RANK``; asking for CUDA with fewer GPUs than local processes
    is a user error rather than N processes fighting over one GPU.
    """
    if not _launched_by_torchrun():
        return DistInfo(device=resolve_device(device))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = resolve_device(device)
    if chosen.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise UserError(
                f"torchrun started process {local_rank} on this host but only "
                f"{torch.cuda.device_count()} GPU(s) are visible: lower --nproc_per_node"
            )
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        backend = "nccl" if chosen.type == "cuda" else "gloo"
        # device_id binds NCCL to this GPU up front (no guessing at the first collective)
        kwargs = {"device_id": chosen} if chosen.type == "cuda" else {}
        with _signals_to_main_thread_only():
            dist.init_process_group(backend=backend, init_method="env://", **kwargs)
    return DistInfo(rank, world, local_rank, chosen, rank == 0)


def current(device: str = "auto") -> DistInfo:
    """This process as the process group that ``setup`` joined describes it (one process when
    none was joined). Models call this: only ``workflow`` (or a script's own ``setup``) joins
    and leaves the group."""
    if not is_distributed():
        return DistInfo(device=resolve_device(device))
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = resolve_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
    return DistInfo(rank, world, local_rank, chosen, rank == 0)


@contextlib.contextmanager
def _signals_to_main_thread_only() -> Iterator[None]:
    """Block SIGINT/SIGTERM while the process group starts its worker threads.

    Threads inherit the signal mask of the thread that starts them, so the backend's threads
    never receive Ctrl-C or SIGTERM: the OS hands those to the main thread, where Python's
    handler turns them into a stop request, instead of interrupting a collective in a
    backend thread.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that writes files and talks to MLflow."""
    return not is_distributed() or dist.get_rank() == 0


def barrier() -> None:
    """Wait for every process (no-op when not distributed)."""
    if is_distributed():
        dist.barrier()


def broadcast_str(value: str) -> str:
    """Rank 0's ``value`` on every rank (e.g. a time-stamped run name)."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def cleanup(failed: bool = False) -> None:
    """Leave the process group (no-op when not distributed or already left).

    After success all ranks meet first: a rank that tears gloo down while another still
    writes its files can abort the whole job ("terminate called without an active
    exception"). After a failure nobody waits: a rank that raised alone would otherwise sit in
    that barrier while the others wait in training's next collective, both until the
    collective timeout (30 minutes on gloo); leaving at once lets torchrun see the failure
    and stop the others.
    """
    if dist.is_available() and dist.is_initialized():
        if dist.get_world_size() > 1 and not failed:
            dist.barrier()
        dist.destroy_process_group()


@contextlib.contextmanager
def process_group_scope() -> Iterator[None]:
    """``cleanup`` when the block ends: with the barrier on success, without on an exception."""
    try:
        yield
    except BaseException:
        cleanup(failed=True)
        raise
    cleanup()


def comm_device(info: DistInfo) -> torch.device:
    """Where collective tensors must live: the GPU for NCCL, the CPU for gloo."""
    return info.device if info.device.type == "cuda" else torch.device("cpu")


def all_reduce_sum(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """The element-wise sum over all processes (a copy; the input is unchanged)."""
    if not info.distributed:
        return tensor.clone()
    out = tensor.detach().to(comm_device(info), copy=True)
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.to(tensor.device)


def any_process(flag: bool, info: DistInfo) -> bool:
    """True on every process if ``flag`` is true on any (all must call this together)."""
    if not info.distributed:
        return flag
    return bool(all_reduce_sum(torch.tensor([int(flag)]), info).item() > 0)


def broadcast_buffers(module: torch.nn.Module, info: DistInfo) -> None:
    """Copy rank 0's buffers (e.g. BatchNorm running statistics) into every process's module.

    DDP does this before each forward; after the last one every rank has updated its own
    statistics from its own shard, so a final sync makes the ranks' modules identical again.
    """
    if not info.distributed:
        return
    for buffer in module.buffers():
        synced = buffer.detach().to(comm_device(info), copy=True)
        dist.broadcast(synced, src=0)
        buffer.data.copy_(synced.to(buffer.device))


def all_gather(tensor: torch.Tensor, info: DistInfo) -> list[torch.Tensor]:
    """Every process's ``tensor`` (same shape and dtype on all), on the CPU, in rank order."""
    if not info.distributed:
        return [tensor.detach().cpu().clone()]
    local = tensor.detach().to(comm_device(info), copy=True)
    out = [torch.empty_like(local) for _ in range(info.world_size)]
    dist.all_gather(out, local)
    return [t.cpu() for t in out]


def rank_seed(seed: int, rank: int) -> int:
    """The seed of a process's own random stream: rank 0 keeps ``seed`` (so one process trains
    as without torchrun), the others get independent streams derived from (seed, rank)."""
    return seed if rank == 0 else int(np.random.SeedSequence([seed, rank]).generate_state(1)[0])


def wrap(module: torch.nn.Module, info: DistInfo) -> torch.nn.Module:
    """``module`` in DistributedDataParallel when several processes train, else itself.

    DDP broadcasts rank 0's weights and buffers at construction and averages the gradients in
    every backward that follows a forward through the wrapper, so all processes stay identical.
    Checkpoints and saved models take the plain module.
    """
    if not info.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    # A false alarm for weights with a size-1 dimension (e.g. a (1, C) linear layer), whose
    # gradient strides differ from the bucket's only where the stride cannot matter.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    ids = [info.device.index] if info.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def mean_over_processes(sums: Mapping[str, torch.Tensor], count: int, info: DistInfo) -> dict[str, float]:
    """Each entry summed over all processes and divided by ``count`` per process: one
    collective for all of them (e.g. the epoch's mean losses from per-step sums)."""
    names = list(sums)
    if not names:
        return {}
    summed = all_reduce_sum(torch.stack([torch.as_tensor(sums[n]).float().reshape(()) for n in names]), info)
    total = count * info.world_size
    return {name: float(value) / total for name, value in zip(names, summed.tolist())}

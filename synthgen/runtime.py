"""Device choice, seeding and thread settings shared by every training loop."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from synthgen.errors import UserError


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present; ``cuda`` without a GPU is a user error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but no CUDA GPU is visible")
    return torch.device(device)


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a CPU generator for explicit draws."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def configure_threads() -> int:
    """Use the cores this process may run on, once; oversubscription costs 2-15x on CPU.

    Under torchrun several processes share the machine, so each takes its share.
    ``SYNTHGEN_THREADS`` overrides (useful when other jobs share the cores).
    """
    if os.environ.get("SYNTHGEN_THREADS", "").isdigit() and int(os.environ["SYNTHGEN_THREADS"]) > 0:
        threads = int(os.environ["SYNTHGEN_THREADS"])
        torch.set_num_threads(threads)
        return threads
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    threads = max(1, cores // max(1, local_world))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def progress_disabled(wanted: bool) -> bool | None:
    """tqdm's ``disable``: off when not wanted, else shown only on a terminal (tqdm's ``None``),
    so logs and captured stderr get no carriage-return residue before an error line."""
    return None if wanted else True


def autocast_dtype(precision: str, device: torch.device, fp16_fallback: bool) -> torch.dtype | None:
    """The dtype training's forward passes autocast to, or None for plain fp32.

    ``auto`` means mixed precision on CUDA only: bf16 where the GPU has it; on older GPUs fp16
    when the caller can scale its losses (``fp16_fallback``), else fp32. ``bf16`` autocasts on
    any device (CPUs run it too, usually slower than fp32).
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise UserError(f"--precision bf16: {torch.cuda.get_device_name(device)} has no bf16; "
                            "use --precision auto (fp16 where it applies) or fp32")
        return torch.bfloat16
    if device.type != "cuda":
        return None
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16 if fp16_fallback else None

"""Axial 2D slices from a preprocessed 3D volume, skipping empty ones."""

from __future__ import annotations

import math

import torch

# A voxel counts as foreground when it is brighter than this share of the volume's
# (percentile-scaled) intensity range: background maps to -1, the brightest tissue to +1.
FOREGROUND_LEVEL = 0.05


def foreground_share(slices: torch.Tensor) -> torch.Tensor:
    """Per-slice share of foreground pixels for a stack ``(K, X, Y)`` scaled to [-1, 1]."""
    threshold = -1.0 + 2.0 * FOREGROUND_LEVEL
    return (slices > threshold).float().mean(dim=(1, 2))


def axial_slice_indices(
    volume: torch.Tensor, *, min_foreground: float, slice_range: tuple[float, float]
) -> list[int]:
    """Indices along the last (superior) axis of ``volume`` ``(1, X, Y, Z)`` worth keeping.

    ``slice_range`` keeps the fractions ``[start, stop)`` of the axis (e.g. ``(0.2, 0.8)``
    drops the top and bottom fifths); within that, slices whose foreground share is below
    ``min_foreground`` are skipped.
    """
    depth = volume.shape[-1]
    start, stop = slice_range
    first, last = math.floor(start * depth), min(depth, math.ceil(stop * depth))
    if last <= first:
        return []
    stack = volume[0, :, :, first:last].permute(2, 0, 1)
    share = foreground_share(stack)
    return [first + int(i) for i in torch.nonzero(share >= min_foreground).flatten()]


def take_axial(volume: torch.Tensor, indices: list[int]) -> torch.Tensor:
    """The chosen axial slices as a channel stack ``(K, X, Y)`` (a MetaTensor stays one)."""
    return volume[0, :, :, indices].permute(2, 0, 1).contiguous()

"""The MONAI preprocessing chain, defined once and describable for the run record.

Every step is a ``(transform class, keyword arguments)`` pair, so the chain that runs and the
chain that is saved with the model are the same list. Three stages:

- ``load``: read the file into a channel-first MetaTensor in RAS orientation (files only).
- ``intensity``: optional resampling to ``pixdim``, then intensities to [-1, 1]. 8-bit/16-bit
  images (PNG, npz) use the dtype's fixed range, which is exactly invertible; scans (NIfTI)
  use per-volume percentiles, since MRI intensities have no absolute scale.
- ``shape``: resize so the longest side is ``image_size`` (aspect kept), then pad to a square
  or cube with the background value -1.
"""

from __future__ import annotations

from typing import Any

from monai.transforms import (
    Compose,
    EnsureChannelFirstd,
    LoadImaged,
    Orientationd,
    Resized,
    ResizeWithPadOrCropd,
    ScaleIntensityRanged,
    ScaleIntensityRangePercentilesd,
    Spacingd,
)

KEY = "image"
# Explicit labels silence MONAI's deprecation warning and pin the meaning of "RAS".
_AXIS_LABELS = (("L", "R"), ("P", "A"), ("I", "S"))

Step = tuple[type, dict[str, Any]]


def load_steps(ndim: int) -> list[Step]:
    return [
        (LoadImaged, {"keys": KEY, "image_only": True}),
        (EnsureChannelFirstd, {"keys": KEY}),
        (Orientationd, {"keys": KEY, "axcodes": "RAS"[:ndim], "labels": _AXIS_LABELS}),
    ]


def intensity_steps(
    *,
    fixed_range: tuple[float, float] | None,
    percentiles: tuple[float, float],
    pixdim: list[float] | None = None,
) -> list[Step]:
    steps: list[Step] = []
    if pixdim:
        steps.append((Spacingd, {"keys": KEY, "pixdim": list(pixdim), "mode": "bilinear"}))
    if fixed_range is not None:
        lo, hi = fixed_range
        steps.append(
            (ScaleIntensityRanged,
             {"keys": KEY, "a_min": lo, "a_max": hi, "b_min": -1.0, "b_max": 1.0, "clip": True})
        )
    else:
        lo, hi = percentiles
        steps.append(
            (ScaleIntensityRangePercentilesd,
             {"keys": KEY, "lower": lo, "upper": hi, "b_min": -1.0, "b_max": 1.0, "clip": True})
        )
    return steps


def shape_steps(spatial_dims: int, image_size: int) -> list[Step]:
    mode = "bilinear" if spatial_dims == 2 else "trilinear"
    return [
        (Resized,
         {"keys": KEY, "spatial_size": image_size, "size_mode": "longest", "mode": mode,
          "anti_aliasing": True}),
        (ResizeWithPadOrCropd,
         {"keys": KEY, "spatial_size": [image_size] * spatial_dims, "mode": "constant",
          "constant_values": -1.0}),
    ]


def compose(steps: list[Step]) -> Compose:
    return Compose([cls(**kwargs) for cls, kwargs in steps])


def describe(steps: list[Step]) -> list[dict[str, Any]]:
    """JSON-safe record of a chain: ``[{"name": "Resized", "args": {...}}, ...]``."""
    return [{"name": cls.__name__, "args": _json_safe(kwargs)} for cls, kwargs in steps]


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items() if k != "keys"}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)

"""What the writers need to put synthetic images back in the input's space, dtype and
intensities (``reference``, stored in model.json), built the same way for every format."""

from __future__ import annotations

from typing import Any

import numpy as np


def build_reference(*, fmt, dims, input_ndim, image_size, affine, dtype, ranges, fixed, input_shape,
               condition) -> dict[str, Any]:
    """What writers need to put synthetic images back in the input's space and intensities."""
    per_class = {lab: [float(np.mean([r[0] for r in rs])), float(np.mean([r[1] for r in rs]))]
                 for lab, rs in ranges.items()}
    every = [r for rs in ranges.values() for r in rs]
    a = np.asarray(affine, dtype=np.float64)
    return {
        "source_format": fmt,
        "spatial_dims": int(dims),
        "input_ndim": int(input_ndim),
        "image_size": int(image_size),
        "affine": a.tolist(),
        "spacing": np.sqrt((a[:3, :3] ** 2).sum(axis=0))[:dims].round(6).tolist(),
        "dtype": dtype,
        "input_shape": [int(s) for s in input_shape],
        "intensity_mode": "fixed" if fixed else "percentile",
        "intensity": {
            "global": [float(np.mean([r[0] for r in every])), float(np.mean([r[1] for r in every]))],
            "per_class": per_class,
        },
        "condition": condition,
    }


def fixed_range(dtype: str) -> tuple[float, float]:
    return (0.0, float(np.iinfo(dtype).max)) if np.issubdtype(np.dtype(dtype), np.integer) else (0.0, 1.0)

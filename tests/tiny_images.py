"""A tiny labelled image set for the image GAN's tests: fits in seconds on one core."""

from __future__ import annotations

import numpy as np
import torch

from synthgen.data.imaging import ImageDataset


def tiny_dataset(dims: int = 2, size: int = 16, n: int = 24) -> ImageDataset:
    """Bright disc (class "a", 2/3 of items) or bright square ("b") on -1 background."""
    grid = torch.stack(torch.meshgrid(*[torch.linspace(-1, 1, size)] * dims, indexing="ij"))
    disc = (grid**2).sum(0) < 0.4
    square = (grid.abs() < 0.5).all(0)
    labels = ["a" if i % 3 else "b" for i in range(n)]
    images = torch.stack([torch.where(disc if lab == "a" else square, 0.8, -1.0) for lab in labels])
    images = (images + 0.05 * torch.randn_like(images)).clamp(-1, 1).unsqueeze(1)
    reference = {"source_format": "nifti", "spatial_dims": dims, "affine": np.eye(4).tolist(),
                 "dtype": "float32", "intensity": {"global": [0.0, 1.0], "per_class": {}}}
    ids = [f"v{i}" for i in range(n)]
    return ImageDataset(images=images, labels=labels, patient_ids=ids, item_ids=ids,
                        source_format="nifti", spatial_dims=dims, condition="shape",
                        reference=reference, transforms=[{"name": "Test", "args": {}}])

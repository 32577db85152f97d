"""Real training scans mixed with synthetic ones, as a MONAI ``Dataset`` for training loops.

    ds = MixedScanDataset.from_image_dataset(train, synth, synthetic_share=0.5,
                                             transform=RandFlipd(keys="image", prob=0.5))
    for batch in DataLoader(ds, batch_size=32, shuffle=True):
        batch["image"], batch["label"], batch["synthetic"]     # tensors; synthetic is bool

``synthetic_share`` is the share of each class's items that are synthetic (0.5: as many
synthetic as real; a dict sets it per class, unlisted classes get none). The synthetic items
are drawn once and cached; with ``redraw_each_epoch=True`` call ``set_epoch(e)`` at the start
of each epoch for a fresh draw seeded ``seed + e`` (replayable). The MONAI transform sees
real and synthetic items alike, as ``{"image", "label", "synthetic"}`` dictionaries.

The synthesizer is any fitted synthgen model: this module only calls its ``generate``, so
``data`` still imports nothing from ``models``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from monai.data import Dataset

from synthgen.data.synthetic_share import Share, synthetic_counts
from synthgen.errors import SamplingError


class MixedScanDataset(Dataset):
    """Real images plus synthetic ones from ``synthesizer``; items carry a ``synthetic`` flag.

    ``images``: ``(N, C, *spatial)`` in the model's space (as ``load_image_dataset`` makes
    them: [-1, 1], the model's size); ``labels``: one class label per image. ``label`` in
    each item is the class index in ``classes`` (the synthesizer's training order).
    """

    def __init__(self, images: Any, labels: Sequence[Any], synthesizer: Any,
                 synthetic_share: Share = 0.5, *, transform: Callable | None = None,
                 seed: int = 0, redraw_each_epoch: bool = False) -> None:  # fmt: skip
        self.synthesizer = synthesizer
        self.classes = [str(c) for c in synthesizer.classes_]
        self.seed, self.redraw_each_epoch = seed, redraw_each_epoch
        self._real = self._real_items(torch.as_tensor(np.asarray(images), dtype=torch.float32),
                                      [str(x) for x in labels])  # fmt: skip
        real_counts = {c: sum(1 for item in self._real if item["label"] == i)
                       for i, c in enumerate(self.classes)}  # fmt: skip
        self.synthetic_counts = synthetic_counts(real_counts, synthetic_share)
        self.epoch = 0
        super().__init__(self._real + self._draw(seed), transform=transform)

    @classmethod
    def from_image_dataset(cls, data: Any, synthesizer: Any, synthetic_share: Share = 0.5,
                           **options: Any) -> MixedScanDataset:  # fmt: skip
        """From an ``ImageDataset`` (e.g. ``load_image_dataset(...)`` or one of its splits)."""
        return cls(data.images, data.labels, synthesizer, synthetic_share, **options)

    def set_epoch(self, epoch: int) -> None:
        """With ``redraw_each_epoch``: draw this epoch's synthetic items (seed ``seed + epoch``)."""
        if self.redraw_each_epoch and epoch != self.epoch:
            self.epoch = epoch
            self.data = self._real + self._draw(self.seed + epoch)

    @property
    def n_synthetic(self) -> int:
        return sum(self.synthetic_counts.values())

    def _real_items(self, images: torch.Tensor, labels: list[str]) -> list[dict[str, Any]]:
        if len(images) != len(labels):
            raise SamplingError(f"{len(images)} images but {len(labels)} labels")
        unknown = sorted(set(labels) - set(self.classes))
        if unknown:
            raise SamplingError(f"label {unknown[0]!r} was never seen by the synthesizer; "
                                f"its classes: {', '.join(self.classes)}")
        index = {c: i for i, c in enumerate(self.classes)}
        return [{"image": image, "label": index[label], "synthetic": False}
                for image, label in zip(images, labels)]  # fmt: skip

    def _draw(self, seed: int) -> list[dict[str, Any]]:
        drawn = self.synthesizer.generate(self.synthetic_counts, seed=seed)
        images = torch.as_tensor(np.asarray(drawn.images), dtype=torch.float32)
        if self._real and len(images) and images.shape[1:] != self._real[0]["image"].shape:
            raise SamplingError(
                f"real images are {tuple(self._real[0]['image'].shape)} but the model makes "
                f"{tuple(images.shape[1:])}: load them at the model's image size"
            )
        index = {c: i for i, c in enumerate(self.classes)}
        return [{"image": image, "label": index[str(label)], "synthetic": True}
                for image, label in zip(images, drawn.labels)]  # fmt: skip

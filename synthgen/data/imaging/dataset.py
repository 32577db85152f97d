"""``ImageDataset``: scans or 2D images as one in-memory tensor in [-1, 1], with what is needed
to go back.

``load_image_dataset`` (``loading.py``) reads (a) a folder of NIfTI/PNG with a manifest, (b) one
sub-folder per class (``files.py``), or (c) a MedMNIST-style ``.npz`` (``npz.py``); runs the
MONAI chain from ``transforms.py``; cuts axial slices when 2D is asked of volumes; and records a
JSON-safe ``reference`` (``reference.py``: affine, spacing, dtype, intensity range, input shape)
so that synthetic images can be written back in the input's own space, dtype and intensity
range.

Decisions on awkward input: all-zero or constant images carry no anatomy and would divide by
zero in intensity scaling, so they are skipped with a warning (listed in ``skipped``); a class
left with no images is then an error. Everything else that is wrong is a one-line ``DataError``
naming the file.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field, replace
from typing import Any

import torch


@dataclass
class ImageDataset:
    """Preprocessed images, one row per 2D image / slice / volume.

    images        float32 ``(N, 1, *spatial)`` in [-1, 1]
    labels        class label per item (str)
    patient_ids   patient (or source volume/file) per item, for patient-level splits
    item_ids      unique id per item (file stem, ``volume:z042`` for slices, ``train-17`` for npz)
    source_split  npz only: the file's own split per item ("train" / "val" / "test")
    reference     JSON-safe: format, affine, spacing, dtype, intensity ranges, input shape
    transforms    JSON-safe description of the preprocessing chain
    skipped       ``"file: reason"`` for inputs left out (all-zero images, empty volumes)
    """

    images: torch.Tensor
    labels: list[str]
    patient_ids: list[str]
    item_ids: list[str]
    source_format: str
    spatial_dims: int
    condition: str
    reference: dict[str, Any]
    transforms: list[dict[str, Any]]
    source_split: list[str] | None = None
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def classes(self) -> list[str]:
        return sort_labels(set(self.labels))

    def class_counts(self) -> dict[str, int]:
        counts = collections.Counter(self.labels)
        return {label: counts[label] for label in self.classes}

    def subset(self, indices) -> ImageDataset:
        """The items at ``indices`` (e.g. a train split); the reference is kept whole."""
        idx = [int(i) for i in indices]
        pick = lambda seq: [seq[i] for i in idx]  # noqa: E731
        return replace(
            self,
            images=self.images[torch.as_tensor(idx, dtype=torch.long)],
            labels=pick(self.labels),
            patient_ids=pick(self.patient_ids),
            item_ids=pick(self.item_ids),
            source_split=pick(self.source_split) if self.source_split is not None else None,
        )


def sort_labels(labels) -> list[str]:
    """Numeric labels in numeric order ("2" before "10"), others alphabetically."""
    labels = list(labels)
    if all(s.lstrip("-").isdigit() for s in labels):
        return sorted(labels, key=int)
    return sorted(labels)

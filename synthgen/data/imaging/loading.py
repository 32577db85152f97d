"""``load_image_dataset``: a folder of NIfTI / PNG files or a MedMNIST-style ``.npz`` in, one
``ImageDataset`` out (see ``dataset`` for what it holds and the decisions on awkward input)."""

from __future__ import annotations

from pathlib import Path

from synthgen.data.imaging.dataset import ImageDataset
from synthgen.data.imaging.discover import discover
from synthgen.data.imaging.files import load_files
from synthgen.data.imaging.npz import load_npz
from synthgen.data.imaging.options import LoadOptions, SizeRule
from synthgen.errors import DataError


def load_image_dataset(
    path: str | Path,
    condition: str,
    *,
    labels: str | Path | None = None,
    image_column: str = "image",
    patient_column: str = "patient_id",
    spatial_dims: int | None = None,
    image_size: int | SizeRule = 64,
    pixdim: list[float] | None = None,
    percentiles: tuple[float, float] = (0.5, 99.5),
    slice_min_foreground: float = 0.05,
    slice_range: tuple[float, float] = (0.0, 1.0),
    min_classes: int = 2,
) -> ImageDataset:
    """Read images from ``path`` (folder or ``.npz``); see the ``dataset`` module docstring."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if spatial_dims not in (None, 2, 3):
        raise DataError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
    opts = LoadOptions(spatial_dims, image_size, pixdim, tuple(percentiles),
                       slice_min_foreground, tuple(slice_range))
    if path.is_file() and path.suffix.lower() == ".npz":
        data = load_npz(path, condition, opts)
    elif path.is_dir():
        items = discover(path, condition, labels=Path(labels) if labels else None,
                         image_column=image_column, patient_column=patient_column)
        data = load_files(items, condition, opts)
    else:
        raise DataError(f"{path}: expected a folder of scans/PNGs or a MedMNIST-style .npz file")
    if min_classes > 1:
        _check_classes(data, path)
    return data


def _check_classes(data: ImageDataset, path: Path) -> None:
    if len(data.classes) < 2:
        only = data.classes[0] if data.classes else "(none)"
        raise DataError(f"{path}: found only class {only!r}; a conditional model needs two or more "
                        "classes (is the condition column right?)")

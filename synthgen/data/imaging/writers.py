"""Write synthetic images in the input's own format, and preview grids.

- NIfTI input -> a folder of ``synthetic_00000.nii.gz`` files on the training grid (the
  reference affine and spacing), intensities mapped back to the input range and dtype, with a
  fresh header (nothing copied from patient files) and a ``labels.csv`` marking every row
  ``synthetic=1``. The folder reads back with ``load_image_dataset``.
- PNG input -> a folder of PNGs at the input's size and bit depth, plus ``labels.csv``.
- ``.npz`` input -> a MedMNIST-style ``.npz`` (``train_images``, ``train_labels``) in the
  input's dtypes.
Every output is staged and renamed into place, so it is complete or absent.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from synthgen.atomic import staged_dir, staged_file
from synthgen.data.imaging.dataset import sort_labels
from synthgen.errors import UserError

FORMATS = ("nifti", "png", "npz")


def write_images(samples, out: str | Path, reference: dict[str, Any], fmt: str | None = None) -> Path:
    """Write ``samples`` (``.images`` ``(N, 1, *spatial)`` in [-1, 1], ``.labels``) to ``out``.

    ``fmt`` defaults to the training data's format. Returns the file or folder written.
    """
    fmt = fmt or reference["source_format"]
    if fmt not in FORMATS:
        raise UserError(f"output format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    images = np.asarray(samples.images, dtype=np.float32)[:, 0]
    labels = [str(label) for label in samples.labels]
    condition = getattr(samples, "condition", None) or reference.get("condition") or "label"
    out = Path(out)
    if fmt in ("npz", "png"):
        values = to_input_intensity(to_input_shape(images, reference), labels, reference)
        if fmt == "npz":
            return _write_npz(out, values, labels, reference)
        return _write_folder(out, values, labels, condition, _save_png, ".png")
    values = to_input_intensity(images, labels, reference)
    save = lambda path, array: _save_nifti(path, array, reference)  # noqa: E731
    return _write_folder(out, values, labels, condition, save, ".nii.gz")


# ---------------------------------------------------------------------------------------------
# Back to the input's intensities and size
# ---------------------------------------------------------------------------------------------


def to_input_intensity(images: np.ndarray, labels: Sequence[str], reference: dict[str, Any]) -> np.ndarray:
    """[-1, 1] -> the input's intensity range (per class where known) and dtype."""
    ranges = reference["intensity"]
    dtype = np.dtype(reference["dtype"])
    lo = np.array([ranges["per_class"].get(lab, ranges["global"])[0] for lab in labels])
    hi = np.array([ranges["per_class"].get(lab, ranges["global"])[1] for lab in labels])
    shape = (-1,) + (1,) * (images.ndim - 1)
    unit = (np.clip(images, -1.0, 1.0) + 1.0) / 2.0
    values = lo.reshape(shape) + unit * (hi - lo).reshape(shape)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)


def to_input_shape(images: np.ndarray, reference: dict[str, Any]) -> np.ndarray:
    """Undo the pad-to-square and resize of 2D float images: back to the input's (most common)
    size. Volumes stay on the training grid (their affine says where that grid lies)."""
    target = tuple(reference["input_shape"])
    size = images.shape[1:]
    if len(target) != len(size) or target == size:
        return images
    # Same arithmetic as MONAI Resize(size_mode="longest") + symmetric padding.
    scale = size[0] / max(target)
    inner = [int(round(t * scale)) for t in target]
    crop = tuple(slice((s - n) // 2, (s - n) // 2 + n) for s, n in zip(size, inner))
    x = torch.from_numpy(images[(slice(None),) + crop].astype(np.float32)).unsqueeze(1)
    mode = "area" if all(t <= n for t, n in zip(target, inner)) else "bilinear"
    return F.interpolate(x, size=target, mode=mode)[:, 0].numpy()


# ---------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------


def _write_folder(out: Path, values, labels, condition: str, save, suffix: str) -> Path:
    with staged_dir(out) as tmp:
        rows = []
        for i, (array, label) in enumerate(zip(values, labels)):
            name = f"synthetic_{i:05d}{suffix}"
            save(tmp / name, array)
            rows.append({"image": name, condition: label, "synthetic": 1})
        with open(tmp / "labels.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["image", condition, "synthetic"])
            writer.writeheader()
            writer.writerows(rows)
    return out


def _save_nifti(path: Path, array: np.ndarray, reference: dict[str, Any]) -> None:
    import nibabel as nib

    affine = np.asarray(reference["affine"], dtype=np.float64)
    # A fresh header: nothing (descrip, db_name, aux_file, intent_name) from patient files.
    image = nib.Nifti1Image(array, affine)
    header = image.header
    header.set_data_dtype(array.dtype)
    header.set_xyzt_units("mm")
    header["descrip"] = b"synthgen synthetic"
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nib.save(image, str(path))


def _save_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    # MONAI's PIL reader loads PNGs as (width, height); transpose back to rows x columns.
    Image.fromarray(np.ascontiguousarray(array.T)).save(path)


def _write_npz(out: Path, values: np.ndarray, labels, reference: dict[str, Any]) -> Path:
    path = out if out.suffix.lower() == ".npz" else out / "synthetic.npz"
    label_dtype = np.dtype(reference.get("label_dtype", "int64"))
    y = np.array([int(label) for label in labels], dtype=label_dtype).reshape(-1, 1)
    with staged_file(path) as tmp, open(tmp, "wb") as f:
        # A file object, not a name: numpy would append ".npz" to the staged name.
        np.savez_compressed(f, train_images=values, train_labels=y)
    return path


# ---------------------------------------------------------------------------------------------
# Preview
# ---------------------------------------------------------------------------------------------


def preview_grid(
    images,
    labels: Sequence[str],
    *,
    per_class: int = 8,
    reference: dict[str, Any] | None = None,
    cell: int = 64,
) -> bytes:
    """A PNG with one row per class (up to ``per_class`` images; middle axial slice for 3D)."""
    from PIL import Image, ImageDraw

    array = np.asarray(images, dtype=np.float32)[:, 0]
    fmt = (reference or {}).get("source_format", "npz")
    classes = sort_labels(set(map(str, labels)))
    margin = 8 + 7 * max(len(c) for c in classes)
    scale = max(1, math.ceil(cell / array.shape[1]))
    side = array.shape[1] * scale
    grid = Image.new("L", (margin + per_class * (side + 2), len(classes) * (side + 2)), 0)
    draw = ImageDraw.Draw(grid)
    for row, label in enumerate(classes):
        draw.text((4, row * (side + 2) + side // 2 - 5), label, fill=255)
        picks = [i for i, lab in enumerate(labels) if str(lab) == label][:per_class]
        for col, i in enumerate(picks):
            tile = _display(array[i], fmt)
            tile = np.clip((tile + 1.0) * 127.5, 0, 255).astype(np.uint8)
            img = Image.fromarray(tile).resize((tile.shape[1] * scale, tile.shape[0] * scale),
                                               Image.NEAREST)
            grid.paste(img, (margin + col * (side + 2), row * (side + 2)))
    buf = io.BytesIO()
    grid.save(buf, format="PNG")
    return buf.getvalue()


def _display(image: np.ndarray, fmt: str) -> np.ndarray:
    """A 2D view the right way up: middle axial slice of volumes; RAS arrays rotated."""
    if image.ndim == 3:
        image = image[:, :, image.shape[2] // 2]
    if fmt == "nifti":
        return np.rot90(image)  # (R, A) -> anterior at the top
    if fmt == "png":
        return image.T
    return image

"""MedMNIST-style ``.npz`` in: ``<split>_images`` / ``<split>_labels`` arrays, the file's own
splits kept (its test split stays the test split). All images are preprocessed at once."""

from __future__ import annotations

import collections
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from synthgen.data.imaging import transforms as T
from synthgen.data.imaging.dataset import ImageDataset
from synthgen.data.imaging.options import LoadOptions
from synthgen.data.imaging.read_errors import root_cause
from synthgen.data.imaging.reference import build_reference, fixed_range
from synthgen.errors import DataError

log = logging.getLogger(__name__)

NPZ_SPLITS = ("train", "val", "test")


@dataclass
class _Stacked:
    """Every split's images in one array, with a label and a split name per image."""

    images: np.ndarray
    labels: list[str]
    split_of: list[str]
    splits: list[str]  # the file's splits, in NPZ_SPLITS order
    label_dtype: str


def load_npz(path: Path, condition: str, opts: LoadOptions) -> ImageDataset:
    stacked = _stack(path, _read(path))
    stack = stacked.images
    ndim = stack.ndim - 1
    dims = opts.spatial_dims or ndim
    if dims != ndim:
        raise DataError(f"{path}: holds {ndim}D images; spatial_dims={dims} is not possible for .npz")
    ids = [f"{s}-{i}" for s, n in collections.Counter(stacked.split_of).items() for i in range(n)]
    keep, skipped = _not_blank(path, stack, ids)

    dtype = str(stack.dtype)
    fixed = (fixed_range(dtype) if np.issubdtype(stack.dtype, np.integer)
             else (float(stack.min()), float(stack.max())))
    intensity_steps = T.intensity_steps(fixed_range=fixed, percentiles=opts.percentiles)
    size = opts.side([tuple(stack.shape[1:])])
    shape_steps = T.shape_steps(dims, size)
    from monai.data import MetaTensor

    # All images at once: the items ride in the channel axis, so each transform runs once.
    batch = MetaTensor(torch.from_numpy(stack[keep].astype(np.float32)))
    out = T.compose(intensity_steps + shape_steps)({T.KEY: batch})[T.KEY]

    pick = lambda seq: [seq[i] for i in keep]  # noqa: E731
    kept_labels = pick(stacked.labels)
    reference = build_reference(
        fmt="npz", dims=dims, input_ndim=ndim, image_size=size, affine=np.eye(4).tolist(),
        dtype=dtype, ranges={lab: [fixed] for lab in set(kept_labels)}, fixed=True,
        input_shape=stack.shape[1:], condition=condition,
    )
    reference["label_dtype"] = stacked.label_dtype
    steps = [{"name": "numpy.load", "args": {"keys": [f"{s}_images" for s in stacked.splits]}}]
    steps += T.describe(intensity_steps + shape_steps)
    return ImageDataset(
        images=out.as_tensor().float().unsqueeze(1).contiguous(), labels=kept_labels,
        patient_ids=pick(ids), item_ids=pick(ids), source_format="npz", spatial_dims=dims,
        condition=condition, reference=reference, transforms=steps,
        source_split=pick(stacked.split_of), skipped=skipped,
    )


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
        return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({root_cause(e)})") from None


def _stack(path: Path, arrays: dict[str, np.ndarray]) -> _Stacked:
    """The splits' images (RGB made grayscale) and labels, checked and concatenated."""
    splits = [s for s in NPZ_SPLITS if f"{s}_images" in arrays]
    if not splits:
        raise DataError(f"{path}: no '<split>_images' arrays (expected train_images, train_labels, ...)")
    images, labels, split_of = [], [], []
    for split in splits:
        x = arrays[f"{split}_images"]
        y = _labels(path, split, arrays.get(f"{split}_labels"), len(x))
        if x.ndim == 4 and x.shape[-1] in (3, 4):  # RGB(A) -> grayscale
            x = x[..., :3].mean(axis=-1).astype(x.dtype)
        images.append(x)
        labels += [str(v) for v in y.tolist()]
        split_of += [split] * len(x)
    if len({im.shape[1:] for im in images}) > 1:
        raise DataError(f"{path}: splits have different image shapes")
    stack = np.concatenate(images)
    if stack.ndim not in (3, 4):
        raise DataError(f"{path}: images have shape {stack.shape}; expected N x H x W or N x D x H x W")
    if np.issubdtype(stack.dtype, np.floating) and np.isnan(stack).any():
        raise DataError(f"{path}: images contain NaN values")
    return _Stacked(stack, labels, split_of, splits, str(arrays[f"{splits[0]}_labels"].dtype))


def _labels(path: Path, split: str, y, n: int) -> np.ndarray:
    if y is None or len(y) != n:
        raise DataError(f"{path}: {split}_labels missing or not one label per image")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{path}: {split}_labels has shape {y.shape}; multi-label data is not supported")
    return y


def _not_blank(path: Path, stack: np.ndarray, ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """Indices of the images that carry something, and a line for each all-zero/constant one."""
    flat = stack.reshape(len(stack), -1)
    blank = flat.max(axis=1) == flat.min(axis=1)
    skipped = [f"{path}:{ids[i]}: all-zero or constant image" for i in np.flatnonzero(blank)]
    if skipped:
        log.warning("%s: %d all-zero or constant images skipped", path, len(skipped))
    return np.flatnonzero(~blank), skipped

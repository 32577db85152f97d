"""Load scans or 2D images into one in-memory tensor in [-1, 1], with what is needed to go back.

``load_image_dataset`` reads (a) a folder of NIfTI/PNG with a manifest, (b) one sub-folder per
class, or (c) a MedMNIST-style ``.npz``; runs the MONAI chain from ``transforms.py``; cuts axial
slices when 2D is asked of volumes; and records a JSON-safe ``reference`` (affine, spacing,
dtype, intensity range, input shape) so that synthetic images can be written back in the
input's own space, dtype and intensity range.

Decisions on awkward input: all-zero or constant images carry no anatomy and would divide by
zero in intensity scaling, so they are skipped with a warning (listed in ``skipped``); a class
left with no images is then an error. Everything else that is wrong is a one-line ``DataError``
naming the file.
"""

from __future__ import annotations

import collections
import gzip
import logging
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthgen.data.imaging import transforms as T
from synthgen.data.imaging.discover import ScanItem, discover, file_format
from synthgen.data.imaging.slicing import axial_slice_indices, take_axial
from synthgen.errors import DataError

log = logging.getLogger(__name__)

NPZ_SPLITS = ("train", "val", "test")


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
    """Read images from ``path`` (folder or ``.npz``); see the module docstring."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if spatial_dims not in (None, 2, 3):
        raise DataError(f"spatial_dims must be 2 or 3, got {spatial_dims}")
    opts = _Options(spatial_dims, image_size, pixdim, tuple(percentiles),
                    slice_min_foreground, tuple(slice_range))
    if path.is_file() and path.suffix.lower() == ".npz":
        data = _load_npz(path, condition, opts)
    elif path.is_dir():
        items = discover(path, condition, labels=Path(labels) if labels else None,
                         image_column=image_column, patient_column=patient_column)
        data = _load_files(items, condition, opts)
    else:
        raise DataError(f"{path}: expected a folder of scans/PNGs or a MedMNIST-style .npz file")
    if min_classes > 1:
        _check_classes(data, path)
    return data


# Picks the side from the inputs' shapes in model space (a volume's axial slice for 2D from
# 3D); gets an empty list when resampling (pixdim) makes them unknown beforehand.
SizeRule = Callable[[list[tuple[int, ...]]], int]


def _side(image_size: int | SizeRule, shapes: list[tuple[int, ...]]) -> int:
    return image_size if isinstance(image_size, int) else int(image_size(shapes))


@dataclass(frozen=True)
class _Options:
    spatial_dims: int | None
    image_size: int | SizeRule
    pixdim: list[float] | None
    percentiles: tuple[float, float]
    slice_min_foreground: float
    slice_range: tuple[float, float]


# ---------------------------------------------------------------------------------------------
# Folder of files (NIfTI or PNG)
# ---------------------------------------------------------------------------------------------


@dataclass
class _Loaded:
    """One file after loading: channel-first tensor in RAS plus what the reference needs."""

    item: ScanItem
    image: Any  # MetaTensor (1, *spatial)
    dtype: str
    rgb: bool = False  # a colour PNG, averaged to grey


def _load_files(items: list[ScanItem], condition: str, opts: _Options) -> ImageDataset:
    fmt = _single_format(items)
    loaded, skipped = [], []
    for item in items:
        one = _load_one(item, fmt)
        if _is_blank(one.image):
            log.warning("%s: all-zero or constant image, skipped", item.path)
            skipped.append(f"{item.path}: all-zero or constant image")
            continue
        loaded.append(one)
    if not loaded:
        raise DataError(f"{items[0].path.parent}: every image is all-zero or constant")
    _same_channels(loaded)
    ndim = _single_ndim(loaded)
    dims = opts.spatial_dims or ndim
    if dims == 3 and ndim == 2:
        raise DataError(f"{loaded[0].item.path}: 2D images cannot train a 3D model (use spatial_dims=2)")

    fixed = _fixed_range(loaded[0].dtype) if fmt == "png" else None
    load_steps = T.load_steps(ndim)
    intensity_steps = T.intensity_steps(fixed_range=fixed, percentiles=opts.percentiles,
                                        pixdim=opts.pixdim)
    shapes = [] if opts.pixdim else [tuple(o.image.shape[1:1 + dims]) for o in loaded]
    size = _side(opts.image_size, shapes)
    shape_steps = T.shape_steps(dims, size)
    intensity, shape = T.compose(intensity_steps), T.compose(shape_steps)

    images, labels, patients, ids = [], [], [], []
    ranges: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    input_shapes, affine = [], None
    for one in loaded:
        raw = one.image
        input_shapes.append(tuple(raw.shape[1:]))
        ranges[one.item.label].append(fixed or _percentile_range(raw, opts.percentiles))
        scaled = intensity({T.KEY: raw})[T.KEY]
        if dims == ndim:
            out = shape({T.KEY: scaled})[T.KEY].unsqueeze(0)  # (1, 1, *spatial)
            item_ids = [one.item.item_id]
        else:  # 2D slices from a volume
            keep = axial_slice_indices(scaled, min_foreground=opts.slice_min_foreground,
                                       slice_range=opts.slice_range)
            if not keep:
                log.warning("%s: no axial slice has enough foreground, skipped", one.item.path)
                skipped.append(f"{one.item.path}: no slice with enough foreground")
                continue
            stack = _meta_like(take_axial(scaled, keep), scaled)
            out = shape({T.KEY: stack})[T.KEY].unsqueeze(1)
            item_ids = [f"{one.item.item_id}:z{z:03d}" for z in keep]
        affine = affine if affine is not None else _affine_of(out)
        images.append(out.as_tensor().float() if hasattr(out, "as_tensor") else out.float())
        labels += [one.item.label] * len(item_ids)
        patients += [one.item.patient_id] * len(item_ids)
        ids += item_ids
    if not images:
        raise DataError(f"{items[0].path.parent}: no volume has a slice with enough foreground")
    for label in sort_labels({i.label for i in items} - set(labels)):
        first = next(i.path for i in items if i.label == label)
        raise DataError(f"{first}: class {label!r} has no usable images "
                        "(all-zero, constant, or no slice with enough foreground)")

    steps = T.describe(load_steps + intensity_steps)
    if dims != ndim:
        steps.append({"name": "AxialSlices", "args": {
            "min_foreground": opts.slice_min_foreground, "slice_range": list(opts.slice_range),
            "foreground_level": 0.05}})
    steps += T.describe(shape_steps)
    reference = _reference(
        fmt=fmt, dims=dims, input_ndim=ndim, image_size=size, affine=affine,
        dtype=loaded[0].dtype, ranges=ranges, fixed=fixed is not None,
        input_shape=collections.Counter(input_shapes).most_common(1)[0][0], condition=condition,
    )
    return ImageDataset(
        images=torch.cat(images).contiguous(), labels=labels, patient_ids=patients, item_ids=ids,
        source_format=fmt, spatial_dims=dims, condition=condition, reference=reference,
        transforms=steps, skipped=skipped,
    )


def _single_format(items: list[ScanItem]) -> str:
    formats = collections.Counter(file_format(i.path) for i in items)
    if len(formats) > 1:
        rare = min(formats, key=formats.get)
        odd = next(i.path for i in items if file_format(i.path) == rare)
        raise DataError(f"{odd}: mixes {rare} with {', '.join(f for f in formats if f != rare)} files; "
                        "use one image format per data set")
    return next(iter(formats))


def _load_one(item: ScanItem, fmt: str) -> _Loaded:
    """Read one file into a channel-first, RAS-oriented float tensor; checks shape and NaNs."""
    load = T.compose(T.load_steps(3)[:1])  # LoadImaged only: shape checks come before the rest
    if item.path.name.lower().endswith(".gz"):
        _check_gzip(item.path)
    try:
        raw = load({T.KEY: str(item.path)})[T.KEY]
    except Exception as e:  # noqa: BLE001 - any reader failure is a bad file, named below
        raise DataError(f"{item.path}: cannot read image ({_root_cause(e)})") from None
    rgb = fmt == "png" and raw.ndim == 3
    if rgb:  # RGB(A) screenshot of a grayscale image; its channel axis is gone now
        raw = raw[..., :3].mean(dim=-1)
        raw.meta["original_channel_dim"] = "no_channel"
    while fmt == "nifti" and raw.ndim > 3 and raw.shape[-1] == 1:
        raw = raw[..., 0]
    if raw.ndim not in (2, 3):
        raise DataError(f"{item.path}: {raw.ndim}D image {tuple(raw.shape)}; synthgen takes 2D "
                        "images or 3D volumes (split 4D series into volumes)")
    if torch.isnan(raw).any():
        raise DataError(f"{item.path}: contains NaN voxels")
    ndim = raw.ndim
    rest = T.compose(T.load_steps(ndim)[1:])
    image = rest({T.KEY: raw})[T.KEY]
    return _Loaded(item, image, _file_dtype(item.path, fmt), rgb)


def _check_gzip(path: Path) -> None:
    """nibabel stops reading at the end of the voxels, before gzip's CRC: a damaged .nii.gz
    would load as silently wrong voxels. Read the stream to its end once to check it."""
    try:
        with gzip.open(path, "rb") as f:
            while f.read(1 << 22):
                pass
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read image (damaged gzip: {_root_cause(e)})") from None


def _root_cause(e: BaseException) -> str:
    while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__
    # nibabel: "Expected 65536 bytes, got 32592 ...\n - could the file be damaged?": keep both
    text = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _file_dtype(path: Path, fmt: str) -> str:
    if fmt == "nifti":
        import nibabel as nib

        header = nib.load(str(path)).header
        slope = header.get_slope_inter()[0]
        return "float32" if slope not in (None, 1.0) else str(header.get_data_dtype())
    from PIL import Image

    with Image.open(path) as im:
        return "uint16" if im.mode.startswith("I;16") or im.mode == "I" else "uint8"


def _is_blank(image: torch.Tensor) -> bool:
    return bool(image.max() == image.min())


def _same_channels(loaded: list[_Loaded]) -> None:
    """Colour among greyscale is a mistake (a screenshot in a scan folder): name the odd file."""
    colour = [one for one in loaded if one.rgb]
    if colour and len(colour) < len(loaded):
        odd, among = (colour[0], "grayscale") if len(colour) <= len(loaded) / 2 else (
            next(one for one in loaded if not one.rgb), "RGB")
        what = "RGB" if odd.rgb else "grayscale"
        raise DataError(f"{odd.item.path}: {what} image among {among} ones; save every image "
                        "with the same channels (grayscale scans)")


def _single_ndim(loaded: list[_Loaded]) -> int:
    ndims = collections.Counter(one.image.ndim - 1 for one in loaded)
    if len(ndims) > 1:
        rare = min(ndims, key=ndims.get)
        odd = next(one.item.path for one in loaded if one.image.ndim - 1 == rare)
        raise DataError(f"{odd}: {rare}D image among {'/'.join(str(n) for n in ndims if n != rare)}D "
                        "ones; all images must have the same dimensionality")
    return next(iter(ndims))


def _meta_like(stack: torch.Tensor, source) -> Any:
    from monai.data import MetaTensor

    return MetaTensor(stack.as_tensor() if hasattr(stack, "as_tensor") else stack,
                      affine=source.affine.clone())


def _affine_of(image) -> list[list[float]]:
    affine = getattr(image, "affine", None)
    if affine is None:
        return np.eye(4).tolist()
    return np.asarray(affine, dtype=np.float64).tolist()


def _percentile_range(image: torch.Tensor, percentiles: tuple[float, float]) -> tuple[float, float]:
    lo, hi = np.percentile(np.asarray(image, dtype=np.float32), percentiles)
    return float(lo), float(hi)


def _fixed_range(dtype: str) -> tuple[float, float]:
    return (0.0, float(np.iinfo(dtype).max)) if np.issubdtype(np.dtype(dtype), np.integer) else (0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# MedMNIST-style .npz
# ---------------------------------------------------------------------------------------------


def _load_npz(path: Path, condition: str, opts: _Options) -> ImageDataset:
    try:
        archive = np.load(path, allow_pickle=False)
        arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({_root_cause(e)})") from None
    splits = [s for s in NPZ_SPLITS if f"{s}_images" in arrays]
    if not splits:
        raise DataError(f"{path}: no '<split>_images' arrays (expected train_images, train_labels, ...)")
    images, labels, split_of = [], [], []
    for split in splits:
        x, y = arrays[f"{split}_images"], arrays.get(f"{split}_labels")
        if y is None or len(y) != len(x):
            raise DataError(f"{path}: {split}_labels missing or not one label per image")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise DataError(f"{path}: {split}_labels has shape {y.shape}; multi-label data is not supported")
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
    ndim = stack.ndim - 1
    dims = opts.spatial_dims or ndim
    if dims != ndim:
        raise DataError(f"{path}: holds {ndim}D images; spatial_dims={dims} is not possible for .npz")

    flat = stack.reshape(len(stack), -1)
    blank = flat.max(axis=1) == flat.min(axis=1)
    ids = [f"{s}-{i}" for s, n in collections.Counter(split_of).items() for i in range(n)]
    skipped = [f"{path}:{ids[i]}: all-zero or constant image" for i in np.flatnonzero(blank)]
    if skipped:
        log.warning("%s: %d all-zero or constant images skipped", path, len(skipped))
    keep = np.flatnonzero(~blank)

    dtype = str(stack.dtype)
    fixed = (_fixed_range(dtype) if np.issubdtype(stack.dtype, np.integer)
             else (float(stack.min()), float(stack.max())))
    intensity_steps = T.intensity_steps(fixed_range=fixed, percentiles=opts.percentiles)
    size = _side(opts.image_size, [tuple(stack.shape[1:])])
    shape_steps = T.shape_steps(dims, size)
    from monai.data import MetaTensor

    # All images at once: the items ride in the channel axis, so each transform runs once.
    batch = MetaTensor(torch.from_numpy(stack[keep].astype(np.float32)))
    out = T.compose(intensity_steps + shape_steps)({T.KEY: batch})[T.KEY]
    tensor = out.as_tensor().float().unsqueeze(1).contiguous()

    pick = lambda seq: [seq[i] for i in keep]  # noqa: E731
    kept_labels = pick(labels)
    reference = _reference(
        fmt="npz", dims=dims, input_ndim=ndim, image_size=size, affine=np.eye(4).tolist(),
        dtype=dtype, ranges={lab: [fixed] for lab in set(kept_labels)}, fixed=True,
        input_shape=stack.shape[1:], condition=condition,
    )
    reference["label_dtype"] = str(arrays[f"{splits[0]}_labels"].dtype)
    steps = [{"name": "numpy.load", "args": {"keys": [f"{s}_images" for s in splits]}}]
    steps += T.describe(intensity_steps + shape_steps)
    return ImageDataset(
        images=tensor, labels=kept_labels, patient_ids=pick(ids), item_ids=pick(ids),
        source_format="npz", spatial_dims=dims, condition=condition, reference=reference,
        transforms=steps, source_split=pick(split_of), skipped=skipped,
    )


# ---------------------------------------------------------------------------------------------
# Shared
# ---------------------------------------------------------------------------------------------


def _reference(*, fmt, dims, input_ndim, image_size, affine, dtype, ranges, fixed, input_shape,
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


def _check_classes(data: ImageDataset, path: Path) -> None:
    if len(data.classes) < 2:
        only = data.classes[0] if data.classes else "(none)"
        raise DataError(f"{path}: found only class {only!r}; a conditional model needs two or more "
                        "classes (is the condition column right?)")

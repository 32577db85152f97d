"""A folder of NIfTI or PNG files in (found by ``discover``): each file read, checked and
oriented; the MONAI chain applied (``transforms``); axial slices cut when 2D is asked of
volumes; one ``ImageDataset`` out."""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from synthgen.data.imaging import transforms as T
from synthgen.data.imaging.dataset import ImageDataset, sort_labels
from synthgen.data.imaging.discover import ScanItem, file_format
from synthgen.data.imaging.options import LoadOptions
from synthgen.data.imaging.read_errors import check_gzip, root_cause
from synthgen.data.imaging.reference import build_reference, fixed_range
from synthgen.data.imaging.slicing import axial_slice_indices, take_axial
from synthgen.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class _Loaded:
    """One file after loading: channel-first tensor in RAS plus what the reference needs."""

    item: ScanItem
    image: Any  # MetaTensor (1, *spatial)
    dtype: str
    rgb: bool = False  # a colour PNG, averaged to grey


@dataclass
class _Chain:
    """The transforms every file goes through, fixed once from all the loaded files."""

    ndim: int  # the inputs' dimensionality
    dims: int  # the model's
    fixed: tuple[float, float] | None  # PNG: the dtype's range; NIfTI: percentiles per image
    load_steps: list
    intensity_steps: list
    shape_steps: list
    size: int
    intensity: Any = None  # the composed steps, built once
    shape: Any = None

    def __post_init__(self) -> None:
        self.intensity, self.shape = T.compose(self.intensity_steps), T.compose(self.shape_steps)

    def describe(self, opts: LoadOptions) -> list[dict[str, Any]]:
        steps = T.describe(self.load_steps + self.intensity_steps)
        if self.dims != self.ndim:
            steps.append({"name": "AxialSlices", "args": {
                "min_foreground": opts.slice_min_foreground, "slice_range": list(opts.slice_range),
                "foreground_level": 0.05}})
        return steps + T.describe(self.shape_steps)


@dataclass
class _Prepared:
    """What preprocessing the files gives, item by item (a volume may give many slices)."""

    images: list[torch.Tensor] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    patients: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    ranges: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: collections.defaultdict(list))
    input_shapes: list[tuple[int, ...]] = field(default_factory=list)
    affine: list[list[float]] | None = None


def load_files(items: list[ScanItem], condition: str, opts: LoadOptions) -> ImageDataset:
    fmt = _single_format(items)
    loaded, skipped = _read_all(items, fmt)
    chain = _chain(loaded, fmt, opts)
    prepared = _Prepared()
    for one in loaded:
        _prepare(one, chain, opts, prepared, skipped)
    if not prepared.images:
        raise DataError(f"{items[0].path.parent}: no volume has a slice with enough foreground")
    for label in sort_labels({i.label for i in items} - set(prepared.labels)):
        first = next(i.path for i in items if i.label == label)
        raise DataError(f"{first}: class {label!r} has no usable images "
                        "(all-zero, constant, or no slice with enough foreground)")
    reference = build_reference(
        fmt=fmt, dims=chain.dims, input_ndim=chain.ndim, image_size=chain.size,
        affine=prepared.affine, dtype=loaded[0].dtype, ranges=prepared.ranges,
        fixed=chain.fixed is not None, condition=condition,
        input_shape=collections.Counter(prepared.input_shapes).most_common(1)[0][0],
    )
    return ImageDataset(
        images=torch.cat(prepared.images).contiguous(), labels=prepared.labels,
        patient_ids=prepared.patients, item_ids=prepared.ids, source_format=fmt,
        spatial_dims=chain.dims, condition=condition, reference=reference,
        transforms=chain.describe(opts), skipped=skipped,
    )


def _read_all(items: list[ScanItem], fmt: str) -> tuple[list[_Loaded], list[str]]:
    """Every file read; all-zero or constant ones skipped with a line each."""
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
    return loaded, skipped


def _chain(loaded: list[_Loaded], fmt: str, opts: LoadOptions) -> _Chain:
    ndim = _single_ndim(loaded)
    dims = opts.spatial_dims or ndim
    if dims == 3 and ndim == 2:
        raise DataError(f"{loaded[0].item.path}: 2D images cannot train a 3D model (use spatial_dims=2)")
    fixed = fixed_range(loaded[0].dtype) if fmt == "png" else None
    shapes = [] if opts.pixdim else [tuple(o.image.shape[1:1 + dims]) for o in loaded]
    size = opts.side(shapes)
    return _Chain(
        ndim=ndim, dims=dims, fixed=fixed, load_steps=T.load_steps(ndim),
        intensity_steps=T.intensity_steps(fixed_range=fixed, percentiles=opts.percentiles,
                                          pixdim=opts.pixdim),
        shape_steps=T.shape_steps(dims, size), size=size,
    )


def _prepare(one: _Loaded, chain: _Chain, opts: LoadOptions, out: _Prepared, skipped: list[str]) -> None:
    """One file through the chain into ``out``: one item, or its axial slices for 2D."""
    raw = one.image
    out.input_shapes.append(tuple(raw.shape[1:]))
    out.ranges[one.item.label].append(chain.fixed or _percentile_range(raw, opts.percentiles))
    scaled = chain.intensity({T.KEY: raw})[T.KEY]
    shape = chain.shape
    if chain.dims == chain.ndim:
        image = shape({T.KEY: scaled})[T.KEY].unsqueeze(0)  # (1, 1, *spatial)
        item_ids = [one.item.item_id]
    else:  # 2D slices from a volume
        keep = axial_slice_indices(scaled, min_foreground=opts.slice_min_foreground,
                                   slice_range=opts.slice_range)
        if not keep:
            log.warning("%s: no axial slice has enough foreground, skipped", one.item.path)
            skipped.append(f"{one.item.path}: no slice with enough foreground")
            return
        stack = _meta_like(take_axial(scaled, keep), scaled)
        image = shape({T.KEY: stack})[T.KEY].unsqueeze(1)
        item_ids = [f"{one.item.item_id}:z{z:03d}" for z in keep]
    out.affine = out.affine if out.affine is not None else _affine_of(image)
    out.images.append(image.as_tensor().float() if hasattr(image, "as_tensor") else image.float())
    out.labels += [one.item.label] * len(item_ids)
    out.patients += [one.item.patient_id] * len(item_ids)
    out.ids += item_ids


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
        check_gzip(item.path)
    try:
        raw = load({T.KEY: str(item.path)})[T.KEY]
    except Exception as e:  # noqa: BLE001 - any reader failure is a bad file, named below
        raise DataError(f"{item.path}: cannot read image ({root_cause(e)})") from None
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

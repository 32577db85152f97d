"""Find the scans and their labels: a manifest (``labels.csv``) or one sub-folder per class.

Only paths inside the data folder are accepted (no absolute paths, no ``..`` or symlinks that
leave it), so a manifest can never make synthgen read, or later echo, files elsewhere.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from synthgen.errors import DataError

NIFTI_SUFFIXES = (".nii.gz", ".nii")
PNG_SUFFIXES = (".png",)
# Files that may sit beside images in class folders (BIDS sidecars, notes) and are not images.
_SIDECAR_SUFFIXES = (".json", ".txt", ".csv", ".tsv", ".md")


@dataclass(frozen=True)
class ScanItem:
    """One image file with its class label and the patient it belongs to."""

    path: Path
    label: str
    patient_id: str
    item_id: str


def file_format(path: Path) -> str | None:
    """``"nifti"``, ``"png"`` or None for an extension synthgen does not read."""
    name = path.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    if name.endswith(PNG_SUFFIXES):
        return "png"
    return None


def _item_id(rel: Path) -> str:
    name = rel.as_posix()
    for suffix in NIFTI_SUFFIXES + PNG_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def discover(
    folder: Path,
    condition: str,
    *,
    labels: Path | None = None,
    image_column: str = "image",
    patient_column: str = "patient_id",
) -> list[ScanItem]:
    """Items from ``labels`` (default ``folder/labels.csv``) or from class sub-folders."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of images (expected scans + labels.csv)")
    manifest = Path(labels) if labels is not None else folder / "labels.csv"
    if labels is not None or manifest.is_file():
        items = _from_manifest(folder, manifest, condition, image_column, patient_column)
    else:
        items = _from_class_folders(folder)
    if not items:
        raise DataError(f"{folder}: no images found (expected .nii, .nii.gz or .png files)")
    return items


def _from_manifest(
    folder: Path, manifest: Path, condition: str, image_column: str, patient_column: str
) -> list[ScanItem]:
    try:
        with open(manifest, newline="") as f:
            rows = list(csv.DictReader(f))
            header = rows[0].keys() if rows else []
    except OSError as e:
        raise DataError(f"{manifest}: cannot read manifest ({e.strerror or e})") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise DataError(f"{manifest}: not a readable CSV manifest ({e})") from None
    for column in (image_column, condition):
        if column not in header:
            raise DataError(
                f"{manifest}: no column {column!r}; columns are {', '.join(header) or '(none)'}"
            )
    items = []
    for line, row in enumerate(rows, start=2):
        value, label = (row[image_column] or "").strip(), (row[condition] or "").strip()
        if not value or not label:
            raise DataError(f"{manifest}: line {line} has an empty {image_column!r} or {condition!r}")
        path = _inside(folder, value, manifest, line)
        item_id = _item_id(Path(value))
        patient = (row.get(patient_column) or "").strip() or item_id
        items.append(ScanItem(path, label, patient, item_id))
    return items


def _inside(folder: Path, value: str, manifest: Path, line: int) -> Path:
    """The manifest's path as a file inside ``folder``, or a DataError naming it."""
    rel = Path(value)
    if rel.is_absolute():
        raise DataError(f"{manifest}: line {line}: {value!r} is absolute; give paths relative to {folder}")
    path = folder / rel
    root = folder.resolve()
    if not path.resolve().is_relative_to(root):
        raise DataError(f"{manifest}: line {line}: {value!r} points outside the data folder {folder}")
    if not path.is_file():
        raise DataError(f"{path}: listed in {manifest.name} (line {line}) but not found")
    if file_format(path) is None:
        raise DataError(f"{path}: unknown image extension (expected .nii, .nii.gz or .png)")
    return path


def _from_class_folders(folder: Path) -> list[ScanItem]:
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            f"{folder}: no labels.csv and no class sub-folders; add a manifest "
            "(image path + condition column) or one sub-folder per class"
        )
    root = folder.resolve()
    items = []
    for class_dir in classes:
        found = []
        for path in sorted(class_dir.rglob("*")):
            if path.name.startswith(".") or path.is_dir():
                continue
            if not path.resolve().is_relative_to(root):
                raise DataError(f"{path}: symlink points outside the data folder {folder}")
            if file_format(path) is None:
                if path.name.lower().endswith(_SIDECAR_SUFFIXES):
                    continue
                raise DataError(f"{path}: unknown image extension (expected .nii, .nii.gz or .png)")
            rel = path.relative_to(folder)
            found.append(ScanItem(path, class_dir.name, _item_id(rel), _item_id(rel)))
        if not found:
            raise DataError(f"{class_dir}: class folder {class_dir.name!r} has no images")
        items.extend(found)
    return items

"""Which backend a data path belongs to, and a fingerprint that ties a run to its data."""

from __future__ import annotations

import hashlib
from pathlib import Path

from synthgen.errors import DataError

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
IMAGE_FILE_SUFFIXES = (".npz", ".nii", ".nii.gz", ".png")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def detect_modality(path: str | Path) -> str:
    """``"tabular"`` for a table file, ``"image"`` for scans (a folder, .npz, NIfTI, PNG)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return "image"
    suffix = _suffix(path)
    if suffix in TABLE_SUFFIXES:
        return "tabular"
    if suffix in IMAGE_FILE_SUFFIXES:
        return "image"
    known = ", ".join(TABLE_SUFFIXES + IMAGE_FILE_SUFFIXES)
    raise DataError(f"{path}: unknown file type {suffix or '(none)'!r}; expected a folder or {known}")


def fingerprint(path: str | Path) -> str:
    """SHA-256 over the file, or over every file of a folder (relative name + content)."""
    path = Path(path)
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode() + b"\0")
        try:
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except OSError as e:
            raise DataError(f"{f}: cannot read ({e.strerror or e})") from None
    return h.hexdigest()


def dataset_name(path: str | Path) -> str:
    """A short name for experiments and run folders: the file stem or folder name."""
    path = Path(path)
    name = path.name
    for suffix in (".nii.gz",) + TABLE_SUFFIXES + IMAGE_FILE_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-")
    return cleaned or "dataset"

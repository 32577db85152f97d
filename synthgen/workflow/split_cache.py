"""The real train / holdout / test splits, preprocessed once at fit time and cached.

``sample --privacy-filter`` and ``evaluate`` need the real splits. Re-reading and
re-preprocessing the raw data for each (a table's schema checks, a scan folder's MONAI chain)
cost time and needed the data still in place; the cache holds each split as the modality
uses it (tables: the model's columns, rare values pooled; scans: the preprocessed tensors).

It lives *beside* the run folder (``runs/.<name>.splits/``, like the checkpoints), never in
it: the run folder is logged to MLflow, registered and shared, and must not carry patient
rows. ``model.json`` records each cached file's SHA-256 (``split_cache``), so a changed file is
refused in one line. A run folder moved away from its cache falls back to re-reading the data
(``--data PATH``), as does a deleted cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthgen import atomic
from synthgen.data.splits import SPLITS
from synthgen.errors import ModelFileError
from synthgen.modalities import Modality
from synthgen.models.artifact import sha256_file
from synthgen.models.run_document import RunDocument


def cache_dir(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.splits"


def write_split_cache(run_dir: Path, parts: Mapping[str, Any], modality: Modality, doc: RunDocument) -> dict[str, str]:
    """Write every split atomically (the folder appears whole); returns file name -> SHA-256."""
    with atomic.staged_dir(cache_dir(run_dir)) as tmp:
        for name in SPLITS:
            modality.write_split(parts[name], tmp / f"{name}{modality.split_suffix}", doc)
        return {path.name: sha256_file(path) for path in sorted(tmp.iterdir())}


def read_split_cache(model_dir: Path, doc: RunDocument, modality: Modality) -> dict[str, Any] | None:
    """The cached splits, each checked against ``model.json``; ``None`` when there is no cache
    beside this folder (then the caller re-reads the data)."""
    folder = cache_dir(Path(model_dir).resolve())
    if not doc.split_cache or not folder.is_dir():
        return None
    parts = {}
    for name in SPLITS:
        path = folder / f"{name}{modality.split_suffix}"
        if not path.is_file() or sha256_file(path) != doc.split_cache.get(path.name):
            raise ModelFileError(
                f"{path}: missing or changed since the model was fitted (SHA-256 differs from "
                f"model.json); delete {folder} to re-read the training data instead"
            )
        parts[name] = modality.read_split(path, doc)
    return parts

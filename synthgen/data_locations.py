"""Where a model's training data lives, kept out of everything that is shared.

A model folder is copied, logged to MLflow and registered; an absolute input path in it tells
anyone who opens it where patient data sits on which machine. So the folder and the logged
config hold only the data's file name and fingerprint (SHA-256). The location is recorded
beside the run folders, in ``<runs_dir>/.data-locations.json`` (fingerprint -> path), which
never leaves this machine; ``evaluate`` / ``sample --privacy-filter`` find the data there, or
take ``--data PATH`` and check its fingerprint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthgen import atomic
from synthgen.data.sources import fingerprint
from synthgen.errors import DataError

INDEX = ".data-locations.json"


def public_config(config: Any) -> dict[str, Any]:
    """``config.model_dump`` (a FitConfig) with input paths cut to their file names."""
    doc = config.model_dump(mode="json")
    for key in ("path", "labels"):
        if doc["data"].get(key):
            doc["data"][key] = Path(doc["data"][key]).name
    return doc


def remember_data(runs_dir: str | Path, digest: str, path: str | Path) -> None:
    index = _read(Path(runs_dir))
    index[digest] = str(Path(path).resolve())
    atomic.write_text(Path(runs_dir) / INDEX, json.dumps(index, indent=2))


def find_data(model_dir: Path, fingerprint_: str, file: str, given: str | Path | None = None) -> Path:
    """The training data (``file`` by name) of the model in ``model_dir``, checked against its
    fingerprint."""
    digest = fingerprint_
    if given is not None:
        return _checked(Path(given), digest, "no such file or folder",
                        "not the data this model was fitted on (fingerprint differs)")
    recorded = _read(Path(model_dir).resolve().parent).get(digest)
    if recorded is None:
        raise DataError(
            f"{model_dir}: where its training data ({file}) lives is not "
            "recorded on this machine; pass --data PATH"
        )
    return _checked(Path(recorded), digest, "the data this model was fitted on is gone; pass --data PATH",
                    "changed since the model was fitted (fingerprint differs)")


def _checked(path: Path, digest: str, missing: str, differs: str) -> Path:
    """``path`` if it exists and has the fingerprint ``digest``; else a one-line DataError."""
    if not path.exists():
        raise DataError(f"{path}: {missing}")
    if fingerprint(path) != digest:
        raise DataError(f"{path}: {differs}")
    return path


def _read(runs_dir: Path) -> dict[str, str]:
    try:
        doc = json.loads((runs_dir / INDEX).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}

"""The model folder: ``weights.safetensors`` + ``model.json``. Loading executes no code.

``model.json`` carries the format version, the synthesizer kind and metadata, the resolved
config, class counts, training history, the training data's fingerprint and package versions,
and the SHA-256 of the weights file so that a truncated or swapped file is caught on load.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from collections.abc import Mapping
from importlib import metadata as _pkg
from pathlib import Path
from typing import Any, Protocol

from synthgen.errors import ModelFileError
from synthgen.models.document_digests import DIGESTS, edited_key, key_digests
from synthgen.models.registry import synthesizer_class
from synthgen.models.tensor_files import save_tensors

FORMAT = "synthgen-model"
FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
DOCUMENT = "model.json"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("synthgen", "torch", "monai", "numpy", "pandas", "scikit-learn", "nibabel"):
        try:
            out[name] = _pkg.version(name)
        except _pkg.PackageNotFoundError:
            pass
    return out


class Savable(Protocol):
    """What the folder format needs from a fitted synthesizer (``models.base.Synthesizer``
    honours it; named here so this module does not import the contract that imports it)."""

    kind: str
    condition_: str
    class_counts_: dict[str, int]
    history_: dict[str, list[float]]

    def state_tensors(self) -> Mapping[str, Any]: ...

    def metadata(self) -> dict[str, Any]: ...


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_model(folder: Path, synth: Savable, extra: Mapping[str, Any] | None = None) -> Path:
    """Write weights and document into ``folder`` (normally a staged temporary folder)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in synth.state_tensors().items()}
    save_tensors(tensors, folder / WEIGHTS)
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": synth.kind,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "condition": synth.condition_,
        "class_counts": synth.class_counts_,
        "history": synth.history_,
        "weights_sha256": sha256_file(folder / WEIGHTS),
        "versions": package_versions(),
        **dict(extra or {}),
        "metadata": synth.metadata(),
    }
    doc[DIGESTS] = key_digests(doc)
    (folder / DOCUMENT).write_text(json.dumps(doc, indent=2, default=str))
    return folder


def read_document(folder: Path) -> dict[str, Any]:
    """Parse and version-check ``model.json`` without touching the weights."""
    folder = Path(folder)
    path = folder / DOCUMENT
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: no model folder here (run `synthgen fit` first)")
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{path}: missing; {folder} is not a synthgen model folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path}: unreadable or corrupt model document ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a synthgen model document")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} is not supported by this synthgen "
            f"(it reads version {FORMAT_VERSION}); refit or use a matching synthgen"
        )
    edited = edited_key(doc)
    if edited is not None:
        raise ModelFileError(
            f"{path}: key {edited!r} was changed, added or removed after the model was written: "
            "the model folder was modified; restore it or refit"
        )
    return doc


def load_model(folder: Path) -> tuple[Any, dict[str, Any]]:
    """Load a fitted synthesizer and its document; checks the weights' checksum first."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    doc = read_document(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise ModelFileError(f"{weights}: missing weights file")
    if sha256_file(weights) != doc.get("weights_sha256"):
        raise ModelFileError(f"{weights}: checksum does not match model.json (truncated or replaced)")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise ModelFileError(f"{weights}: cannot read weights ({e})") from None
    cls = synthesizer_class(doc.get("kind", ""))
    try:
        synth = cls.from_state(doc["metadata"], tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFileError(f"{folder / DOCUMENT}: model state does not fit its weights ({first})") from None
    return synth, doc

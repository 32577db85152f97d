"""The model folder: ``weights.safetensors`` + ``model.json``. Loading executes no code.

``model.json`` is a ``RunDocument`` (see ``run_document``): the format version, the synthesizer's
kind and state, class counts, training history, the resolved config, the training data's
fingerprint, package versions, and the SHA-256 of the weights file so that a truncated or
swapped file is caught on load.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import platform
from collections.abc import Mapping
from importlib import metadata as _pkg
from pathlib import Path
from typing import Any, Protocol

from synthgen.errors import ModelFileError
from synthgen.models.registry import synthesizer_class
from synthgen.models.run_document import DOCUMENT, RunDocument
from synthgen.models.tensor_files import save_tensors

WEIGHTS = "weights.safetensors"


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

    def learned(self) -> Any: ...  # models.base.Learned

    def state_tensors(self) -> Mapping[str, Any]: ...

    def metadata(self) -> dict[str, Any]: ...


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_model(folder: Path, synth: Savable, extra: Mapping[str, Any] | None = None) -> Path:
    """Write weights and ``model.json`` into ``folder`` (normally a staged temporary folder).

    ``extra``: the run's own fields of ``RunDocument`` (name, config, data, ...).
    """
    document_for(synth, write_weights(folder, synth), extra).write(folder)
    return Path(folder)


def write_weights(folder: Path, synth: Savable) -> str:
    """``weights.safetensors`` into ``folder``; returns its SHA-256 for the document."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in synth.state_tensors().items()}
    save_tensors(tensors, folder / WEIGHTS)
    return sha256_file(folder / WEIGHTS)


def document_for(synth: Savable, weights_sha256: str, extra: Mapping[str, Any] | None = None) -> RunDocument:
    return RunDocument(
        kind=synth.kind,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **vars(synth.learned()),
        weights_sha256=weights_sha256,
        versions=package_versions(),
        metadata=synth.metadata(),
        **dict(extra or {}),
    )


def read_document(folder: Path) -> RunDocument:
    """``model.json`` parsed, checked and validated, without touching the weights."""
    return RunDocument.read(folder)


def load_model(folder: Path) -> tuple[Any, RunDocument]:
    """Load a fitted synthesizer and its document; checks the weights' checksum first."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    doc = read_document(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise ModelFileError(f"{weights}: missing weights file")
    if sha256_file(weights) != doc.weights_sha256:
        raise ModelFileError(f"{weights}: checksum does not match model.json (truncated or replaced)")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise ModelFileError(f"{weights}: cannot read weights ({e})") from None
    cls = synthesizer_class(doc.kind)
    try:
        synth = cls.from_state(doc.metadata, tensors, doc.learned())
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFileError(f"{folder / DOCUMENT}: model state does not fit its weights ({first})") from None
    return synth, doc

"""``model.json``: the run folder's one typed document, written once and read back validated.

Each fact is stored once. At the top: what every fitted synthesizer knows (condition, class
counts, training history) and what the run was (name, data, warnings, experiment). Under
``metadata``: the synthesizer's own state, including the model and training settings it was
built with. Under ``config``: the run's other settings (data, split, tracking), so that
``fit_config()`` puts the resolved ``FitConfig`` back together from the two. ``content_sha256``
holds a SHA-256 per key path (see ``document_digests``), so an edited document is refused
naming the key that changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from synthgen import atomic
from synthgen.class_counts import checked_counts
from synthgen.config import first_error
from synthgen.errors import ModelFileError, SamplingError
from synthgen.models.document_digests import DIGESTS, edited_key, key_digests
from synthgen.models.learned import Learned

FORMAT = "synthgen-model"
# 2: condition, class counts, history and the model/train settings stored once; split cache.
FORMAT_VERSION = 2
DOCUMENT = "model.json"
# Kept under ``metadata`` (the synthesizer needs them to rebuild itself), not under ``config``.
BUILD_SETTINGS = ("model", "train")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataRecord(_Strict):
    """The training data, named without its path: the folder is shared and logged."""

    file: str
    name: str
    fingerprint: str  # SHA-256; where the data lives is kept beside the runs (data_locations)
    items: int
    splits: dict[str, int]
    excluded_columns: dict[str, str] | None = None  # tables: identifier columns left out, why
    skipped: list[str] | None = None  # images: inputs left out (all-zero, empty), why


class RunDocument(_Strict):
    format: Literal["synthgen-model"] = FORMAT
    format_version: int = FORMAT_VERSION
    kind: str
    created: str
    name: str | None = None
    condition: str
    class_counts: dict[str, int]
    history: dict[str, list[float]]
    weights_sha256: str
    versions: dict[str, str]
    config: dict[str, Any] | None = None  # resolved FitConfig less BUILD_SETTINGS; no input path
    warnings: list[str] = []
    data: DataRecord | None = None
    experiment: str | None = None
    mlflow_run_id: str | None = None
    split_cache: dict[str, str] | None = None  # cached split file name -> SHA-256 (split_cache.py)
    metadata: dict[str, Any]
    content_sha256: dict[str, str] = {}

    @field_validator("class_counts", mode="before")
    @classmethod
    def _whole_counts(cls, v: Any) -> Any:
        try:  # the same check as every sampling request (a dict of str -> whole number >= 0)
            return checked_counts(v) if isinstance(v, dict) else v
        except SamplingError as e:
            raise ValueError(str(e)) from None

    # -- what readers ask -----------------------------------------------------------------------
    def fit_config(self):
        """The resolved ``FitConfig`` of a ``synthgen fit`` run (``None`` for ``save()``d models)."""
        from synthgen.config import FitConfig

        if self.config is None:
            return None
        build = {key: self.metadata[key] for key in BUILD_SETTINGS if key in self.metadata}
        return FitConfig.model_validate({**self.config, **build})

    def learned(self) -> Learned:
        return Learned(self.condition, dict(self.class_counts), {k: list(v) for k, v in self.history.items()})

    def tracking(self):
        from synthgen.config import TrackingConfig

        return TrackingConfig.model_validate((self.config or {}).get("tracking", {}))

    @property
    def dataset(self) -> str | None:
        return self.data.name if self.data else None

    # -- writing and reading --------------------------------------------------------------------
    def as_json(self) -> dict[str, Any]:
        """The document as written: plain JSON types, digests of every key path included."""
        # Python mode keeps the synthesizer's state exactly as it gave it (JSON mode would
        # turn a NaN under an ``Any`` into null).
        plain = json.loads(json.dumps(self.model_dump(exclude={DIGESTS}), default=str))
        return {**plain, DIGESTS: key_digests(plain)}

    def write(self, folder: str | Path) -> Path:
        path = Path(folder) / DOCUMENT
        atomic.write_text(path, json.dumps(self.as_json(), indent=2))
        return path

    @classmethod
    def read(cls, folder: str | Path) -> RunDocument:
        """Parse, version-check, digest-check and validate ``model.json``; one-line errors."""
        folder = Path(folder)
        path = folder / DOCUMENT
        if not folder.is_dir():
            raise ModelFileError(f"{folder}: no model folder here (run `synthgen fit` first)")
        raw = _parse(path, folder)
        edited = edited_key(raw)
        if edited is not None:
            raise ModelFileError(
                f"{path}: key {edited!r} was changed, added or removed after the model was "
                "written: the model folder was modified; restore it or refit"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as e:
            where, msg = first_error(e)
            raise ModelFileError(f"{path}: key {where!r}: {msg}") from None


def _parse(path: Path, folder: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{path}: missing; {folder} is not a synthgen model folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path}: unreadable or corrupt model document ({e})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a synthgen model document")
    version = raw.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} is not supported by this synthgen "
            f"(it reads version {FORMAT_VERSION}); refit or use a matching synthgen"
        )
    return raw

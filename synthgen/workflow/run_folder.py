"""The run folder on disk: written once at the end of a fit, then read by sample and evaluate.

``runs/<name>/`` holds the weights, ``model.json`` (a ``RunDocument``), ``splits.json`` (which
items of the data went to train / holdout / test) and previews; ``sample`` adds the samples and
``last_sample.json``. ``runs/latest`` points at the last fit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthgen import atomic
from synthgen.data.splits import Splits
from synthgen.data_locations import find_data
from synthgen.errors import ModelFileError, UserError
from synthgen.modalities import Modality, get_modality
from synthgen.models.artifact import read_document, write_model
from synthgen.models.run_document import RunDocument
from synthgen.workflow.settings import LATEST

SPLITS_FILE = "splits.json"
LAST_SAMPLE_FILE = "last_sample.json"
PREVIEWS = "previews"
PREVIEWS_PER_CLASS = 16


def write_run_folder(run_dir: Path, synth, modality: Modality, doc_extra: Mapping[str, Any], splits: Splits) -> None:
    """Weights, model.json, the splits and previews, all appearing at once (staged + renamed)."""
    with atomic.staged_dir(run_dir) as tmp:
        write_model(tmp, synth, doc_extra)
        (tmp / SPLITS_FILE).write_text(json.dumps(splits.to_dict()))
        preview_sample = synth.sample(n=PREVIEWS_PER_CLASS * len(synth.class_counts_), balance="equal", seed=0)
        for fname, blob in modality.previews(preview_sample, read_document(tmp)).items():
            (tmp / PREVIEWS).mkdir(exist_ok=True)
            (tmp / PREVIEWS / fname).write_bytes(blob)


def resolve_model_dir(model: str | Path | None, runs_dir: str | Path = "runs") -> Path:
    """``None`` means the last fit (``runs/latest``)."""
    if model is not None:
        return Path(model)
    latest = Path(runs_dir) / LATEST
    if not latest.exists():
        raise ModelFileError(f"{latest}: no fitted model yet; run `synthgen fit` or pass --model")
    return latest.resolve()


def read_run_document(model_dir: Path) -> RunDocument:
    return fit_run(read_document(model_dir), model_dir)


def fit_run(doc: RunDocument, model_dir: Path) -> RunDocument:
    """``doc`` if it is a ``synthgen fit`` run's (a ``save()``d model has no run to log to)."""
    if doc.config is None or doc.data is None:
        raise ModelFileError(
            f"{model_dir}: a model saved from Python, not a `synthgen fit` run: it has no data "
            "record or run settings; sample it with synthgen.load(...).sample(...)"
        )
    return doc


def load_splits(model_dir: Path, doc: RunDocument, data_path: str | Path | None = None) -> dict[str, Any]:
    """Re-read the data the model was fitted on and cut the saved splits out of it.

    ``data_path`` (``--data``) names the data; without it the fit's record of where the data
    with this fingerprint was is used (kept beside the run folders, never in them).
    """
    config = doc.fit_config()
    data_path = find_data(Path(model_dir), doc.data.fingerprint, doc.data.file, data_path)
    modality = get_modality(doc.kind)
    loaded = modality.load(config.data.model_copy(update={"path": data_path}), config.model)
    try:
        splits = Splits.from_dict(json.loads((Path(model_dir) / SPLITS_FILE).read_text()))
    except (OSError, ValueError, KeyError) as e:
        raise ModelFileError(f"{Path(model_dir) / SPLITS_FILE}: missing or corrupt ({e})") from None
    return {
        name: modality.subset(loaded.payload, getattr(splits, name))
        for name in ("train", "holdout", "test")
    }


def record_last_sample(model_dir: Path, record: Mapping[str, Any]) -> None:
    atomic.write_text(Path(model_dir) / LAST_SAMPLE_FILE, json.dumps(dict(record), indent=2))


def last_sample_path(model_dir: Path) -> Path:
    record = Path(model_dir) / LAST_SAMPLE_FILE
    if not record.exists():
        raise UserError(f"{model_dir}: no sample drawn from this model yet; run `synthgen sample` or pass --synthetic")
    return Path(json.loads(record.read_text())["path"])


def save_preview(model_dir: Path, name: str, blob: bytes) -> Path:
    path = Path(model_dir) / PREVIEWS / name
    with atomic.staged_file(path) as tmp:
        tmp.write_bytes(blob)
    return path

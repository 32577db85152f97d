"""The run folder on disk: written once at the end of a fit, then read by sample and evaluate.

``runs/<name>/`` holds the weights, ``model.json`` (a ``RunDocument``), ``splits.json`` (which
items of the data went to train / holdout / test) and previews; ``sample`` adds the samples,
``last_sample.json`` and, for scans, the sample as the model drew it (``last_sample.*``).
``runs/latest`` points at the last fit; ``runs/.<name>.splits/`` holds the preprocessed real
splits (see ``split_cache``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthgen import atomic
from synthgen.data.splits import SPLITS, Splits
from synthgen.data_locations import find_data
from synthgen.errors import ModelFileError, UserError
from synthgen.modalities import Modality, get_modality
from synthgen.models.artifact import document_for, read_document, sha256_file, write_weights
from synthgen.models.run_document import RunDocument
from synthgen.workflow.settings import LATEST
from synthgen.workflow.split_cache import read_split_cache, write_split_cache

SPLITS_FILE = "splits.json"
LAST_SAMPLE_FILE = "last_sample.json"
LAST_SAMPLE_DRAWN = "last_sample"  # + the modality's split suffix: the sample as drawn
PREVIEWS = "previews"
PREVIEWS_PER_CLASS = 16


def write_run_folder(run_dir: Path, synth, modality: Modality, doc_extra: Mapping[str, Any],
                     splits: Splits, parts: Mapping[str, Any]) -> None:
    """Weights, model.json, the splits and previews, all appearing at once (staged + renamed);
    the real splits (``parts``) cached beside the folder first, their digests in model.json."""
    with atomic.staged_dir(run_dir) as tmp:
        doc = document_for(synth, write_weights(tmp, synth), doc_extra)
        doc = doc.model_copy(update={"split_cache": write_split_cache(run_dir, parts, modality, doc)})
        doc.write(tmp)  # once, complete
        (tmp / SPLITS_FILE).write_text(json.dumps(splits.to_dict()))
        preview_sample = synth.sample(n=PREVIEWS_PER_CLASS * len(synth.class_counts_), balance="equal", seed=0)
        for fname, blob in modality.previews(preview_sample, doc).items():
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
    """The real train / holdout / test splits the model was fitted and judged on.

    From the cache the fit wrote beside the run folder (``split_cache``); without one (the
    folder was moved, or the cache deleted), the data is read and preprocessed again and the
    saved splits cut out of it: ``data_path`` (``--data``) names the data, else the fit's
    record of where the data with this fingerprint was (kept beside the run folders).
    """
    modality = get_modality(doc.kind)
    cached = read_split_cache(model_dir, doc, modality)
    if cached is not None:
        return cached
    config = doc.fit_config()
    data_path = find_data(Path(model_dir), doc.data.fingerprint, doc.data.file, data_path)
    loaded = modality.load(config.data.model_copy(update={"path": data_path}), config.model)
    try:
        splits = Splits.from_dict(json.loads((Path(model_dir) / SPLITS_FILE).read_text()))
    except (OSError, ValueError, KeyError) as e:
        raise ModelFileError(f"{Path(model_dir) / SPLITS_FILE}: missing or corrupt ({e})") from None
    return {name: modality.subset(loaded.payload, getattr(splits, name)) for name in SPLITS}


def record_last_sample(model_dir: Path, record: Mapping[str, Any], samples: Any, modality: Modality,
                       doc: RunDocument) -> None:
    """``last_sample.json``; for a modality judged as drawn, the drawn sample beside it."""
    record = dict(record)
    if modality.evaluate_as_drawn:
        drawn = Path(model_dir) / f"{LAST_SAMPLE_DRAWN}{modality.split_suffix}"
        with atomic.staged_file(drawn) as tmp:
            modality.write_split(samples, tmp, doc)
        record["drawn"] = {"file": drawn.name, "sha256": sha256_file(drawn)}
    atomic.write_text(Path(model_dir) / LAST_SAMPLE_FILE, json.dumps(record, indent=2))


def last_sample_path(model_dir: Path) -> Path:
    return Path(_last_sample(model_dir)["path"])


def read_synthetic(model_dir: Path, synthetic: Path | None, modality: Modality, doc: RunDocument) -> Any:
    """The sample to judge: as the model drew it when it is the last one drawn and the
    modality keeps it so (scans), else the written file (tables, or any other ``--synthetic``)."""
    if synthetic is not None and not _is_last_sample(model_dir, synthetic):
        return modality.read_samples(synthetic, doc)
    record = _last_sample(model_dir)
    drawn = record.get("drawn")
    if not drawn:
        return modality.read_samples(Path(record["path"]), doc)
    path = Path(model_dir) / drawn["file"]
    if not path.is_file() or sha256_file(path) != drawn["sha256"]:
        raise ModelFileError(
            f"{path}: missing or changed since the sample was drawn (SHA-256 differs from "
            f"{LAST_SAMPLE_FILE}); sample again, or pass --synthetic to judge the written files"
        )
    return modality.read_split(path, doc)


def _last_sample(model_dir: Path) -> dict[str, Any]:
    record = Path(model_dir) / LAST_SAMPLE_FILE
    if not record.exists():
        raise UserError(f"{model_dir}: no sample drawn from this model yet; run `synthgen sample` or pass --synthetic")
    return json.loads(record.read_text())


def _is_last_sample(model_dir: Path, synthetic: Path) -> bool:
    record = Path(model_dir) / LAST_SAMPLE_FILE
    return record.exists() and Path(json.loads(record.read_text())["path"]) == Path(synthetic).resolve()


def save_preview(model_dir: Path, name: str, blob: bytes) -> Path:
    path = Path(model_dir) / PREVIEWS / name
    with atomic.staged_file(path) as tmp:
        tmp.write_bytes(blob)
    return path

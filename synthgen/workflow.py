"""fit / sample / evaluate / run: the one place that joins data, models, evaluation, reports
and tracking. The CLI and the Python API both call these functions.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen import atomic
from synthgen.config import (
    ConfigError,
    EvalConfig,
    FitConfig,
    PipelineConfig,
    SampleConfig,
    TrackingConfig,
    default_model_config,
    with_backend_defaults,
)
from synthgen.data.fit_checks import check_splits
from synthgen.data.sources import dataset_name, detect_modality, fingerprint
from synthgen.data.splits import Splits, make_splits
from synthgen.errors import DataError, Interrupted, ModelFileError, TrackingError, UserError
from synthgen.modalities import get_modality
from synthgen.models.artifact import load_model, read_document, write_model
from synthgen.models.run_document import BUILD_SETTINGS, RunDocument
from synthgen.class_counts import resolve_class_counts
from synthgen.data_locations import find_data, public_config, remember_data

SPLITS_FILE = "splits.json"
LAST_SAMPLE_FILE = "last_sample.json"
LATEST = "latest"
PRIVACY_TOP_UP_ROUNDS = 10

Progress = Callable[[str], None]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Config resolution
# ----------------------------------------------------------------------------------------------


def resolve_fit_config(config: FitConfig) -> FitConfig:
    """Fill what depends on the data: the model kind and the run name."""
    if config.data.path is None:
        raise ConfigError("no data given: pass --data PATH (a table, a folder of scans or an .npz)")
    if not config.data.condition:
        raise ConfigError("no condition given: pass --condition COLUMN (the class label to balance)")
    modality = detect_modality(config.data.path)
    model = config.model or default_model_config(modality)
    if model.kind != modality:
        raise ConfigError(
            f"{config.data.path}: is {modality} data but the config's model.kind is {model.kind!r}"
        )
    name = config.name or _default_run_name(config)
    if not name or "/" in name or name.startswith(".") or name == LATEST:
        raise ConfigError(f"run name {name!r} is not usable as a folder name")
    train = with_backend_defaults(config.train, model)
    return config.model_copy(update={"model": model, "name": name, "train": train})


def checkpoint_dir(runs_dir: str | Path, name: str) -> Path:
    """Training checkpoints live beside the run folder, which only appears when training ends."""
    return Path(runs_dir) / f".{name}.checkpoints"


def _default_run_name(config: FitConfig) -> str:
    dataset = dataset_name(config.data.path)
    if config.train.resume:
        # --resume without --name: the most recent interrupted run of this data set.
        found = sorted(Path(config.runs_dir).glob(f".{dataset}-*.checkpoints"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise ConfigError(f"--resume: no interrupted run of {dataset!r} in {config.runs_dir}/; pass --name")
        return found[-1].name[1 : -len(".checkpoints")]
    return f"{dataset}-{_dt.datetime.now():%Y%m%d-%H%M%S}"


def experiment_name(tracking: TrackingConfig, data_path: str | Path) -> str:
    return tracking.experiment or f"synthgen-{dataset_name(data_path)}"


# ----------------------------------------------------------------------------------------------
# Tracking helpers
# ----------------------------------------------------------------------------------------------


def _tracker(config: TrackingConfig):
    from synthgen.tracking import make_tracker

    return make_tracker(config)


# ----------------------------------------------------------------------------------------------
# fit
# ----------------------------------------------------------------------------------------------


@dataclass
class FitResult:
    run_dir: Path
    synthesizer: Any
    document: RunDocument | None
    run_id: str | None = None
    main: bool = True  # False on torchrun's other processes: they trained, rank 0 wrote and logged


def fit(config: FitConfig, *, parent_run_id: str | None = None, tracker=None) -> FitResult:
    """Load and split the data, train on the train split, write ``runs/<name>/``, log it.

    Under ``torchrun`` every process trains its shard; only the main one writes and logs.
    All processes leave the process group once the model folder is written.
    """
    from synthgen import distributed

    dist = distributed.setup(config.train.device)
    config = resolve_fit_config(config)
    if dist.world_size > 1:  # every rank must agree on the (time-stamped) run name
        config = config.model_copy(update={"name": distributed.broadcast_str(config.name)})
    modality = get_modality(config.model.kind)
    data_path = Path(config.data.path)

    # -- data: read, validate and split before anything is written or logged
    loaded = modality.load(config.data, config.model)
    splits = make_splits(
        loaded.labels,
        holdout=config.split.holdout,
        test=config.split.test,
        seed=config.split.seed,
        groups=loaded.groups,
        fixed_test=loaded.fixed_test,
    )
    _check_train_classes(loaded.labels, splits)
    test_share = 0.0 if loaded.fixed_test is not None else config.split.test
    warnings = check_splits(loaded.labels, splits, holdout=config.split.holdout, test=test_share)

    # -- tracking: fail fast on an unreachable server, not after training
    if tracker is None:
        tracker = _tracker(config.tracking) if dist.is_main else _tracker(TrackingConfig(enabled=False))
    _together(tracker.check_reachable, dist, "the main process could not reach MLflow (see its error)")
    if dist.is_main:  # said once the fit will go ahead: a user error stays one line
        for line in [*loaded.notes, *(f"warning: {w}" for w in warnings)]:
            _say(line)
    experiment = experiment_name(config.tracking, data_path)
    run_dir = Path(config.runs_dir) / config.name
    checkpoints = checkpoint_dir(config.runs_dir, config.name)
    # Re-running the same command on the same run name continues an interrupted fit.
    resume = config.train.resume or checkpoints.is_dir()
    if resume and dist.is_main:
        _say(f"resuming from {checkpoints}" if checkpoints.is_dir() else f"no checkpoint in {checkpoints}: starting afresh")

    with tracker.start_run(config.name, experiment=experiment, run_type="fit", parent_run_id=parent_run_id) as run:
        tracker.log_params(public_config(config))
        tracker.log_metrics({f"rows_{k}": v for k, v in splits.sizes().items()})

        # -- train on the train split only
        synth = modality.new_synthesizer(config.model, config.train, config.data)
        train_payload = modality.subset(loaded.payload, splits.train)

        def on_epoch(epoch: int, losses: Mapping[str, float]) -> None:
            tracker.log_metrics(dict(losses), step=epoch)

        try:
            modality.fit(
                synth, train_payload, config.data.condition, config.data, on_epoch,
                checkpoint_dir=checkpoints, resume=resume,
            )
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted; training state saved in {checkpoints}: "
                f"continue with the same command and --name {config.name} (or --resume)"
            ) from None
        if not dist.is_main:
            distributed.barrier()  # rank 0 has written the model folder
            distributed.cleanup()
            return FitResult(run_dir, synth, None, None, main=False)

        # -- write the model folder first: a tracking failure below must not lose it
        doc_extra = {
            "name": config.name,
            # No input path, no identifier: the folder is shared and logged. The data is found
            # again by its fingerprint (see data_locations).
            "config": {k: v for k, v in public_config(config).items() if k not in BUILD_SETTINGS},
            "warnings": [*loaded.notes, *warnings],
            "data": {
                "file": data_path.name,
                "name": dataset_name(data_path),
                "fingerprint": fingerprint(data_path),
                "items": len(loaded.labels),
                "splits": splits.sizes(),
                **(loaded.description or {}),
            },
            "experiment": experiment,
            "mlflow_run_id": getattr(run, "run_id", None),
        }
        _write_run_folder(run_dir, synth, modality, doc_extra, splits)
        remember_data(config.runs_dir, doc_extra["data"]["fingerprint"], data_path)
        atomic.point_symlink(Path(config.runs_dir) / LATEST, run_dir)
        shutil.rmtree(checkpoints, ignore_errors=True)  # the finished model supersedes them
        # Nothing after this is collective: every process leaves the group now, so the others
        # do not wait in a collective (10 minutes under NCCL's watchdog) while rank 0 uploads
        # the model to MLflow.
        distributed.barrier()
        distributed.cleanup()
        document = read_document(run_dir)
        _say(f"model written to {run_dir}")

        try:
            _log_model_folder(tracker, run_dir, document, config.tracking)
        except TrackingError as e:
            raise TrackingError(f"{e}; the model is safe in {run_dir}: log it later with `synthgen log {run_dir}`") from None
    return FitResult(run_dir, synth, document, getattr(run, "run_id", None))


def _write_run_folder(run_dir: Path, synth, modality, doc_extra: Mapping[str, Any], splits: Splits) -> None:
    """Weights, model.json, the splits and previews, all appearing at once (staged + renamed)."""
    with atomic.staged_dir(run_dir) as tmp:
        write_model(tmp, synth, doc_extra)
        (tmp / SPLITS_FILE).write_text(json.dumps(splits.to_dict()))
        preview_sample = synth.sample(n=16 * len(synth.class_counts_), balance="equal", seed=0)
        for fname, blob in modality.previews(preview_sample, read_document(tmp)).items():
            (tmp / "previews").mkdir(exist_ok=True)
            (tmp / "previews" / fname).write_bytes(blob)


def _log_model_folder(tracker, run_dir: Path, doc: RunDocument, tracking: TrackingConfig) -> None:
    """The generator as a pyfunc model (it carries the whole model folder), registered unless
    ``tracking.register_model`` is off, and the previews as plain artifacts to look at."""
    tracker.log_model(run_dir, registered_name=f"synthgen-{doc.dataset}")
    if (run_dir / "previews").is_dir():
        tracker.log_artifacts(run_dir / "previews", "previews")


def relog(model_dir: str | Path, *, tracking: TrackingConfig | None = None, tracker=None) -> str | None:
    """Log an already written model folder as a new fit run (after a tracking outage)."""
    model_dir = Path(model_dir)
    doc = read_run_document(model_dir)
    tracking = tracking or doc.tracking()
    tracker = tracker or _tracker(tracking)
    tracker.check_reachable()
    with tracker.start_run(doc.name, experiment=doc.experiment, run_type="fit") as run:
        tracker.log_params(doc.fit_config().model_dump(mode="json"))
        tracker.set_tags({"synthgen.relogged_from": str(model_dir.resolve())})
        history = doc.history
        for epoch in range(max((len(v) for v in history.values()), default=0)):
            tracker.log_metrics({k: v[epoch] for k, v in history.items() if epoch < len(v)}, step=epoch + 1)
        _log_model_folder(tracker, model_dir, doc, tracking)
    return getattr(run, "run_id", None)


def _check_train_classes(labels: list[str], splits: Splits) -> None:
    present = {labels[i] for i in splits.train}
    missing = sorted(set(labels) - present)
    if missing:
        raise DataError(f"class {missing[0]!r} has no training items after splitting")


# ----------------------------------------------------------------------------------------------
# sample
# ----------------------------------------------------------------------------------------------


@dataclass
class SampleResult:
    path: Path
    counts: dict[str, int]
    files: list[Path] = field(default_factory=list)
    filtered: int = 0
    privacy_threshold: float | None = None
    run_id: str | None = None


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


def resolve_model_dir(model: str | Path | None, runs_dir: str | Path = "runs") -> Path:
    """``None`` means the last fit (``runs/latest``)."""
    if model is not None:
        return Path(model)
    latest = Path(runs_dir) / LATEST
    if not latest.exists():
        raise ModelFileError(f"{latest}: no fitted model yet; run `synthgen fit` or pass --model")
    return latest.resolve()


def sample(
    model_dir: str | Path | None,
    config: SampleConfig,
    *,
    tracking: TrackingConfig | None = None,
    parent_run_id: str | None = None,
    tracker=None,
    data_path: str | Path | None = None,
) -> SampleResult:
    """Draw exact per-class counts from a fitted model and write them in the input's format."""
    model_dir = resolve_model_dir(model_dir)
    synth, doc = load_model(model_dir)
    doc = fit_run(doc, model_dir)
    modality = get_modality(doc.kind)
    counts = resolve_class_counts(
        synth.class_counts_, n=config.n, balance=config.balance, classes=config.classes or None
    )
    out = Path(config.out) if config.out else modality.default_output(model_dir, doc)
    modality.check_output(out, doc)

    tracking = tracking or doc.tracking()
    tracker = tracker or _tracker(tracking)
    tracker.check_reachable()
    with tracker.start_run(f"{doc.name}-sample", experiment=doc.experiment, run_type="sample", parent_run_id=parent_run_id) as run:
        tracker.log_params({"sample": config.model_dump(mode="json"), "model": str(model_dir)})
        samples = synth.generate(counts, seed=config.seed)
        filtered, threshold = 0, None
        if config.privacy_filter:
            samples, filtered, threshold = _privacy_filter(synth, modality, doc, model_dir, samples, counts, config.seed, data_path)
            _say(f"privacy filter: dropped and replaced {filtered} samples closer to a training item than threshold {threshold:.4g}")
        files = modality.write_samples(samples, out, doc, config.mark_synthetic)
        record = {
            "path": str(out.resolve()),
            "counts": counts,
            "seed": config.seed,
            "privacy_filtered": filtered,
            "privacy_threshold": threshold,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        atomic.write_text(model_dir / LAST_SAMPLE_FILE, json.dumps(record, indent=2))
        tracker.log_metrics({f"count_{k}": v for k, v in counts.items()} | {"privacy_filtered": filtered})
        for fname, blob in modality.previews(samples, doc).items():
            with atomic.staged_file(model_dir / "previews" / f"sample_{fname}") as tmp:
                tmp.write_bytes(blob)
            tracker.log_artifact(model_dir / "previews" / f"sample_{fname}", "previews")
        _say(f"wrote {sum(counts.values())} synthetic samples to {out}")
    return SampleResult(out, counts, files, filtered, threshold, getattr(run, "run_id", None))


def _privacy_filter(synth, modality, doc, model_dir, samples, counts, seed, data_path=None):
    """Drop samples too close to a training item and draw replacements, so counts stay exact."""
    parts = load_splits(model_dir, doc, data_path)
    keep, threshold = modality.privacy_keep_mask(parts["train"], parts["holdout"], samples, doc)
    kept, dropped = modality.subset(samples, keep.nonzero()[0]), int((~keep).sum())
    for round_ in range(1, PRIVACY_TOP_UP_ROUNDS + 1):
        have = Counter(modality.labels_of(kept, doc))
        missing = {label: counts[label] - have.get(label, 0) for label in counts}
        if not any(missing.values()):
            return kept, dropped, threshold
        extra = synth.generate(missing, seed=seed + 7919 * round_)
        keep, _ = modality.privacy_keep_mask(parts["train"], parts["holdout"], extra, doc)
        dropped += int((~keep).sum())
        kept = modality.concat([kept, modality.subset(extra, keep.nonzero()[0])])
    raise UserError(
        f"privacy filter: after {PRIVACY_TOP_UP_ROUNDS} rounds the model still draws samples "
        f"closer to training items than {threshold:.4g} ({dropped} dropped); the model may be "
        "memorizing: refit with fewer epochs or more data"
    )


# ----------------------------------------------------------------------------------------------
# evaluate
# ----------------------------------------------------------------------------------------------


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


@dataclass
class EvaluateResult:
    result: Any  # synthgen.evaluation.findings.Findings
    report_dir: Path
    files: dict[str, Path]
    run_id: str | None = None


def evaluate(
    model_dir: str | Path | None = None,
    synthetic: str | Path | None = None,
    *,
    report_dir: str | Path | None = None,
    config: EvalConfig | None = None,
    tracking: TrackingConfig | None = None,
    parent_run_id: str | None = None,
    tracker=None,
    data_path: str | Path | None = None,
) -> EvaluateResult:
    """Evaluate a sample against the fitted model's saved splits; write and log the report."""
    config = config or EvalConfig()
    model_dir = resolve_model_dir(model_dir)
    doc = read_run_document(model_dir)
    modality = get_modality(doc.kind)
    synthetic = Path(synthetic) if synthetic else _last_sample_path(model_dir)
    report_dir = Path(report_dir) if report_dir else Path("reports") / doc.name

    tracking = tracking or doc.tracking()
    tracker = tracker or _tracker(tracking)
    tracker.check_reachable()
    with tracker.start_run(f"{doc.name}-evaluate", experiment=doc.experiment, run_type="evaluate", parent_run_id=parent_run_id) as run:
        tracker.log_params({"evaluate": config.model_dump(mode="json"), "synthetic": str(synthetic)})
        parts = load_splits(model_dir, doc, data_path)
        synth_payload = modality.read_samples(synthetic, doc)
        if modality.balanced_tstr and set(modality.labels_of(synth_payload, doc)) < set(doc.class_counts):
            parts["balanced"] = _balanced_draw(model_dir, len(modality.labels_of(parts["train"], doc)))
        result = modality.evaluate(parts | {"synthetic": synth_payload}, synth_payload, doc, config, _say)
        for warning in doc.warnings:  # what the fit said about the data, repeated
            result.warn(warning)
        from synthgen.report import write_report  # matplotlib: loaded only to render

        files = write_report(result, report_dir)
        numeric = {k: float(v) for k, v in result.metrics.items() if _is_number(v)}
        tracker.log_metrics(numeric)
        tracker.log_artifacts(report_dir, "report")
        _say(f"report written to {files.get('html', report_dir)}")
    return EvaluateResult(result, report_dir, files, getattr(run, "run_id", None))


def _balanced_draw(model_dir: Path, n: int):
    """Equal counts per class from the model, seeded: the synthetic-only arm's training set."""
    synth, _ = load_model(model_dir)
    counts = resolve_class_counts(synth.class_counts_, n=max(n, 2), balance="equal")
    _say(f"drawing a balanced sample of {sum(counts.values())} for synthetic-only (TSTR)")
    return synth.generate(counts, seed=0)


def _last_sample_path(model_dir: Path) -> Path:
    record = Path(model_dir) / LAST_SAMPLE_FILE
    if not record.exists():
        raise UserError(f"{model_dir}: no sample drawn from this model yet; run `synthgen sample` or pass --synthetic")
    return Path(json.loads(record.read_text())["path"])


def _is_number(v: Any) -> bool:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return False
    return f == f and f not in (float("inf"), float("-inf"))


# ----------------------------------------------------------------------------------------------
# run: fit -> sample -> evaluate -> report, nested under one pipeline run
# ----------------------------------------------------------------------------------------------


@dataclass
class PipelineResult:
    fit: FitResult
    sample: SampleResult
    evaluate: EvaluateResult


def run_pipeline(config: PipelineConfig) -> PipelineResult | None:
    """Fit, sample and evaluate under one parent MLflow run (``synthgen run pipeline.yaml``).

    Without ``torchrun`` this always returns a ``PipelineResult``. Under ``torchrun`` every
    process takes part in training, but only the main one opens the parent run, logs, samples
    and evaluates; the others return ``None`` as soon as ``fit`` is done. ``fit`` leaves the
    process group on every process once the model folder is written: the main one's logging,
    sampling and evaluation are not bound by a collective's timeout (NCCL's watchdog aborts a
    wait after 10 minutes) while the others wait for it to finish.
    """
    import contextlib

    from synthgen import distributed

    fit_config = resolve_fit_config(config.fit)
    dist = distributed.setup(fit_config.train.device)
    if dist.distributed:  # the parent run and the model folder carry rank 0's time-stamped name
        name = distributed.broadcast_str(fit_config.name)
        fit_config = fit_config.model_copy(update={"name": name})
    tracker = _tracker(fit_config.tracking if dist.is_main else TrackingConfig(enabled=False))
    experiment = experiment_name(fit_config.tracking, fit_config.data.path)
    with contextlib.ExitStack() as parent_run:
        parent_id = _start_pipeline_run(
            parent_run, tracker, f"{fit_config.name}-pipeline", experiment,
            {"pipeline": config.model_dump(mode="json") | {"fit": public_config(fit_config)}}, dist,
        )
        fitted = fit(fit_config, parent_run_id=parent_id, tracker=tracker)  # leaves the group
        if not fitted.main:
            return None
        sampled = sample(
            fitted.run_dir, config.sample, parent_run_id=parent_id, tracker=tracker,
            data_path=fit_config.data.path,
        )
        report_dir = config.report_dir or Path("reports") / fit_config.name
        evaluated = evaluate(
            fitted.run_dir, sampled.path, report_dir=report_dir, config=config.evaluate,
            parent_run_id=parent_id, tracker=tracker, data_path=fit_config.data.path,
        )
    return PipelineResult(fitted, sampled, evaluated)


def _start_pipeline_run(
    stack, tracker, name: str, experiment: str, params: Mapping[str, Any], dist
) -> str | None:
    """Open the parent run (on ``stack``) and log its params; every process learns if that worked."""
    opened = []

    def start() -> None:
        tracker.check_reachable()
        opened.append(stack.enter_context(tracker.start_run(name, experiment=experiment, run_type="pipeline")))
        tracker.log_params(params)

    _together(start, dist, "the main process could not start the pipeline's MLflow run (see its error)")
    return getattr(opened[0], "run_id", None) if opened else None


def _together(action: Callable[[], object], dist, failed_elsewhere: str) -> None:
    """Run ``action``; if it fails on any process, every process raises (all must call this).

    Only the main process talks to MLflow. If it cannot, the others must not go on into
    training's first collective and wait there for a partner that has left (30 minutes on
    gloo): all processes fail together, in seconds. One process: ``action``'s own error.
    """
    from synthgen import distributed

    error = None
    try:
        action()
    except Exception as e:  # re-raised below, on this process as it was
        error = e
    if distributed.any_process(error is not None, dist):
        raise error or TrackingError(failed_elsewhere)

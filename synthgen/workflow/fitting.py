"""``synthgen fit``: read and split the data, train on the train split, write the run folder,
log it. Also ``synthgen log`` (``relog``), which logs a written folder after an outage."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen import atomic
from synthgen.config import FitConfig, TrackingConfig
from synthgen.data.fit_checks import check_splits
from synthgen.data.sources import dataset_name, fingerprint
from synthgen.data.splits import SPLITS, Splits, make_splits
from synthgen.data_locations import public_config, remember_data
from synthgen.errors import DataError, Interrupted, TrackingError
from synthgen.modalities import Loaded, Modality, get_modality
from synthgen.models.artifact import read_document
from synthgen.models.run_document import BUILD_SETTINGS, RunDocument
from synthgen.tracking import make_tracker
from synthgen.workflow.run_folder import read_run_document, write_run_folder
from synthgen.workflow.say import say
from synthgen.workflow.settings import LATEST, checkpoint_dir, experiment_name, resolve_fit_config


@dataclass
class FitResult:
    run_dir: Path
    synthesizer: Any
    document: RunDocument | None
    run_id: str | None = None
    main: bool = True  # False on torchrun's other processes: they trained, rank 0 wrote and logged


@dataclass
class _Prepared:
    """A fit's data, read, validated and split before anything is written or logged."""

    config: FitConfig
    modality: Modality
    loaded: Loaded
    splits: Splits
    warnings: list[str]


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
    prepared = _prepare(config)

    # -- tracking: fail fast on an unreachable server, not after training
    if tracker is None:
        tracker = make_tracker(config.tracking if dist.is_main else TrackingConfig(enabled=False))
    together(tracker.check_reachable, dist, "the main process could not reach MLflow (see its error)")
    if dist.is_main:  # said once the fit will go ahead: a user error stays one line
        for line in [*prepared.loaded.notes, *(f"warning: {w}" for w in prepared.warnings)]:
            say(line)
    run_dir = Path(config.runs_dir) / config.name
    experiment = experiment_name(config.tracking, config.data.path)

    with tracker.start_run(config.name, experiment=experiment, run_type="fit", parent_run_id=parent_run_id) as run:
        tracker.log_params(public_config(config))
        tracker.log_metrics({f"rows_{k}": v for k, v in prepared.splits.sizes().items()})
        synth = _train(prepared, tracker, dist.is_main)
        if not dist.is_main:
            distributed.barrier()  # rank 0 has written the model folder
            distributed.cleanup()
            return FitResult(run_dir, synth, None, None, main=False)
        # -- write the model folder first: a tracking failure below must not lose it
        document = _write(prepared, synth, run_dir, experiment, getattr(run, "run_id", None))
        try:
            _log_model_folder(tracker, run_dir, document)
        except TrackingError as e:
            raise TrackingError(f"{e}; the model is safe in {run_dir}: log it later with `synthgen log {run_dir}`") from None
    return FitResult(run_dir, synth, document, getattr(run, "run_id", None))


def _prepare(config: FitConfig) -> _Prepared:
    modality = get_modality(config.model.kind)
    loaded = modality.load(config.data, config.model)
    split = config.split
    splits = make_splits(
        loaded.labels, holdout=split.holdout, test=split.test, seed=split.seed,
        groups=loaded.groups, fixed_test=loaded.fixed_test,
    )
    _check_train_classes(loaded.labels, splits)
    test_share = 0.0 if loaded.fixed_test is not None else split.test
    warnings = check_splits(loaded.labels, splits, holdout=split.holdout, test=test_share)
    return _Prepared(config, modality, loaded, splits, warnings)


def _check_train_classes(labels: list[str], splits: Splits) -> None:
    present = {labels[i] for i in splits.train}
    missing = sorted(set(labels) - present)
    if missing:
        raise DataError(f"class {missing[0]!r} has no training items after splitting")


def _train(prepared: _Prepared, tracker, is_main: bool):
    """Train on the train split only; checkpoints beside the run folder allow resuming."""
    config, modality = prepared.config, prepared.modality
    checkpoints = checkpoint_dir(config.runs_dir, config.name)
    # Re-running the same command on the same run name continues an interrupted fit.
    resume = config.train.resume or checkpoints.is_dir()
    if resume and is_main:
        say(f"resuming from {checkpoints}" if checkpoints.is_dir() else f"no checkpoint in {checkpoints}: starting afresh")
    synth = modality.new_synthesizer(config.model, config.train, config.data)
    train_payload = modality.subset(prepared.loaded.payload, prepared.splits.train)

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
    return synth


def _write(prepared: _Prepared, synth, run_dir: Path, experiment: str, run_id: str | None) -> RunDocument:
    """The run folder, ``runs/latest`` and where the data lives; then every process leaves the
    process group."""
    from synthgen import distributed

    config = prepared.config
    doc_extra = _run_record(prepared, experiment, run_id)
    payload, subset = prepared.loaded.payload, prepared.modality.subset
    parts = {name: subset(payload, getattr(prepared.splits, name)) for name in SPLITS}
    write_run_folder(run_dir, synth, prepared.modality, doc_extra, prepared.splits, parts)
    remember_data(config.runs_dir, doc_extra["data"]["fingerprint"], config.data.path)
    atomic.point_symlink(Path(config.runs_dir) / LATEST, run_dir)
    shutil.rmtree(checkpoint_dir(config.runs_dir, config.name), ignore_errors=True)  # superseded
    # Nothing after this is collective: every process leaves the group now, so the others
    # do not wait in a collective (10 minutes under NCCL's watchdog) while rank 0 uploads
    # the model to MLflow.
    distributed.barrier()
    distributed.cleanup()
    say(f"model written to {run_dir}")
    return read_document(run_dir)


def _run_record(prepared: _Prepared, experiment: str, run_id: str | None) -> dict[str, Any]:
    """The run's fields of ``model.json``. No input path, no identifier: the folder is shared
    and logged. The data is found again by its fingerprint (see data_locations)."""
    config, loaded = prepared.config, prepared.loaded
    data_path = Path(config.data.path)
    return {
        "name": config.name,
        "config": {k: v for k, v in public_config(config).items() if k not in BUILD_SETTINGS},
        "warnings": [*loaded.notes, *prepared.warnings],
        "data": {
            "file": data_path.name,
            "name": dataset_name(data_path),
            "fingerprint": fingerprint(data_path),
            "items": len(loaded.labels),
            "splits": prepared.splits.sizes(),
            **(loaded.description or {}),
        },
        "experiment": experiment,
        "mlflow_run_id": run_id,
    }


def _log_model_folder(tracker, run_dir: Path, doc: RunDocument) -> None:
    """The generator as a pyfunc model (it carries the whole model folder), registered unless
    ``tracking.register_model`` is off, and the previews as plain artifacts to look at."""
    tracker.log_model(run_dir, registered_name=f"synthgen-{doc.dataset}")
    if (run_dir / "previews").is_dir():
        tracker.log_artifacts(run_dir / "previews", "previews")


def relog(model_dir: str | Path, *, tracking: TrackingConfig | None = None, tracker=None) -> str | None:
    """Log an already written model folder as a new fit run (after a tracking outage)."""
    model_dir = Path(model_dir)
    doc = read_run_document(model_dir)
    tracker = tracker or make_tracker(tracking or doc.tracking())
    tracker.check_reachable()
    with tracker.start_run(doc.name, experiment=doc.experiment, run_type="fit") as run:
        tracker.log_params(doc.fit_config().model_dump(mode="json"))
        tracker.set_tags({"synthgen.relogged_from": str(model_dir.resolve())})
        history = doc.history
        for epoch in range(max((len(v) for v in history.values()), default=0)):
            tracker.log_metrics({k: v[epoch] for k, v in history.items() if epoch < len(v)}, step=epoch + 1)
        _log_model_folder(tracker, model_dir, doc)
    return getattr(run, "run_id", None)


def together(action: Callable[[], object], dist, failed_elsewhere: str) -> None:
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

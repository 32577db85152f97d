"""What a fit's settings leave to the data (the model kind, the run name), and the names and
places derived from them: the MLflow experiment, the checkpoint folder."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from synthgen.config import ConfigError, FitConfig, TrackingConfig, default_model_config, with_backend_defaults
from synthgen.data.sources import dataset_name, detect_modality

LATEST = "latest"  # runs/latest points at the last fitted model


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

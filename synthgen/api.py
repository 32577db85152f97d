"""The Python API: the same steps as the CLI, for use inside an ML pipeline.

    import synthgen
    synth = synthgen.fit(df, condition="diagnosis", epochs=300)
    extra = synth.sample(balance="fill")
    synth.save("models/bc"); synth = synthgen.load("models/bc")

Unlike ``synthgen fit`` on the command line, ``fit`` here trains on all the data it is given:
inside a pipeline the caller owns the train/test split.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthgen.config import DataConfig, TrainConfig, default_model_config, validate, with_backend_defaults
from synthgen.models.base import Synthesizer, TrainCallback


def fit(
    data: Any,
    condition: str,
    *,
    epochs: int | None = None,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    callback: TrainCallback | None = None,
    kinds: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = (),
    **model_options: Any,
) -> Synthesizer:
    """Fit a synthesizer on ``data``: a DataFrame, a table path, a scan folder or an .npz.

    Training length: the backend's budget unless ``epochs``, ``max_steps`` or ``max_minutes``
    say otherwise (tables: 3000 optimizer steps, best validation snapshot kept).
    ``model_options`` are fields of ``TabularModelConfig`` / ``ImageModelConfig``
    (e.g. ``pac=5`` or ``spatial_dims=3, image_size=32``).
    """
    import pandas as pd

    from synthgen.data.sources import detect_modality
    from synthgen.modalities import get_modality

    modality_name = "tabular" if isinstance(data, pd.DataFrame) else detect_modality(data)
    model_cls = type(default_model_config(modality_name))
    model = validate(model_cls, {"kind": modality_name, **model_options}, "model options")
    train_doc = {"seed": seed, "device": device, "progress": progress}
    sizing = {"epochs": epochs, "max_steps": max_steps, "max_minutes": max_minutes, "batch_size": batch_size}
    train_doc |= {k: v for k, v in sizing.items() if v is not None}
    train = with_backend_defaults(validate(TrainConfig, train_doc, "training options"), model)
    data_cfg = DataConfig(condition=condition, kinds=dict(kinds or {}), drop=list(drop))
    modality = get_modality(modality_name)
    if isinstance(data, pd.DataFrame):
        payload = data
    else:
        payload = modality.load(data_cfg.model_copy(update={"path": Path(data)}), model).payload
    synth = modality.new_synthesizer(model, train, data_cfg)
    modality.fit(synth, payload, condition, data_cfg, callback)
    _warn_schema_changes(synth, data_cfg)
    return synth


def _warn_schema_changes(synth: Synthesizer, data_cfg: DataConfig) -> None:
    """Left-out identifier columns and pooled categories, as Python warnings (the CLI prints them)."""
    import warnings

    from synthgen.data.notes import schema_notes

    schema = getattr(synth, "schema_", None)
    if schema is None or not hasattr(schema, "excluded"):
        return  # images: nothing is left out
    for note in schema_notes(schema, data_cfg.min_category_count):
        warnings.warn(note, UserWarning, stacklevel=3)


def load(path: str | Path) -> Synthesizer:
    """Load a model folder written by ``synthgen fit`` or ``Synthesizer.save``; runs no code."""
    from synthgen.models.artifact import load_model

    return load_model(Path(path))[0]


def evaluate(*, train, holdout, test, synthetic, condition: str | None = None, **options: Any):
    """Evaluate a synthetic sample against real splits; returns the ``Findings``.

    DataFrames go to the tabular evaluation (``condition`` names the label column); for
    images pass ``(images, labels)`` tuples for each split.
    """
    import pandas as pd

    if isinstance(train, pd.DataFrame):
        from synthgen.evaluation.tabular import evaluate_tables

        if condition is None:
            raise TypeError("condition= is required for tables")
        return evaluate_tables(train, holdout, test, synthetic, condition, **options)
    from synthgen.evaluation.images import evaluate_images

    (tx, ty), (sx, sy), (ex, ey) = train, synthetic, test
    hx, hy = holdout if holdout is not None else (None, None)
    return evaluate_images(tx, ty, ex, ey, sx, sy, holdout_x=hx, holdout_y=hy, **options)


def write_report(findings, folder: str | Path) -> dict[str, Path]:
    """``report.html``, ``metrics.json`` and ``summary.md`` of ``evaluate``'s findings."""
    from synthgen.report import write_report as _write

    return _write(findings, folder)

"""The training section, the same for every modality: loss curves per epoch and, when the model
recorded them, validation-score curves at the optimizer steps they were taken.

A history is ``{name: [per epoch]}`` or ``[{name: value} per epoch]``. Keys starting with
``val_`` are validation scores; ``val_step`` lists the global step of each of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from synthgen.evaluation.findings import Column, FigureSpec, Note, Section, Table

VALIDATION_PREFIX = "val_"
VALIDATION_STEPS = "val_step"


def history_curves(history: Any) -> dict[str, list[float]]:
    """Either history shape as ``{name: [values]}``; non-numeric entries are left out."""
    if not history:
        return {}
    if isinstance(history, Mapping):
        return {str(k): [float(v) for v in vals] for k, vals in history.items()
                if isinstance(vals, Sequence) and not isinstance(vals, str) and len(vals)}
    curves: dict[str, list[float]] = {}
    for row in history:
        for k, v in row.items():
            if k != "epoch" and isinstance(v, (int, float)):
                curves.setdefault(str(k), []).append(float(v))
    return curves


def split_history(history: Any) -> tuple[dict[str, list[float]], dict[str, tuple[list, list]]]:
    """(loss curves by epoch, validation curves as ``name -> (steps, values)``)."""
    curves = history_curves(history)
    steps = curves.pop(VALIDATION_STEPS, None)
    losses = {k: v for k, v in curves.items() if not k.startswith(VALIDATION_PREFIX)}
    validation = {}
    for k, v in curves.items():
        if k.startswith(VALIDATION_PREFIX):
            x = steps if steps is not None and len(steps) == len(v) else list(range(1, len(v) + 1))
            validation[k.removeprefix(VALIDATION_PREFIX)] = ([int(s) for s in x], v)
    return losses, validation


def curves_figure(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str,
                  x_label: str, y_label: str, caption: str = "") -> FigureSpec:
    return FigureSpec("curves", title, caption,
                      {"series": dict(series), "x_label": x_label, "y_label": y_label})


def by_epoch(curves: Mapping[str, Sequence[float]]) -> dict[str, tuple[list[int], list[float]]]:
    return {k: (list(range(1, len(v) + 1)), list(v)) for k, v in curves.items()}


def _summary_table(losses, validation) -> Table:
    rows = [[k, len(v), v[-1]] for k, v in losses.items()]
    rows += [[f"validation {k.replace('_', ' ')}", len(v), v[-1]]
             for k, (_, v) in validation.items()]
    return Table([Column("curve", "text"), Column("points", "count"), Column("last value")], rows)


def training_section(history: Any, extra: Sequence[FigureSpec] = ()) -> Section:
    """Losses, validation scores (if any) and ``extra`` curves (e.g. evaluation networks)."""
    losses, validation = split_history(history)
    section = Section("training", "Training")
    if not losses and not validation:
        section.blocks.append(Note("No training history was recorded for this model."))
    else:
        section.blocks.append(_summary_table(losses, validation))
    if losses:
        section.blocks.append(curves_figure(
            by_epoch(losses), "Training losses", "epoch", "loss",
            "Per-epoch losses of the generator and discriminator as recorded during fitting"))
    if validation:
        best = {k: float(np.nanmax(v)) for k, (_, v) in validation.items()}
        section.blocks.append(curves_figure(
            validation, "Validation scores during training", "optimizer step", "score",
            "Scores of generator snapshots on a validation split carved out of train; best: "
            + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in best.items())))
    section.blocks.extend(extra)
    return section

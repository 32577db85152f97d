"""The training section, the same for every modality: loss curves per epoch and, when the model
recorded them, validation-score curves at the optimizer steps they were taken.

A history is ``{name: [per epoch]}`` or ``[{name: value} per epoch]``. Keys starting with
``val_`` are validation scores. ``step`` (tables: one entry per round, for losses and scores
alike) or ``val_step`` (validation scores only) lists the optimizer step of each point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from synthgen.evaluation.findings import Column, FigureSpec, Note, Section, Table

VALIDATION_PREFIX = "val_"
VALIDATION_STEPS = "val_step"
STEPS = "step"
# Validation scores where lower is better (the rest: higher is better).
LOWER_IS_BETTER = {"detection_auc"}


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


def split_history(history: Any) -> tuple[dict[str, tuple[list, list]], dict[str, tuple[list, list]], str]:
    """(loss curves, validation curves, the x axis's name); curves as ``name -> (x, values)``."""
    curves = history_curves(history)
    round_steps = curves.pop(STEPS, None)
    steps = curves.pop(VALIDATION_STEPS, None) or round_steps
    raw = {k: v for k, v in curves.items() if not k.startswith(VALIDATION_PREFIX)}
    if round_steps is not None and all(len(v) == len(round_steps) for v in raw.values()):
        losses, axis = {k: ([int(x) for x in round_steps], v) for k, v in raw.items()}, "optimizer step"
    else:
        losses, axis = by_epoch(raw), "epoch"
    validation = {}
    for k, v in curves.items():
        if k.startswith(VALIDATION_PREFIX):
            x = steps if steps is not None and len(steps) == len(v) else list(range(1, len(v) + 1))
            validation[k.removeprefix(VALIDATION_PREFIX)] = ([int(s) for s in x], v)
    return losses, validation, axis


def curves_figure(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str,
                  x_label: str, y_label: str, caption: str = "") -> FigureSpec:
    return FigureSpec("curves", title, caption,
                      {"series": dict(series), "x_label": x_label, "y_label": y_label})


def by_epoch(curves: Mapping[str, Sequence[float]]) -> dict[str, tuple[list[int], list[float]]]:
    return {k: (list(range(1, len(v) + 1)), list(v)) for k, v in curves.items()}


def _summary_table(losses, validation) -> Table:
    rows = [[k, len(v), v[-1]] for k, (_, v) in losses.items()]
    rows += [[f"validation {k.replace('_', ' ')}", len(v), v[-1]]
             for k, (_, v) in validation.items()]
    return Table([Column("curve", "text"), Column("points", "count"), Column("last value")], rows)


def training_section(history: Any, extra: Sequence[FigureSpec] = ()) -> Section:
    """Losses, validation scores (if any) and ``extra`` curves (e.g. evaluation networks)."""
    losses, validation, axis = split_history(history)
    section = Section("training", "Training")
    if not losses and not validation:
        section.blocks.append(Note("No training history was recorded for this model."))
    else:
        section.blocks.append(_summary_table(losses, validation))
    if losses:
        section.blocks.append(curves_figure(
            losses, "Training losses", axis, "loss",
            f"Losses of the generator and discriminator per {axis.split()[-1]} as recorded during fitting"))
    if validation:
        best = {k: float(np.nanmin(v) if k in LOWER_IS_BETTER else np.nanmax(v))
                for k, (_, v) in validation.items()}
        section.blocks.append(curves_figure(
            validation, "Validation scores during training", "optimizer step", "score",
            "Scores of generator snapshots on a validation split carved out of train; best: "
            + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in best.items())))
    section.blocks.extend(extra)
    return section

"""Downstream results as data, the same for tables and images: scores per arm, paired gains
over real-only training with their 95% intervals, and the gain figure."""

from __future__ import annotations

from collections.abc import Mapping

from synthgen.evaluation.findings import Column, FigureSpec, Table
from synthgen.evaluation.names import METRICS, SYNTHETIC_ARMS, arm_label, metric_label

Interval = tuple[float, float, float]  # gain, low, high


def score_table(means: Mapping[str, Mapping[str, tuple[float, float]]], title: str) -> Table:
    """``means``: arm -> metric -> (mean, sd over seeds)."""
    metrics = [m for m in METRICS if any(m in v for v in means.values())]
    rows = [[arm_label(arm)] + [by_metric.get(m, (float("nan"), float("nan"))) for m in metrics]
            for arm, by_metric in means.items()]
    columns = [Column("arm", "text")] + [Column(metric_label(m), "mean_sd") for m in metrics]
    return Table(columns, rows, title)


def gain_table(gains: Mapping[str, Mapping[str, Interval]], verdicts: Mapping[str, str],
               title: str) -> Table:
    """``gains``: arm -> metric -> (gain, low, high); ``verdicts``: arm -> word (balanced
    accuracy), shown last."""
    metrics = [m for m in METRICS if any(m in v for v in gains.values())]
    rows = [[arm_label(arm)] + [by_metric.get(m, (float("nan"),) * 3) for m in metrics]
            + [verdicts.get(arm, "")] for arm, by_metric in gains.items()]
    columns = ([Column("arm", "text")] + [Column(metric_label(m), "interval") for m in metrics]
               + [Column("verdict (balanced accuracy)", "text")])
    return Table(columns, rows, title)


def gain_figure(rows: list[tuple[str, str, Interval]], metric: str = "balanced_accuracy"
                ) -> FigureSpec:
    """``rows``: (label, arm, interval); synthetic-data arms are drawn in their own colour."""
    data = {"rows": [{"label": label, "synthetic": arm in SYNTHETIC_ARMS, "gain": iv[0],
                      "low": iv[1], "high": iv[2]} for label, arm, iv in rows],
            "x_label": f"gain in {metric_label(metric)} over real-only training"}
    return FigureSpec(
        "gain_intervals", f"Downstream gains in {metric_label(metric)}",
        "Mean paired gain over seeds with its 95% interval; an interval crossing zero means no "
        "clear effect. Orange: synthetic-data arms; dark: classic baselines", data)

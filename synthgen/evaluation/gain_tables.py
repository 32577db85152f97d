"""Downstream results as data, the same for tables and images: the share of synthetic data
chosen on validation, scores per arm, paired gains over real-only training with their 95%
intervals, and the gain figure."""

from __future__ import annotations

from collections.abc import Mapping

from synthgen.evaluation.findings import Column, FigureSpec, Note, Table
from synthgen.evaluation.names import METRICS, MODELS, SYNTHETIC_ARMS, arm_label, metric_label
from synthgen.evaluation.share import ShareChoice, share_label

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


def share_table(choices: Mapping[str, ShareChoice], noun: str = "rows") -> Table:
    """``choices``: model -> its validation run. One row per share tried: how many synthetic
    items it adds, each model's validation balanced accuracy, and which models chose it."""
    first = next(iter(choices.values()))
    names = {m: MODELS.get(m, m) for m in choices}
    one = len(choices) == 1
    rows = []
    for i, share in enumerate(first.shares):
        chosen = [names[m] for m, c in choices.items() if c.chosen == share]
        rows.append([share_label(share), first.added[i]]
                    + [c.scores[i] for c in choices.values()]
                    + [("chosen" if chosen else "") if one else ", ".join(chosen)])
    columns = ([Column("share of the synthetic fill", "text"), Column(f"synthetic {noun} added", "count")]
               + [Column("validation balanced accuracy" if one else f"{names[m]}: validation "
                         "balanced accuracy") for m in choices]
               + [Column("chosen" if one else "chosen by", "text")])
    return Table(columns, rows, "Synthetic share chosen on validation (real train only; the "
                 "test split is not used)")


def share_notes(choices: Mapping[str, ShareChoice], noun: str = "rows") -> list[Note]:
    """What was chosen, per model, in words; and how (the protocol and its one caveat)."""
    first = next(iter(choices.values()))
    how = (f"The amount of synthetic data added to real training data is chosen before any test "
           f"score is seen: {first.n_validation} of the {first.n_fit + first.n_validation} real "
           f"training {noun} (stratified) are held out, a classifier is trained on the rest plus "
           f"each share of the synthetic fill ({', '.join(share_label(s) for s in first.shares)}"
           f"; {first.repeats} carving{'s' if first.repeats > 1 else ''} averaged), the best "
           "validation balanced accuracy wins (ties: the smaller share), and only that share is "
           "scored on the test split against real only. The generator saw these validation "
           f"{noun} during fitting, which can only flatter larger shares on validation, not the "
           "test score the verdict uses.")
    said = [f"{_upper_first(MODELS.get(m, m))}: {c.describe(noun)}." for m, c in choices.items()]
    return [Note(how)] + [Note(s) for s in said]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]  # "CNN" stays "CNN"

"""Report sections of the table evaluation, as data: notes, tables and figure specs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthgen.evaluation.distance import category_strings, numeric_array
from synthgen.evaluation.findings import Column, FigureSpec, Note, Section, Table
from synthgen.evaluation.gain_tables import (
    gain_figure,
    gain_table,
    score_table,
    share_notes,
    share_table,
)
from synthgen.evaluation.names import MODELS, arm_label

MAX_FIGURE_COLUMNS = 24
MAX_LEVELS = 12


def _histogram_data(real: pd.DataFrame, synthetic: pd.DataFrame, categorical: Sequence[str]):
    """Per column what the histogram figure draws: level shares or the finite values."""
    out = []
    for c in list(real.columns)[:MAX_FIGURE_COLUMNS]:
        if c in set(categorical):
            pr = category_strings(real[c]).value_counts(normalize=True)
            ps = category_strings(synthetic[c]).value_counts(normalize=True)
            levels = list(pr.index[:MAX_LEVELS])
            out.append({"name": str(c), "kind": "categorical", "levels": [str(v) for v in levels],
                        "real": pr.reindex(levels, fill_value=0).to_numpy(),
                        "synthetic": ps.reindex(levels, fill_value=0).to_numpy()})
        else:
            r, s = numeric_array(real[c]), numeric_array(synthetic[c])
            out.append({"name": str(c), "kind": "numeric", "real": r[np.isfinite(r)],
                        "synthetic": s[np.isfinite(s)]})
    return out


def _fidelity_figures(fid, real, synthetic, categorical) -> list[FigureSpec]:
    caption = "Real (dark) vs synthetic (orange) distribution of each column"
    if real.shape[1] > MAX_FIGURE_COLUMNS:
        caption += f"; first {MAX_FIGURE_COLUMNS} of {real.shape[1]} columns"
    figs = [FigureSpec("column_histograms", "Column distributions", caption,
                       {"columns": _histogram_data(real, synthetic, categorical)})]
    cols = list(real.columns)[:MAX_FIGURE_COLUMNS]
    if len(cols) > 1 and len(fid.pairs):
        from synthgen.evaluation.fidelity import pair_matrix

        figs.append(FigureSpec(
            "pair_heatmap", "Pairwise relationship differences",
            "Each cell: how differently two columns relate in synthetic vs real data (0 = same)",
            {"matrix": 1.0 - pair_matrix(fid.pairs, cols).to_numpy(dtype=float),
             "labels": [str(c) for c in cols]}))
    return figs


def fidelity_section(fid, real: pd.DataFrame, synthetic: pd.DataFrame,
                     categorical: Sequence[str], figures: bool = True) -> Section:
    m, b = fid.metrics, fid.baseline
    names = [("column_shapes", "Column shapes (1−KS / 1−TVD)"),
             ("pair_trends", "Pair trends (correlation / contingency similarity)"),
             ("detection_auc", "Detection AUC (0.5 = indistinguishable)"),
             ("precision", "k-NN precision (synthetic rows inside the real data's support)"),
             ("recall", "k-NN recall (real data's variety covered)"),
             ("density", "k-NN density"), ("coverage", "k-NN coverage")]
    rows = [[label, m.get(f"fidelity/{k}", np.nan), b.get(k, np.nan)] for k, label in names]
    blocks = [
        Note("Synthetic rows are compared with the real training rows. The right-hand column "
             "scores real holdout rows the same way: real data against itself at this sample "
             "size, the best a generator can be expected to reach."),
        Table([Column("measure", "text"), Column("synthetic vs train"),
               Column("real holdout vs train")], rows),
    ]
    if len(fid.per_class):
        blocks.append(Table.from_frame(fid.per_class, "Per class"))
    blocks.append(Table.from_frame(fid.shapes.sort_values("score").head(8),
                                   "Columns that differ most"))
    if len(fid.pairs):
        blocks.append(Table.from_frame(fid.pairs.sort_values("score").head(8),
                                       "Column pairs that differ most"))
    if figures:
        blocks += _fidelity_figures(fid, real, synthetic, categorical)
    return Section("fidelity", "Fidelity and diversity", blocks)


def memorization_section(mem, figures: bool = True) -> Section:
    m = mem.metrics
    rows = [
        ["Share of synthetic rows closer to train than to holdout (DCR share; ties half)",
         m["memorization/dcr_share"], f"flag above {m['memorization/dcr_flag_level']:.3f}"],
        ["DCR share among synthetic rows near real data (what the flag uses)",
         m["memorization/dcr_share_near"],
         f"{m['memorization/near_share']:.0%} of rows; flag above "
         f"{m['memorization/dcr_near_flag_level']:.3f}"],
        ["Exact copies of training rows", m["memorization/exact_copy_share"],
         f"holdout rows copied: {m['memorization/exact_copy_share_holdout']:.3f}"],
        ["Membership-inference AUC (distance attack)", m["memorization/membership_auc"],
         f"flag above {m['memorization/membership_flag_level']:.3f}"],
        ["Median NNDR to train (d1/d2)", m["memorization/nndr_median"],
         f"to holdout: {m['memorization/nndr_holdout_median']:.3f}"],
        ["Median distance to closest training row", m["memorization/dcr_train_median"],
         f"to holdout: {m['memorization/dcr_holdout_median']:.3f}; "
         f"holdout→train: {m['memorization/holdout_to_train_median']:.3f}"],
    ]
    blocks = [
        Note("The generator saw only the training split. The holdout split comes from the same "
             "patients' population but was never shown to it. A generator that learned the "
             "population rather than the rows places synthetic rows as close to holdout rows as "
             "to training rows."),
        Note(mem.verdict.text, mem.verdict.severity),
        Table([Column("measure", "text"), Column("value"), Column("reference", "text")], rows),
    ]
    if len(mem.per_class):
        blocks.append(Table.from_frame(mem.per_class, "Per class of the synthetic rows"))
    if figures:
        blocks.append(FigureSpec(
            "dcr_histograms", "Distance to closest record",
            "If the generator copied its training rows, the orange mass piles up near zero "
            "while the green does not; overlapping histograms are the safe pattern",
            {"train": mem.d_train, "holdout": mem.d_holdout, "holdout_train": mem.d_holdout_train}))
    return Section("memorization", "Memorization risk", blocks)


def _model_tables(s: pd.DataFrame, model: str) -> list[Table]:
    sel = s[s.model == model]
    means, gains, words = {}, {}, {}
    for r in sel.itertuples(index=False):
        means.setdefault(r.arm, {})[r.metric] = (r.mean, r.std)
        if r.arm != "real":
            gains.setdefault(r.arm, {})[r.metric] = (r.gain, r.low, r.high)
            if r.metric == "balanced_accuracy":
                words[r.arm] = r.verdict
    name = MODELS.get(model, model)
    return [score_table(means, f"{name.capitalize()}: test scores (mean ± sd over repeats)"),
            gain_table(gains, words, f"{name.capitalize()}: gain over real only (paired 95% "
                                     "interval)")]


def utility_section(util, figures: bool = True) -> Section:
    s = util.summary
    blocks = [
        Note("Classifiers of the condition were trained on each arm and tested on the real test "
             f"split, over {util.scores.seed.nunique()} paired bootstrap repeats. A gain is called "
             "a help only when its whole 95% interval lies above zero. Minority class: "
             f"{util.minority_class}."),
        Note(util.verdict.text, util.verdict.severity),
    ]
    blocks += [Note(f"Arm '{arm_label(arm)}' was not run: {why}.") for arm, why in
               util.skipped.items()]
    if util.choices:
        blocks += share_notes(util.choices) + [share_table(util.choices)]
    for model in s.model.unique():
        blocks += _model_tables(s, model)
    if figures:
        for metric in ("balanced_accuracy", "minority_recall"):
            rows = s[(s.metric == metric) & (s.arm != "real")]
            blocks.append(gain_figure(
                [(f"{MODELS.get(r.model, r.model)}: {arm_label(r.arm)}", r.arm,
                  (r.gain, r.low, r.high)) for r in rows.itertuples(index=False)], metric))
    return Section("utility", "Downstream gains", blocks)

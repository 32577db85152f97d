"""Report sections for the tabular evaluation: a short explanation, tables, then figures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthgen.evaluation.result import Section
from synthgen.report import plots
from synthgen.report.fragments import esc, frame_table, note, table


def fidelity_section(fid, real: pd.DataFrame, synthetic: pd.DataFrame,
                     categorical: Sequence[str], figures: bool = True) -> Section:
    m, b = fid.metrics, fid.baseline
    names = [("column_shapes", "Column shapes (1−KS / 1−TVD)"),
             ("pair_trends", "Pair trends (correlation / contingency similarity)"),
             ("detection_auc", "Detection AUC (0.5 = indistinguishable)"),
             ("precision", "k-NN precision (synthetic rows inside the real data's support)"),
             ("recall", "k-NN recall (real data's variety covered)"),
             ("density", "k-NN density"), ("coverage", "k-NN coverage")]
    rows = [(label, m.get(f"fidelity/{k}", np.nan), b.get(k, np.nan)) for k, label in names]
    html = note("Synthetic rows are compared with the real training rows. The right-hand column "
                "scores real holdout rows the same way: real data against itself at this sample "
                "size, the best a generator can be expected to reach.")
    html += table(["Measure", "Synthetic vs train", "Real holdout vs train"], rows)
    if len(fid.per_class):
        html += "<h3>Per class</h3>" + frame_table(fid.per_class)
    worst = fid.shapes.sort_values("score").head(8)
    html += "<h3>Columns that differ most</h3>" + frame_table(worst)
    if len(fid.pairs):
        html += "<h3>Column pairs that differ most</h3>" + frame_table(
            fid.pairs.sort_values("score").head(8))
    section = Section("fidelity", "Fidelity and diversity", html)
    if not figures:
        return section
    section.figures.append(plots.column_histograms(real, synthetic, categorical))
    cols = list(real.columns)[:24]
    if len(cols) > 1 and len(fid.pairs):
        from synthgen.evaluation.fidelity import pair_matrix

        section.figures.append(plots.pair_heatmap(pair_matrix(fid.pairs, cols)))
    return section


def memorization_section(mem, figures: bool = True) -> Section:
    m = mem.metrics
    html = note(
        "The generator saw only the training split. The holdout split comes from the same patients' "
        "population but was never shown to it. A generator that learned the population rather than "
        "the rows places synthetic rows as close to holdout rows as to training rows.",
    )
    html += note(mem.verdict, "bad" if mem.flagged else "good")
    rows = [
        ("Share of synthetic rows closer to train than to holdout (DCR share; ties half)",
         m["memorization/dcr_share"], f"flag above {m['memorization/dcr_flag_level']:.3f}"),
        ("DCR share among synthetic rows near real data (what the flag uses)",
         m["memorization/dcr_share_near"],
         f"{m['memorization/near_share']:.0%} of rows; flag above "
         f"{m['memorization/dcr_near_flag_level']:.3f}"),
        ("Exact copies of training rows", m["memorization/exact_copy_share"],
         f"holdout rows copied: {m['memorization/exact_copy_share_holdout']:.3f}"),
        ("Membership-inference AUC (distance attack)", m["memorization/membership_auc"],
         f"flag above {m['memorization/membership_flag_level']:.3f}"),
        ("Median NNDR to train (d1/d2)", m["memorization/nndr_median"],
         f"to holdout: {m['memorization/nndr_holdout_median']:.3f}"),
        ("Median distance to closest training row", m["memorization/dcr_train_median"],
         f"to holdout: {m['memorization/dcr_holdout_median']:.3f}; "
         f"holdout→train: {m['memorization/holdout_to_train_median']:.3f}"),
    ]
    html += table(["Measure", "Value", "Reference"], rows)
    if len(mem.per_class):
        html += "<h3>Per class of the synthetic rows</h3>" + frame_table(mem.per_class)
    figs = [plots.dcr_histograms(mem.d_train, mem.d_holdout, mem.d_holdout_train)] if figures \
        else []
    return Section("memorization", "Memorization risk", html, figs)


def utility_section(util, figures: bool = True) -> Section:
    from synthgen.evaluation.utility import ARMS, METRICS, MODELS

    s = util.summary
    html = note(
        "Classifiers of the condition were trained on each arm and tested on the real test split, "
        f"over {util.scores.seed.nunique()} paired bootstrap repeats. A gain is called a help only "
        "when its whole 95% interval lies above zero. Minority class: "
        f"{util.minority_class}.")
    html += note(util.verdict, "good" if util.verdict.startswith("helps") else "warn")
    for why in util.skipped.items():
        html += note(f"Arm '{ARMS[why[0]]}' was not run: {why[1]}.", "warn")
    for model in s.model.unique():
        html += f"<h3>{esc(MODELS.get(model, model))}</h3>"
        rows = []
        for arm in [a for a in ARMS if a in set(s[s.model == model].arm)]:
            row = [ARMS[arm]]
            for metric in METRICS:
                r = s[(s.model == model) & (s.arm == arm) & (s.metric == metric)]
                if not len(r):
                    row.append("—")
                    continue
                r = r.iloc[0]
                cell = f"{r['mean']:.3f} ± {r['std']:.3f}" if np.isfinite(r["std"]) else \
                    f"{r['mean']:.3f}"
                if arm != "real":
                    cell += f" | gain {r['gain']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]: " \
                            f"{r['verdict']}"
                row.append(cell)
            rows.append(row)
        html += table(["Arm"] + [m.replace("_", " ") for m in METRICS], rows)
    figs = [plots.gain_forest(s, ARMS, MODELS),
            plots.gain_forest(s, ARMS, MODELS, metric="minority_recall")] if figures else []
    return Section("utility", "Downstream gains", html, figs)


def training_section(history: dict[str, Sequence[float]] | None, figures: bool = True) -> Section:
    if not history:
        return Section("training", "Training", note("No training history was provided."))
    last = [(k, len(v), v[-1] if len(v) else np.nan) for k, v in history.items()]
    html = table(["Curve", "Epochs", "Last value"], last)
    return Section("training", "Training", html, [plots.loss_curves(history)] if figures else [])


"""Report figures (matplotlib, Agg backend: no display needed). Each returns a ``Figure``."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # before pyplot: reports are rendered on headless machines
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from synthgen.evaluation.distance import category_strings, numeric_array  # noqa: E402
from synthgen.evaluation.result import Figure  # noqa: E402

REAL, SYNTH, HOLD = "#34495e", "#e67e22", "#27ae60"


def _grid(n: int, ncols: int = 4, size: float = 2.6):
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size * 1.25, nrows * size),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def column_histograms(real: pd.DataFrame, synthetic: pd.DataFrame, categorical: Sequence[str],
                      max_columns: int = 24, max_levels: int = 12) -> Figure:
    """Real vs synthetic per column: overlaid density histograms, or side-by-side bars."""
    cols = list(real.columns)[:max_columns]
    cats = set(categorical)
    fig, axes = _grid(len(cols))
    for ax, c in zip(axes, cols):
        if c in cats:
            pr = category_strings(real[c]).value_counts(normalize=True)
            ps = category_strings(synthetic[c]).value_counts(normalize=True)
            levels = list(pr.index[:max_levels])
            pos = np.arange(len(levels))
            ax.bar(pos - 0.2, pr.reindex(levels, fill_value=0), 0.4, color=REAL, label="real")
            ax.bar(pos + 0.2, ps.reindex(levels, fill_value=0), 0.4, color=SYNTH,
                   label="synthetic")
            ax.set_xticks(pos, [str(v)[:10] for v in levels], rotation=60, fontsize=6,
                          ha="right")
        else:
            r, s = numeric_array(real[c]), numeric_array(synthetic[c])
            r, s = r[np.isfinite(r)], s[np.isfinite(s)]
            both = np.r_[r, s]
            if len(both):
                lo, hi = np.percentile(both, [0.5, 99.5])
                bins = np.linspace(lo, hi if hi > lo else lo + 1, 30)
                ax.hist(r, bins, density=True, color=REAL, alpha=0.6, label="real")
                ax.hist(s, bins, density=True, color=SYNTH, alpha=0.6, label="synthetic")
            ax.tick_params(labelsize=6)
        ax.set_title(str(c)[:28], fontsize=8)
        ax.set_yticks([])
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    caption = "Real (dark) vs synthetic (orange) distribution of each column"
    if len(real.columns) > max_columns:
        caption += f"; first {max_columns} of {len(real.columns)} columns"
    return Figure.from_matplotlib(fig, "Column distributions", caption)


def pair_heatmap(matrix: pd.DataFrame) -> Figure:
    """1 - pair score: where the relationship between two columns differs (dark = differs)."""
    n = len(matrix)
    size = min(11, 2 + 0.32 * n)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    im = ax.imshow(1.0 - matrix.to_numpy(dtype=float), cmap="magma_r", vmin=0, vmax=0.5)
    ax.set_xticks(range(n), [str(c)[:16] for c in matrix.columns], rotation=90, fontsize=6)
    ax.set_yticks(range(n), [str(c)[:16] for c in matrix.index], fontsize=6)
    fig.colorbar(im, ax=ax, fraction=0.04, label="difference (|Δρ|/2 or contingency TVD)")
    fig.tight_layout()
    return Figure.from_matplotlib(
        fig, "Pairwise relationship differences",
        "Each cell: how differently two columns relate in synthetic vs real data (0 = same)",
    )


def loss_curves(history: dict[str, Sequence[float]]) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, values in history.items():
        v = np.asarray(values, float)
        ax.plot(np.arange(1, len(v) + 1), v, label=name, lw=1.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return Figure.from_matplotlib(fig, "Training losses", "Per-epoch losses of the generator and "
                                  "discriminator as recorded during fitting")


def dcr_histograms(d_train: np.ndarray, d_holdout: np.ndarray,
                   d_holdout_train: np.ndarray | None = None) -> Figure:
    """Distance to the closest record: synthetic->train vs synthetic->holdout."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    both = np.r_[d_train, d_holdout]
    hi = np.percentile(both, 99) if len(both) else 1.0
    bins = np.linspace(0, hi if hi > 0 else 1.0, 40)
    ax.hist(d_train, bins, alpha=0.6, color=SYNTH, label="synthetic → nearest train row")
    ax.hist(d_holdout, bins, alpha=0.6, color=HOLD, label="synthetic → nearest holdout row")
    if d_holdout_train is not None and len(d_holdout_train):
        ax.axvline(np.median(d_holdout_train), color=REAL, ls="--",
                   label="median holdout → train (real vs real)")
    ax.set_xlabel("mixed-type distance")
    ax.set_ylabel("synthetic rows")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Figure.from_matplotlib(
        fig, "Distance to closest record",
        "If the generator copied its training rows, the orange mass piles up near zero "
        "while the green does not; overlapping histograms are the safe pattern",
    )


def gain_forest(summary: pd.DataFrame, labels: dict[str, str], model_labels: dict[str, str],
                metric: str = "balanced_accuracy") -> Figure:
    """Paired gain over real-only with 95% intervals, one row per model and arm."""
    rows = summary[(summary.metric == metric) & (summary.arm != "real")].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.32 * max(len(rows), 1)))
    for i, r in rows.iterrows():
        y = len(rows) - 1 - i
        color = SYNTH if r.arm in ("real_plus_synth", "synth_only") else REAL
        if np.isfinite(r.low):
            ax.plot([r.low, r.high], [y, y], color=color, lw=2)
        ax.plot(r.gain, y, "o", color=color)
    ax.set_yticks(range(len(rows))[::-1],
                  [f"{model_labels.get(m, m)}: {labels.get(a, a)}" for m, a in
                   zip(rows.model, rows.arm)], fontsize=8)
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel(f"gain in {metric.replace('_', ' ')} over real-only training")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return Figure.from_matplotlib(
        fig, "Downstream gains", "Mean paired gain over seeds with its 95% interval; an interval "
        "crossing zero means no clear effect. Orange: synthetic-data arms; dark: baselines")

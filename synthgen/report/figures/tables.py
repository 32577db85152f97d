"""Drawings for the table evaluation: column histograms, pair heat map, distance histograms."""

from __future__ import annotations

import numpy as np

from synthgen.report.figures.png import HOLD, REAL, SYNTH, new_figure


def _grid(n: int, ncols: int = 4, size: float = 2.6):
    nrows = max(1, -(-n // ncols))
    fig = new_figure(ncols * size * 1.25, nrows * size)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _bars(ax, col: dict) -> None:
    pos = np.arange(len(col["levels"]))
    ax.bar(pos - 0.2, col["real"], 0.4, color=REAL, label="real")
    ax.bar(pos + 0.2, col["synthetic"], 0.4, color=SYNTH, label="synthetic")
    ax.set_xticks(pos, [v[:10] for v in col["levels"]], rotation=60, fontsize=6, ha="right")


def _histogram(ax, col: dict) -> None:
    r, s = col["real"], col["synthetic"]
    both = np.r_[r, s]
    if len(both):
        lo, hi = np.percentile(both, [0.5, 99.5])
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 30)
        ax.hist(r, bins, density=True, color=REAL, alpha=0.6, label="real")
        ax.hist(s, bins, density=True, color=SYNTH, alpha=0.6, label="synthetic")
    ax.tick_params(labelsize=6)


def column_histograms(data: dict):
    """Real vs synthetic per column: overlaid density histograms, or side-by-side bars."""
    cols = data["columns"]
    fig, axes = _grid(len(cols))
    for ax, col in zip(axes, cols):
        (_bars if col["kind"] == "categorical" else _histogram)(ax, col)
        ax.set_title(col["name"][:28], fontsize=8)
        ax.set_yticks([])
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return fig


def pair_heatmap(data: dict):
    """1 - pair score: where the relationship between two columns differs (dark = differs)."""
    labels = [c[:16] for c in data["labels"]]
    size = min(11, 2 + 0.32 * len(labels))
    fig = new_figure(size, size * 0.85)
    ax = fig.subplots()
    im = ax.imshow(data["matrix"], cmap="magma_r", vmin=0, vmax=0.5)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
    ax.set_yticks(range(len(labels)), labels, fontsize=6)
    fig.colorbar(im, ax=ax, fraction=0.04, label="difference (|Δρ|/2 or contingency TVD)")
    fig.tight_layout()
    return fig


def dcr_histograms(data: dict):
    """Distance to the closest record: synthetic->train vs synthetic->holdout."""
    d_train, d_holdout, d_ref = data["train"], data["holdout"], data.get("holdout_train")
    fig = new_figure(7, 3.6)
    ax = fig.subplots()
    both = np.r_[d_train, d_holdout]
    hi = np.percentile(both, 99) if len(both) else 1.0
    bins = np.linspace(0, hi if hi > 0 else 1.0, 40)
    ax.hist(d_train, bins, alpha=0.6, color=SYNTH, label="synthetic → nearest train row")
    ax.hist(d_holdout, bins, alpha=0.6, color=HOLD, label="synthetic → nearest holdout row")
    if d_ref is not None and len(d_ref):
        ax.axvline(np.median(d_ref), color=REAL, ls="--",
                   label="median holdout → train (real vs real)")
    ax.set_xlabel("mixed-type distance")
    ax.set_ylabel("synthetic rows")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

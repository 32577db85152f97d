"""Line drawings shared by every modality: training curves and downstream gain intervals."""

from __future__ import annotations

import numpy as np

from synthgen.report.figures.png import REAL, SYNTH, new_figure


def curves(data: dict):
    """``series``: name -> (x, y); one line each (losses per epoch, validation per step)."""
    fig = new_figure(7, 3.4)
    ax = fig.subplots()
    for name, (x, y) in data["series"].items():
        ax.plot(np.asarray(x, float), np.asarray(y, float), label=str(name), lw=1.2,
                marker="o" if len(y) < 30 else None, ms=3)
    ax.set_xlabel(data["x_label"], fontsize=8)
    ax.set_ylabel(data["y_label"], fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if data["series"]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def gain_intervals(data: dict):
    """One line per arm: mean paired gain and its 95% interval; zero marked."""
    rows = data["rows"]
    fig = new_figure(7, 0.9 + 0.32 * max(len(rows), 1))
    ax = fig.subplots()
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        color = SYNTH if r["synthetic"] else REAL
        if np.isfinite(r["low"]):
            ax.plot([r["low"], r["high"]], [y, y], color=color, lw=2)
        ax.plot(r["gain"], y, "o", color=color)
    ax.set_yticks(range(len(rows))[::-1], [r["label"] for r in rows], fontsize=8)
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel(data["x_label"], fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig

"""Matplotlib pictures for the image report, each returned as a PNG ``Figure``.

Built on ``matplotlib.figure.Figure`` (no pyplot state, no backend switch). Volumes are shown by
their middle slice along the first spatial axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure as MplFigure

from synthgen.evaluation.result import Figure


def middle_slice(img: np.ndarray) -> np.ndarray:
    """A 2D view of one ``(C, *spatial)`` image: first channel, middle slice if 3D."""
    a = np.asarray(img)[0]
    return a[a.shape[0] // 2] if a.ndim == 3 else a


def _show(ax, img: np.ndarray) -> None:
    ax.imshow(middle_slice(img), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def sample_grid(
    real_x: np.ndarray, real_y: np.ndarray, synth_x: np.ndarray, synth_y: np.ndarray,
    classes: Sequence[str], *, per_row: int = 8, seed: int = 0,
) -> Figure:
    """Per class, a row of real images beside a row of synthetic ones (random picks)."""
    rng = np.random.default_rng(seed)
    fig = MplFigure(figsize=(per_row * 0.9, len(classes) * 2 * 0.95 + 0.3))
    axes = fig.subplots(2 * len(classes), per_row, squeeze=False)
    for r, c in enumerate(classes):
        for k, (name, x, y) in enumerate((("real", real_x, real_y), ("synthetic", synth_x, synth_y))):
            row = axes[2 * r + k]
            pool = np.flatnonzero(y == c)
            pick = rng.choice(pool, min(per_row, len(pool)), replace=False) if len(pool) else []
            for j, ax in enumerate(row):
                if j < len(pick):
                    _show(ax, x[pick[j]])
                else:
                    ax.axis("off")
            row[0].set_ylabel(f"{c}\n{name}", fontsize=8, rotation=0, ha="right", va="center")
    fig.subplots_adjust(wspace=0.05, hspace=0.08)
    return Figure.from_matplotlib(fig, "Samples per class",
                                  "each class: a row of real training images, then a row of synthetic ones")


def intensity_histograms(
    centres: np.ndarray, panels: Mapping[str, Mapping[str, np.ndarray]]
) -> Figure:
    """One panel per group ('all', then each class): real-train vs synthetic grey-level density."""
    n = len(panels)
    fig = MplFigure(figsize=(3.6 * n, 2.8))
    axes = fig.subplots(1, n, squeeze=False)[0]
    width = centres[1] - centres[0]
    for ax, (title, hists) in zip(axes, panels.items()):
        for name, colour in (("train", "tab:blue"), ("synthetic", "tab:orange")):
            if name in hists:
                ax.step(centres, hists[name] / width, where="mid", color=colour,
                        label="real (train)" if name == "train" else name)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("intensity", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("density", fontsize=8)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return Figure.from_matplotlib(fig, "Intensity histograms",
                                  "grey-level distribution of real training vs synthetic images")


def closest_pairs(
    pairs: Sequence[tuple[int, int, float]], synth_x: np.ndarray, train_x: np.ndarray,
    threshold: float, space: str,
) -> Figure:
    """Top row: the synthetic images closest to a training image; bottom row: that image."""
    n = max(len(pairs), 1)
    fig = MplFigure(figsize=(n * 1.1, 2.6))
    axes = fig.subplots(2, n, squeeze=False)
    for j, (si, ti, sim) in enumerate(pairs):
        _show(axes[0, j], synth_x[si])
        _show(axes[1, j], train_x[ti])
        flag = " ≥ thr" if sim >= threshold else ""
        axes[0, j].set_title(f"{sim:.3f}{flag}", fontsize=7, color="firebrick" if flag else "black")
    axes[0, 0].set_ylabel("synthetic", fontsize=8)
    axes[1, 0].set_ylabel("nearest\ntrain", fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.25)
    return Figure.from_matplotlib(
        fig, f"Closest synthetic–training pairs ({space})",
        f"similarity above each pair; copy threshold {threshold:.3f} (99th percentile of unseen "
        "real images' nearest-training similarity)")


def similarity_distributions(checks: Sequence[object]) -> Figure:
    """Nearest-training similarity of synthetic vs unseen real images, threshold marked."""
    fig = MplFigure(figsize=(4.2 * len(checks), 2.8))
    axes = fig.subplots(1, len(checks), squeeze=False)[0]
    for ax, chk in zip(axes, checks):
        lo = float(min(chk.synth_sims.min(), chk.test_sims.min()))
        bins = np.linspace(lo, 1.0, 40)
        ax.hist(chk.test_sims, bins=bins, density=True, alpha=0.6, label="unseen real (test)")
        ax.hist(chk.synth_sims, bins=bins, density=True, alpha=0.6, label="synthetic")
        ax.axvline(chk.threshold, color="firebrick", ls="--", lw=1, label="copy threshold")
        ax.set_title(f"{chk.space}: copy rate {chk.rate:.1%}", fontsize=9)
        ax.set_xlabel("similarity to nearest training image", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return Figure.from_matplotlib(fig, "Nearest-training-image similarity",
                                  "synthetic images far right of the unseen real ones are copies")


def gain_intervals(rows: Sequence[tuple[str, dict[str, float]]], metric: str) -> Figure:
    """Paired gain over real-only with its 95% interval, one line per arm; zero marked."""
    fig = MplFigure(figsize=(5.5, 0.45 * len(rows) + 1.0))
    ax = fig.subplots()
    for k, (name, iv) in enumerate(rows):
        colour = "tab:green" if iv["low"] > 0 else ("tab:red" if iv["high"] < 0 else "tab:gray")
        ax.errorbar(iv["gain"], k, xerr=[[iv["gain"] - iv["low"]], [iv["high"] - iv["gain"]]],
                    fmt="o", color=colour, capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    ax.set_xlabel(f"gain in {metric.replace('_', ' ')} (95% paired interval)", fontsize=8)
    ax.invert_yaxis()
    fig.tight_layout()
    return Figure.from_matplotlib(fig, "Downstream gains",
                                  "green: helps (interval above 0); red: hurts; grey: no clear effect")


def loss_curves(curves: Mapping[str, Sequence[float]], title: str, caption: str = "") -> Figure:
    fig = MplFigure(figsize=(5.5, 3.0))
    ax = fig.subplots()
    for name, vals in curves.items():
        ax.plot(np.arange(1, len(vals) + 1), vals, label=name, lw=1.2)
    ax.set_xlabel("epoch", fontsize=8)
    ax.set_ylabel("loss", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure.from_matplotlib(fig, title, caption)

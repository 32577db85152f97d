"""Drawings for the image evaluation. Volumes are shown by their middle slice along the first
spatial axis."""

from __future__ import annotations

import numpy as np

from synthgen.report.figures.png import new_figure


def middle_slice(img: np.ndarray) -> np.ndarray:
    """A 2D view of one ``(C, *spatial)`` image: first channel, middle slice if 3D."""
    a = np.asarray(img)[0]
    return a[a.shape[0] // 2] if a.ndim == 3 else a


def _show(ax, img: np.ndarray) -> None:
    ax.imshow(middle_slice(img), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def sample_grid(data: dict, per_row: int = 8):
    """Per class, a row of real images above a row of synthetic ones."""
    classes = data["classes"]
    fig = new_figure(per_row * 0.9, len(classes) * 2 * 0.95 + 0.3)
    axes = fig.subplots(2 * len(classes), per_row, squeeze=False)
    for r, c in enumerate(classes):
        for k, side in enumerate(("real", "synthetic")):
            row, images = axes[2 * r + k], data[side][c]
            for j, ax in enumerate(row):
                if j < len(images):
                    _show(ax, images[j])
                else:
                    ax.axis("off")
            row[0].set_ylabel(f"{c}\n{side}", fontsize=8, rotation=0, ha="right", va="center")
    fig.subplots_adjust(wspace=0.05, hspace=0.08)
    return fig


def intensity_histograms(data: dict):
    """One panel per group ('all', then each class): real-train vs synthetic grey-level density."""
    centres, panels = data["centres"], data["panels"]
    fig = new_figure(3.6 * len(panels), 2.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
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
    return fig


def closest_pairs(data: dict):
    """Top row: the synthetic images closest to a training image; bottom row: that image."""
    sims, threshold = data["similarity"], data["threshold"]
    n = max(len(sims), 1)
    fig = new_figure(n * 1.1, 2.6)
    axes = fig.subplots(2, n, squeeze=False)
    for j, sim in enumerate(sims):
        _show(axes[0, j], data["synthetic"][j])
        _show(axes[1, j], data["train"][j])
        flag = " ≥ thr" if sim >= threshold else ""
        axes[0, j].set_title(f"{sim:.3f}{flag}", fontsize=7,
                             color="firebrick" if flag else "black")
    axes[0, 0].set_ylabel("synthetic", fontsize=8)
    axes[1, 0].set_ylabel("nearest\ntrain", fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.25)
    return fig


def similarity_distributions(data: dict):
    """Nearest-training similarity of synthetic vs unseen real images, threshold marked."""
    panels = data["panels"]
    fig = new_figure(4.2 * len(panels), 2.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, p in zip(axes, panels):
        lo = float(min(p["synthetic"].min(), p["unseen"].min()))
        bins = np.linspace(lo, 1.0, 40)
        ax.hist(p["unseen"], bins=bins, density=True, alpha=0.6, label="unseen real (test)")
        ax.hist(p["synthetic"], bins=bins, density=True, alpha=0.6, label="synthetic")
        ax.axvline(p["threshold"], color="firebrick", ls="--", lw=1, label="copy threshold")
        ax.set_title(f"{p['space']}: copy rate {p['rate']:.1%}", fontsize=9)
        ax.set_xlabel("similarity to nearest training image", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig

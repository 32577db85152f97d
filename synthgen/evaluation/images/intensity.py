"""Real-vs-synthetic intensity histograms and their Wasserstein-1 distance.

Grey-level distributions are what a radiologist notices first (washed-out or over-dark scans).
The distance of the synthetic histogram to the train one sits beside the test-vs-train baseline.
"""

from __future__ import annotations

import numpy as np

# 64 bins over [-1 - 1/255, 1 + 1/255]: images scaled from 8 bits (k/127.5 - 1) then put exactly
# four grey levels in every bin; plain [-1, 1] edges give a comb of 5- and 6-level bins.
BINS = 64
_EDGES = np.linspace(-1.0 - 1 / 255, 1.0 + 1 / 255, BINS + 1)


def histogram(x: np.ndarray, *, max_values: int = 2_000_000, seed: int = 0) -> np.ndarray:
    """Normalised histogram of intensities over [-1, 1] (a random subset of voxels if large)."""
    v = x.reshape(-1)
    if v.size > max_values:
        v = v[np.random.default_rng(seed).choice(v.size, max_values, replace=False)]
    h, _ = np.histogram(v, bins=_EDGES)
    return h / max(h.sum(), 1)


def wasserstein_1(p: np.ndarray, q: np.ndarray) -> float:
    """W1 between two histograms on the shared bins: area between the cumulative curves."""
    return float(np.abs(np.cumsum(p) - np.cumsum(q)).sum() * (_EDGES[1] - _EDGES[0]))


def bin_centres() -> np.ndarray:
    return (_EDGES[:-1] + _EDGES[1:]) / 2


def intensity_summary(
    train_x: np.ndarray, test_x: np.ndarray, synth_x: np.ndarray
) -> dict[str, object]:
    """Histograms of the three sets and W1 of synthetic and test to train."""
    h = {"train": histogram(train_x), "test": histogram(test_x), "synthetic": histogram(synth_x)}
    return {
        "histograms": h,
        "w1": wasserstein_1(h["synthetic"], h["train"]) if len(synth_x) else float("nan"),
        "w1_baseline": wasserstein_1(h["test"], h["train"]) if len(test_x) else float("nan"),
    }

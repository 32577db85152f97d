"""Real images drawn in a sample's own class proportions: compare like with like.

A ``--balance fill`` sample holds minority images only. Against every real image its recall and
coverage are low by construction (the majority's variety was never asked for), so the overall
figures compare it with a real draw in the sample's class mix, as the tabular side does.
"""

from __future__ import annotations

import numpy as np


def class_mix_indices(real_y: np.ndarray, like_y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Sorted indices into ``real_y``: as many real images as possible, without replacement,
    whose class shares match ``like_y``'s. Classes of ``like_y`` absent from ``real_y`` drop out."""
    real_y, like_y = np.asarray(real_y), np.asarray(like_y)
    classes, counts = np.unique(like_y, return_counts=True)
    avail = np.array([(real_y == c).sum() for c in classes])
    classes, counts, avail = classes[avail > 0], counts[avail > 0], avail[avail > 0]
    if len(classes) == 0:
        return np.arange(0)
    share = counts / counts.sum()
    n = int(np.floor(np.min(avail / share)))  # the scarcest class (relative to its share) decides
    take = np.minimum(np.round(share * n).astype(int), avail)
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(real_y == c), k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(picks)).astype(np.int64)


def same_mix(real_y: np.ndarray, like_y: np.ndarray) -> bool:
    """True when ``real_y`` already has ``like_y``'s class shares (within one image per class)."""
    idx = class_mix_indices(real_y, like_y)
    return len(idx) >= len(real_y) - len(np.unique(like_y))

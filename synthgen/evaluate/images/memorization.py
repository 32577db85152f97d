"""Does the generator copy its training images?

For every synthetic image we find its nearest training image, by pixel (Pearson) correlation and
by cosine similarity of encoder features. What counts as "too close" is read off real data: the
nearest-training-image similarity of the real *test* images (never seen) — its 99th percentile is
the copy threshold. Unseen real images exceed it 1% of the time by construction, so a copy rate
well above 1% means the generator reproduces training images more closely than new real images
resemble them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthgen.errors import DataError

DEFAULT_QUANTILE = 0.99


def pixel_vectors(x: np.ndarray, *, chunk: int = 1024) -> np.ndarray:
    """Flattened images, centred and scaled to unit norm: dot products are Pearson correlations.

    Constant images have no correlation with anything and become zero vectors (similarity 0).
    """
    flat = x.reshape(len(x), -1)
    out = np.empty(flat.shape, dtype=np.float32)
    for s in range(0, len(flat), chunk):
        v = flat[s : s + chunk].astype(np.float64)
        v -= v.mean(1, keepdims=True)
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        out[s : s + chunk] = v / np.where(norm > 1e-12, norm, np.inf)
    return out


def unit_rows(f: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm: dot products are cosine similarities."""
    norm = np.linalg.norm(f, axis=1, keepdims=True)
    return (f / np.where(norm > 1e-12, norm, np.inf)).astype(np.float32)


def nearest(
    query: np.ndarray, ref: np.ndarray, *, chunk: int = 1024, exclude_self: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Highest similarity of each (unit) query row to the (unit) reference rows, and its index.

    Chunked over queries so 5,000 x 2,500 images never build more than chunk x |ref| at once.
    ``exclude_self`` (query is ref) skips the diagonal, for leave-one-out thresholds.
    """
    sims = np.empty(len(query), dtype=np.float64)
    idx = np.empty(len(query), dtype=np.int64)
    for s in range(0, len(query), chunk):
        block = query[s : s + chunk] @ ref.T
        if exclude_self:
            rows = np.arange(len(block))
            block[rows, rows + s] = -np.inf
        idx[s : s + chunk] = block.argmax(1)
        sims[s : s + chunk] = block[np.arange(len(block)), idx[s : s + chunk]]
    return sims, idx


def copy_threshold(reference_sims: np.ndarray, quantile: float = DEFAULT_QUANTILE) -> float:
    return float(np.quantile(reference_sims, quantile))


def copy_flagged(rate: float, n: int, quantile: float = DEFAULT_QUANTILE) -> bool:
    """Flag a copy rate at least twice what unseen real images show and 3 binomial SDs above it."""
    expected = 1 - quantile
    return rate > max(2 * expected, expected + 3 * np.sqrt(expected * quantile / max(n, 1)))


@dataclass
class CopyCheck:
    """Nearest-training-image similarities in one space and the copy rate they imply."""

    space: str  # "pixel" | "encoder"
    synth_sims: np.ndarray
    synth_nn: np.ndarray  # index of the nearest training image
    test_sims: np.ndarray
    threshold: float
    quantile: float
    rate: float = field(init=False)
    flagged: bool = field(init=False)

    def __post_init__(self) -> None:
        self.rate = float((self.synth_sims >= self.threshold).mean()) if len(self.synth_sims) else float("nan")
        self.flagged = bool(copy_flagged(self.rate, len(self.synth_sims), self.quantile))

    def closest(self, n: int = 8) -> list[tuple[int, int, float]]:
        """(synthetic index, training index, similarity) of the ``n`` closest pairs."""
        order = np.argsort(-self.synth_sims)[:n]
        return [(int(i), int(self.synth_nn[i]), float(self.synth_sims[i])) for i in order]


def copy_check(
    space: str, train: np.ndarray, test: np.ndarray, synth: np.ndarray,
    quantile: float = DEFAULT_QUANTILE,
) -> CopyCheck:
    """``train``/``test``/``synth``: unit rows (``pixel_vectors`` or ``unit_rows``)."""
    test_sims, _ = nearest(test, train)
    synth_sims, synth_nn = nearest(synth, train)
    return CopyCheck(space, synth_sims, synth_nn, test_sims, copy_threshold(test_sims, quantile), quantile)


def privacy_filter_images(
    train_x: np.ndarray,
    synth_x: np.ndarray,
    threshold: float | None = None,
    test_x: np.ndarray | None = None,
    quantile: float = DEFAULT_QUANTILE,
) -> tuple[np.ndarray, float]:
    """Keep-mask of synthetic images whose nearest training image correlates below the threshold.

    Pixel correlation only, so ``sample --privacy-filter`` needs no trained encoder. Without a
    threshold it is the ``quantile`` of the test->train nearest correlations; without test images
    either, of the train->train leave-one-out ones (stricter where the training set holds near
    duplicates, e.g. several scans of one patient).
    """
    if len(train_x) == 0:
        raise DataError("the privacy filter needs the training images")
    train = pixel_vectors(np.asarray(train_x, dtype=np.float32))
    if threshold is None:
        if test_x is not None and len(test_x) > 0:
            ref_sims, _ = nearest(pixel_vectors(np.asarray(test_x, dtype=np.float32)), train)
        elif len(train) > 1:
            ref_sims, _ = nearest(train, train, exclude_self=True)
        else:
            raise DataError("the privacy filter needs a threshold, test images or 2+ training images")
        threshold = copy_threshold(ref_sims, quantile)
    sims, _ = nearest(pixel_vectors(np.asarray(synth_x, dtype=np.float32)), train)
    return sims < threshold, float(threshold)

"""Does the generator copy its training images?

For every synthetic image we find its nearest training image, by pixel (Pearson) correlation and
by cosine similarity of encoder features. What counts as "too close" is read off real data: the
nearest-training-image similarity of the real *test* images (never seen) — its 99th percentile is
the copy threshold. Unseen real images exceed it 1% of the time by construction, so a copy rate
well above 1% means the generator reproduces training images more closely than new real images
resemble them.

The flag is an exact test, not a fixed margin: if synthetic and unseen real images were alike
(exchangeable), the number of synthetic images above the j-th highest of m reference values is
negative-hypergeometric. That accounts for the noise of a 99th percentile read off a few hundred
test images, which a plain binomial margin does not (it flagged real unseen images in trials).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import nhypergeom

from synthgen.errors import DataError

DEFAULT_QUANTILE = 0.99
FLAG_P_VALUE = 0.001  # false alarms on images like unseen real ones: 1 in 1,000


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


def most_similar(
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


def _rank(n_reference: int, quantile: float) -> int:
    """The threshold is the j-th highest reference value, j = ceil(m (1 - quantile)) >= 1."""
    return max(1, int(np.ceil(n_reference * (1 - quantile) - 1e-9)))


def copy_threshold(reference_sims: np.ndarray, quantile: float = DEFAULT_QUANTILE) -> float:
    """The ``quantile`` of the reference similarities, taken as an order statistic."""
    j = _rank(len(reference_sims), quantile)
    return float(np.sort(reference_sims)[-j])


def copy_p_value(n_copies: int, n_synth: int, n_reference: int, quantile: float) -> float:
    """P(at least ``n_copies`` of ``n_synth`` exceed the threshold) if they were unseen real images."""
    if n_copies <= 0:
        return 1.0
    j = _rank(n_reference, quantile)
    return float(nhypergeom.sf(n_copies - 1, n_reference + n_synth, n_synth, j))


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
    p_value: float = field(init=False)
    flagged: bool = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.synth_sims)
        copies = int((self.synth_sims >= self.threshold).sum())
        self.rate = copies / n if n else float("nan")
        self.p_value = copy_p_value(copies, n, len(self.test_sims), self.quantile)
        self.flagged = self.p_value < FLAG_P_VALUE

    def closest(self, n: int = 8) -> list[tuple[int, int, float]]:
        """(synthetic index, training index, similarity) of the ``n`` closest pairs."""
        order = np.argsort(-self.synth_sims)[:n]
        return [(int(i), int(self.synth_nn[i]), float(self.synth_sims[i])) for i in order]


def copy_check(
    space: str, train: np.ndarray, test: np.ndarray, synth: np.ndarray,
    quantile: float = DEFAULT_QUANTILE,
) -> CopyCheck:
    """``train``/``test``/``synth``: unit rows (``pixel_vectors`` or ``unit_rows``)."""
    test_sims, _ = most_similar(test, train)
    synth_sims, synth_nn = most_similar(synth, train)
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
            ref_sims, _ = most_similar(pixel_vectors(np.asarray(test_x, dtype=np.float32)), train)
        elif len(train) > 1:
            ref_sims, _ = most_similar(train, train, exclude_self=True)
        else:
            raise DataError("the privacy filter needs a threshold, test images or 2+ training images")
        threshold = copy_threshold(ref_sims, quantile)
    sims, _ = most_similar(pixel_vectors(np.asarray(synth_x, dtype=np.float32)), train)
    return sims < threshold, float(threshold)

"""Distances between two sets of image features: Fréchet distance and precision / recall /
density / coverage (Naeem et al. 2020), with no sklearn or scipy in the loop."""

from __future__ import annotations

import numpy as np

K_PRECISION_RECALL = 3
K_DENSITY_COVERAGE = 5


# -- Fréchet distance ------------------------------------------------------------------------
def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(Sa + Sb - 2 (Sa^1/2 Sb Sa^1/2)^1/2); symmetric eigen form, stable."""
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ra = _sqrt_psd(sa)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(ra @ sb @ ra), 0, None)).sum()
    return float(mu @ mu + np.trace(sa) + np.trace(sb) - 2 * cross)


# -- Precision / recall / density / coverage (Naeem et al. 2020) ------------------------------
def _pairwise_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.clip(d, 0, None)


def _knn_radius_sq(x: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """Squared distance of each point to its k-th nearest neighbour in the same set (not itself)."""
    out = np.empty(len(x))
    for s in range(0, len(x), chunk):
        d = _pairwise_sq(x[s : s + chunk], x)
        out[s : s + chunk] = np.partition(d, k, axis=1)[:, k]  # column 0 is the point itself
    return out


def prdc(real: np.ndarray, fake: np.ndarray, *, chunk: int = 2048) -> dict[str, float]:
    """Precision, recall (k=3) and density, coverage (k=5) of ``fake`` against ``real``."""
    kpr, kdc = K_PRECISION_RECALL, K_DENSITY_COVERAGE
    nan = {"precision": np.nan, "recall": np.nan, "density": np.nan, "coverage": np.nan}
    if len(real) <= kdc or len(fake) <= kpr:
        return nan
    real_r3, real_r5 = _knn_radius_sq(real, kpr, chunk), _knn_radius_sq(real, kdc, chunk)
    fake_r3 = _knn_radius_sq(fake, kpr, chunk)
    fake_in_real = np.zeros(len(fake), bool)  # precision: fake inside some real k-ball
    density_hits = np.zeros(len(fake))
    real_covered = np.zeros(len(real), bool)  # coverage: real ball holding a fake
    real_recalled = np.zeros(len(real), bool)  # recall: real inside some fake k-ball
    for s in range(0, len(real), chunk):
        d = _pairwise_sq(real[s : s + chunk], fake)  # (real chunk, fake)
        fake_in_real |= (d <= real_r3[s : s + chunk, None]).any(0)
        density_hits += (d <= real_r5[s : s + chunk, None]).sum(0)
        real_covered[s : s + chunk] = d.min(1) <= real_r5[s : s + chunk]
        real_recalled[s : s + chunk] = (d <= fake_r3[None, :]).any(1)
    return {
        "precision": float(fake_in_real.mean()),
        "recall": float(real_recalled.mean()),
        "density": float(density_hits.sum() / (kdc * len(fake))),
        "coverage": float(real_covered.mean()),
    }

"""Fidelity and diversity of synthetic images in a feature space, always beside a real baseline.

Every metric compares a set with the real *train* features (the distribution the generator was
asked to learn). The baseline is the same metric for the real *test* images, which come from that
distribution but were never seen: a synthetic figure near the baseline is as good as real data
can be. Fréchet distance, precision/recall and density/coverage depend on sample size, so the
synthetic and the test side are drawn at the same size ``n`` (repeated draws, averaged).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

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


# -- Kernel inception distance ---------------------------------------------------------------
def _cubic_kernel(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    k = p @ q.T
    k /= p.shape[1]
    k += 1
    return k * k * k  # much faster than ** 3


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Kernels in float32 (2x faster; error ~1e-6, far below KID's subset noise), sums in float64."""
    x, y = x.astype(np.float32), y.astype(np.float32)
    kxx, kyy, kxy = _cubic_kernel(x, x), _cubic_kernel(y, y), _cubic_kernel(x, y)
    m, n = len(x), len(y)
    total = lambda k: float(k.sum(dtype=np.float64))  # noqa: E731
    off_diag = lambda k: total(k) - float(np.trace(k, dtype=np.float64))  # noqa: E731
    return off_diag(kxx) / (m * (m - 1)) + off_diag(kyy) / (n * (n - 1)) - 2 * total(kxy) / (m * n)


def kernel_distance(
    a: np.ndarray, b: np.ndarray, *, subsets: int = 50, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID: unbiased MMD^2 with the cubic polynomial kernel, mean and std over random subsets."""
    m = min(subset_size, len(a), len(b))
    if m < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    vals = [
        _mmd2_unbiased(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(vals)), float(np.std(vals))


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


# -- Matched-size comparison with the real baseline -------------------------------------------
def _matched(
    metric: Callable[[np.ndarray], dict[str, float]],
    x: np.ndarray,
    n: int,
    repeats: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Average ``metric`` over draws of ``n`` rows of ``x`` (one draw when ``x`` has ``n`` rows)."""
    draws = 1 if len(x) == n else repeats
    runs = [metric(x[rng.choice(len(x), n, replace=False)] if draws > 1 else x) for _ in range(draws)]
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


def feature_fidelity(
    train: np.ndarray,
    test: np.ndarray,
    synth: np.ndarray,
    *,
    repeats: int = 3,
    kid_subsets: int = 50,
    seed: int = 0,
) -> dict[str, float]:
    """FD, KID and PRDC of synthetic vs train, each with its ``_baseline`` (test vs train).

    ``n_matched``: the equal size at which FD and PRDC were drawn for both sides.
    """
    # Small matrices: one BLAS thread is as fast, and 2 threads on a busy 2-core box were 20x slower.
    with threadpool_limits(1):
        return _feature_fidelity(train, test, synth, repeats, kid_subsets, seed)


def _feature_fidelity(
    train: np.ndarray, test: np.ndarray, synth: np.ndarray, repeats: int, kid_subsets: int, seed: int
) -> dict[str, float]:
    n = min(len(test), len(synth))
    out: dict[str, float] = {"n_matched": float(n)}
    if n <= K_DENSITY_COVERAGE or len(train) <= K_DENSITY_COVERAGE:
        # Too few images (e.g. a class the generator never produced): same keys, all NaN.
        names = ("fd", "precision", "recall", "density", "coverage", "kid", "kid_std")
        return out | {f"{k}{s}": float("nan") for k in names for s in ("", "_baseline")}

    def metric(x: np.ndarray) -> dict[str, float]:
        return {"fd": frechet_distance(x, train)} | prdc(train, x)

    for suffix, x in (("", synth), ("_baseline", test)):
        rng = np.random.default_rng(seed)
        out |= {f"{k}{suffix}": v for k, v in _matched(metric, x, n, repeats, rng).items()}
        # KID is unbiased in the sample size: no matching needed.
        kid, kid_std = kernel_distance(x, train, subsets=kid_subsets, seed=seed)
        out |= {f"kid{suffix}": kid, f"kid_std{suffix}": kid_std}
    return out

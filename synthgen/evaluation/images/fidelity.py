"""Fidelity and diversity of synthetic images in a feature space, always beside a real baseline.

Every metric compares a set with the real *train* features (the distribution the generator was
asked to learn). The baseline is the same metric for the real *test* images, which come from that
distribution but were never seen: a synthetic figure near the baseline is as good as real data
can be. Fréchet distance, precision/recall and density/coverage depend on sample size, so the
synthetic and the test side are drawn at the same size ``n`` (repeated draws, averaged), and
precision/recall and density/coverage take a reference of ``n`` train images too (the same
draws for both sides), as the metrics are defined.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from synthgen.vision.feature_distance import K_DENSITY_COVERAGE, frechet_distance, prdc


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


# -- Matched-size comparison with the real baseline -------------------------------------------
def _matched(
    metric: Callable[[np.ndarray, np.ndarray], dict[str, float]],
    x: np.ndarray,
    reference: np.ndarray,
    n: int,
    repeats: int,
    seed: int,
) -> dict[str, float]:
    """Average ``metric(x_draw, reference_draw)`` over draws of ``n`` rows of each (a smaller
    reference is taken whole; one draw when nothing is drawn). The reference draws come from
    their own stream, so every set compared at the same ``n`` and seed meets the same rows."""
    draws = 1 if len(x) == n and len(reference) <= n else repeats
    pick, pick_ref = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    take = lambda a, rng: a if len(a) <= n else a[rng.choice(len(a), n, replace=False)]  # noqa: E731
    runs = [metric(take(x, pick), take(reference, pick_ref)) for _ in range(draws)]
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

    def metric(x: np.ndarray, reference: np.ndarray) -> dict[str, float]:
        # PRDC as defined (Naeem et al. 2020): as many real reference images as compared ones.
        # Against all of a large class's train images, n test images covered 0.38 of them at
        # best (PneumoniaMNIST normal), a ceiling of the sizes, not of the images.
        return {"fd": frechet_distance(x, train)} | prdc(reference, x)

    for suffix, x in (("", synth), ("_baseline", test)):
        out |= {f"{k}{suffix}": v for k, v in _matched(metric, x, train, n, repeats, seed).items()}
        # KID is unbiased in the sample size: no matching needed.
        kid, kid_std = kernel_distance(x, train, subsets=kid_subsets, seed=seed)
        out |= {f"kid{suffix}": kid, f"kid_std{suffix}": kid_std}
    return out

"""Diversity within a class: mean MS-SSIM between random pairs of images of that class.

A generator that collapses onto a few modes makes its images alike, so their mean pairwise
MS-SSIM rises above the one among real images of the same class. Lower means more diverse.

MONAI's ``MultiScaleSSIMMetric`` with its defaults (kernel 11, five scales) refuses images under
~161 pixels a side: it requires ``side // (scales - 1)**2 > kernel - 1``, and the valid
convolution needs ``side / 2**(scales - 1) >= kernel`` at the coarsest scale. ``ms_ssim_plan``
picks the most scales (kernel >= 5) both rules allow for the actual size (28x28: kernel 7, 3
scales; 64x64: kernel 7, 4 scales; 16^3: kernel 7, 2 scales), using the first weights of the
standard five renormalised; below two scales it falls back to plain single-scale SSIM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from monai.metrics import MultiScaleSSIMMetric, SSIMMetric

_STANDARD_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
DATA_RANGE = 2.0  # images live in [-1, 1]


@dataclass(frozen=True)
class SsimPlan:
    kernel_size: int
    scales: int  # 1: plain SSIM
    note: str

    @property
    def weights(self) -> tuple[float, ...]:
        w = np.asarray(_STANDARD_WEIGHTS[: self.scales])
        return tuple(float(v) for v in w / w.sum())


def _fits(side: int, kernel: int, scales: int) -> bool:
    monai_rule = side // max(1, scales - 1) ** 2 > kernel - 1
    return monai_rule and side // 2 ** (scales - 1) >= kernel


def ms_ssim_plan(spatial_shape: tuple[int, ...]) -> SsimPlan:
    side = min(spatial_shape)
    for scales in (5, 4, 3, 2):
        for kernel in (11, 7, 5):
            if _fits(side, kernel, scales):
                note = f"MS-SSIM, kernel {kernel}, {scales} scales"
                if (kernel, scales) != (11, 5):
                    note += f" (fewer than the standard 5 scales / kernel 11: images are {side} a side)"
                return SsimPlan(kernel, scales, note)
    kernel = min(7, side)
    kernel = max(3, kernel - (kernel % 2 == 0))  # odd, no larger than the image
    return SsimPlan(kernel, 1, f"plain SSIM, kernel {kernel}: {side} a side is too small for MS-SSIM")


def _metric(plan: SsimPlan, spatial_dims: int):
    sigma = 1.5 * plan.kernel_size / 11
    if plan.scales == 1:
        return SSIMMetric(spatial_dims, data_range=DATA_RANGE, win_size=plan.kernel_size,
                          kernel_sigma=sigma, reduction="none")
    return MultiScaleSSIMMetric(spatial_dims, data_range=DATA_RANGE, kernel_size=plan.kernel_size,
                                kernel_sigma=sigma, weights=plan.weights, reduction="none")


def mean_pairwise_ssim(
    x: np.ndarray, plan: SsimPlan, *, pairs: int = 200, seed: int = 0, batch: int = 256
) -> float:
    """Mean (MS-)SSIM over ``pairs`` random pairs of distinct images of ``x``; NaN under 2 images."""
    if len(x) < 2:
        return float("nan")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(x), pairs)
    j = (i + rng.integers(1, len(x), pairs)) % len(x)  # never the same image
    metric = _metric(plan, x.ndim - 2)
    vals = []
    with torch.no_grad():
        for s in range(0, pairs, batch):
            a = torch.as_tensor(x[i[s : s + batch]], dtype=torch.float32)
            b = torch.as_tensor(x[j[s : s + batch]], dtype=torch.float32)
            vals.append(metric(a, b).reshape(-1).double().numpy())
    return float(np.mean(np.concatenate(vals)))


def class_diversity(
    real_x: np.ndarray, real_y: np.ndarray, synth_x: np.ndarray, synth_y: np.ndarray,
    classes: list[str], *, test_x: np.ndarray | None = None, test_y: np.ndarray | None = None,
    pairs: int = 200, seed: int = 0,
) -> tuple[dict[str, dict[str, float]], SsimPlan]:
    """Per class: mean pairwise (MS-)SSIM among real train, real test and synthetic images.

    Two real references show how much the figure moves between real samples of a class.
    """
    plan = ms_ssim_plan(real_x.shape[2:])
    sets = {"real": (real_x, real_y), "synthetic": (synth_x, synth_y)}
    if test_x is not None:
        sets["test"] = (test_x, test_y)
    out = {c: {name: mean_pairwise_ssim(x[y == c], plan, pairs=pairs, seed=seed)
               for name, (x, y) in sets.items()} for c in classes}
    return out, plan

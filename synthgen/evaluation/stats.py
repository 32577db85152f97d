"""Small statistics shared by the tabular and imaging evaluations."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as _st


def paired_interval(
    treated: Sequence[float], baseline: Sequence[float], level: float = 0.95
) -> dict[str, float]:
    """Mean paired gain ``treated - baseline`` over seeds with a Student-t interval.

    Pairs share a seed (same split of randomness), so the interval is on the per-seed
    differences. With one pair the interval is undefined and returned as NaN.
    """
    d = np.asarray(treated, float) - np.asarray(baseline, float)
    if d.ndim != 1 or len(d) == 0:
        raise ValueError("need one or more paired values")
    mean = float(d.mean())
    if len(d) < 2:
        return {"gain": mean, "low": float("nan"), "high": float("nan"), "std": float("nan")}
    sd = float(d.std(ddof=1))
    half = float(_st.t.ppf(0.5 + level / 2, len(d) - 1)) * sd / np.sqrt(len(d))
    return {"gain": mean, "low": mean - half, "high": mean + half, "std": sd}


def verdict(interval: dict[str, float]) -> str:
    """'helps' only when the whole interval is above zero; 'hurts' when wholly below."""
    if np.isnan(interval["low"]):
        return "inconclusive"
    if interval["low"] > 0:
        return "helps"
    if interval["high"] < 0:
        return "hurts"
    return "no clear effect"

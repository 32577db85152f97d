"""A small table with a learnable label, for the tabular GAN's tests: fits in seconds."""

from __future__ import annotations

import numpy as np
import pandas as pd


def clinic(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Sick patients have higher markers, are older and smoke more."""
    rng = np.random.default_rng(seed)
    sick = rng.random(n) < 0.4
    return pd.DataFrame({
        "marker": rng.normal(np.where(sick, 3.0, 0.0), 1.0),
        "age": rng.normal(np.where(sick, 65, 45), 8).round(),
        "bmi": rng.lognormal(3.2, 0.15, n),
        "smoker": np.where(rng.random(n) < np.where(sick, 0.7, 0.15), "yes", "no"),
        "diagnosis": np.where(sick, "sick", "healthy"),
    })

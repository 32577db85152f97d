"""The row distance snapshot selection uses is the memorization report's own: one definition
(synthgen.data.distance), which the evaluation re-exports, so the two can never drift apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.data import distance as shared
from synthgen.evaluation import distance as report
from synthgen.evaluation import memorization


def mixed(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.normal(50, 10, n).round(),
        "dose": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(0, 1, n)),
        "zero": np.zeros(n),  # IQR and std 0: scale 1
        "seen": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
        "site": rng.choice(["a", "b", "c", None], n),
        "flag": rng.random(n) < 0.3,
    })


def test_the_report_uses_the_shared_definitions():
    assert report.MixedEmbedding is shared.MixedEmbedding and report.nearest is shared.nearest
    assert memorization.dcr_share is shared.dcr_share


def test_nearest_distance_is_the_first_neighbour_and_copies_are_exactly_zero():
    ref, query = mixed(120, 0), mixed(80, 1)
    emb = shared.MixedEmbedding(["site", "flag"]).fit(ref)
    x_ref, x_q = emb.transform(ref), emb.transform(query)
    brute = np.sqrt(((x_q[:, None, :] - x_ref[None, :, :]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(shared.nearest_distance(x_q, x_ref, chunk=7), brute, rtol=0, atol=1e-9)
    assert (shared.nearest_distance(x_ref[:5], x_ref) == 0).all()


def test_dcr_share_counts_ties_half():
    assert shared.dcr_share(np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 1.0])) == pytest.approx(0.5)
    assert shared.dcr_share(np.array([]), np.array([])) == 0.5

"""The row distance snapshot selection uses (synthgen.data.distance) is the one the memorization
report uses (synthgen.evaluation.distance): same embedding, same nearest distances, same share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.data import distance as shared
from synthgen.evaluation import distance as report
from synthgen.evaluation.memorization import dcr_share as report_dcr_share


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


def test_embedding_and_nearest_distances_match_the_report():
    ref, query = mixed(120, 0), mixed(80, 1)
    cats = ["site", "flag"]
    mine = shared.MixedEmbedding(cats).fit(ref)
    theirs = report.MixedEmbedding(cats).fit(ref)
    np.testing.assert_array_equal(mine.transform(query), theirs.transform(query))
    x_ref, x_q = mine.transform(ref), mine.transform(query)
    d_report, _ = report.nearest(x_q, x_ref, k=1)
    np.testing.assert_allclose(shared.nearest_distance(x_q, x_ref, chunk=7), d_report[:, 0], rtol=0, atol=1e-12)
    assert (shared.nearest_distance(x_ref[:5], x_ref) == 0).all()  # exact copies: exactly 0


def test_dcr_share_matches_the_report():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, 50).astype(float), rng.integers(0, 3, 50).astype(float)
    assert shared.dcr_share(a, b) == pytest.approx(report_dcr_share(a, b))
    assert shared.dcr_share(np.array([]), np.array([])) == 0.5

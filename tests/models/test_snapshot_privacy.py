"""Snapshot selection penalises copying (issue 9): a "generator" whose rows are copies of the
training rows scores worse than one that draws new rows from the same population, although a
real-vs-synthetic detector cannot tell copies from real rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.models.tabular.validation import SnapshotScorer, carve_validation
from tiny_tables import clinic


def draw(pool: pd.DataFrame):
    """A stand-in for the generator: ``counts`` rows per class drawn from ``pool``."""
    def sample(_generator, counts, seed):
        rng = np.random.default_rng(seed)
        parts = []
        for label, n in counts.items():
            rows = pool[pool["diagnosis"] == label]
            parts.append(rows.iloc[rng.integers(0, len(rows), n)])
        return pd.concat(parts, ignore_index=True)
    return sample


@pytest.fixture(scope="module")
def split():
    fit, val = carve_validation(clinic(600, 0), "diagnosis", 0.15, seed=0)
    return fit.sort_index(), val


def score(split, pool, privacy=1.0):
    fit, val = split
    scorer = SnapshotScorer(val, "diagnosis", ["smoker", "diagnosis"], draw(pool), seed=0,
                            fit_rows=fit, privacy=privacy)
    return scorer(None)


def test_copies_of_the_training_rows_score_worse_than_new_rows(split):
    fit, _ = split
    copies = score(split, fit)
    fresh = score(split, clinic(2000, 1))  # the same population, rows the fit never saw
    assert copies["val_dcr_share"] > 0.8, copies  # 1 where every copied row is compared
    assert 0.35 < fresh["val_dcr_share"] < 0.65, fresh
    assert copies["val_score"] < fresh["val_score"] - 0.2, (copies, fresh)
    # a detector alone is fooled by copies: without the penalty they score as well as new rows
    unpenalised = score(split, fit, privacy=0.0)
    assert "val_dcr_share" in unpenalised
    assert unpenalised["val_score"] > fresh["val_score"] - 0.05, (unpenalised, fresh)


def test_rows_as_close_as_unseen_rows_lose_nothing(split):
    fresh = score(split, clinic(2000, 1))
    fresh_off = score(split, clinic(2000, 1), privacy=0.0)
    assert fresh["val_score"] == pytest.approx(fresh_off["val_score"], abs=0.02)


def test_no_training_rows_no_privacy_term(split):
    _, val = split
    scores = SnapshotScorer(val, "diagnosis", ["smoker", "diagnosis"], draw(clinic(2000, 1)), seed=0)(None)
    assert set(scores) == {"val_score", "val_detection_auc", "val_tstr"}

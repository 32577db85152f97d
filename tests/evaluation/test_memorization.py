import numpy as np
import pandas as pd
import pytest

from synthgen.evaluation.memorization import (
    dcr_share,
    dcr_threshold,
    membership_auc,
    nndr,
    privacy_filter,
)


def test_dcr_share_counts_ties_half():
    assert dcr_share([0, 1, 2, 3], [1, 1, 1, 1]) == pytest.approx((1 + 0.5) / 4)
    assert dcr_share([0, 0], [1, 1]) == 1.0
    assert dcr_share([2, 2], [1, 1]) == 0.0


def test_dcr_threshold_shrinks_with_sample_size():
    assert dcr_threshold(100) == pytest.approx(0.6)
    assert dcr_threshold(10_000) == pytest.approx(0.51)


def test_nndr_zero_for_copies_and_one_for_equidistant():
    assert nndr(np.array([[0.0, 2.0], [1.0, 1.0], [0.0, 0.0]])).tolist() == [0.0, 1.0, 1.0]


def test_membership_auc_direction():
    assert membership_auc(np.array([0.0, 0.1]), np.array([1.0, 2.0])) == 1.0
    assert membership_auc(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.5


def test_privacy_filter_drops_copies_and_keeps_fresh_rows():
    rng = np.random.default_rng(0)
    frame = lambda n: pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n),  # noqa
                                    "c": rng.choice(["a", "b"], n)})
    train, holdout, fresh = frame(300), frame(300), frame(100)
    synthetic = pd.concat([train.iloc[:50], fresh], ignore_index=True)
    keep, threshold = privacy_filter(train, holdout, synthetic)
    assert threshold > 0
    assert not keep[:50].any()  # copies go
    assert keep[50:].mean() > 0.85  # about 95% of fresh rows stay by construction

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from synthgen.evaluation.fidelity import (
    column_shapes,
    detection_auc,
    knn_precision_recall,
    ks_statistic,
    pair_trends,
    tvd,
)

rng = np.random.default_rng(0)


def test_ks_matches_scipy_and_counts_missing():
    a, b = rng.normal(size=200), rng.normal(0.5, 1, size=150)
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic)
    # Same values, but 30% missing on one side: a KS that ignored NaN would say 0.
    assert ks_statistic(np.r_[a], np.r_[a, [np.nan] * 86]) == pytest.approx(86 / 286)


def test_tvd_by_hand():
    assert tvd(pd.Series(list("aabb")), pd.Series(list("abbb"))) == pytest.approx(0.25)
    assert tvd(pd.Series(["a", None]), pd.Series(["a", "a"])) == pytest.approx(0.5)


def test_column_shapes_names_kinds_and_scores():
    real = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(list("ab"), 300)})
    same = column_shapes(real, real)
    assert same.set_index("column").loc["c", "metric"] == "TVD"
    assert (same.score == 1).all()
    shifted = real.assign(x=real.x + 3, c="a")
    assert (column_shapes(real, shifted).score < 0.6).all()


def test_pair_trends_punish_a_flipped_correlation():
    x = rng.normal(size=400)
    real = pd.DataFrame({"x": x, "y": x + 0.1 * rng.normal(size=400)})
    flipped = pd.DataFrame({"x": x, "y": -real.y})
    assert pair_trends(real, real).score.iloc[0] == pytest.approx(1.0)
    assert pair_trends(real, flipped).score.iloc[0] < 0.05


def test_contingency_pairs_and_mixed_pairs():
    a = rng.choice(list("pq"), 500)
    real = pd.DataFrame({"a": a, "b": a, "x": np.where(a == "p", 0.0, 5.0) + rng.normal(size=500)})
    broken = pd.DataFrame({"a": a, "b": rng.permutation(a), "x": rng.permutation(real.x)})
    good, bad = pair_trends(real, real), pair_trends(real, broken)
    assert set(good.kind) == {"contingency", "contingency (binned)"}
    assert (good.score == 1).all() and (bad.score < 0.7).all()


def test_detection_auc_separates_shifted_data_and_not_the_same_population():
    real = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("ab"), 600)})
    same = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("ab"), 600)})
    shifted = same.assign(x=same.x + 2)
    assert abs(detection_auc(real, same, folds=3) - 0.5) < 0.1
    assert detection_auc(real, shifted, folds=3) > 0.85


def test_knn_precision_recall_detect_mode_collapse():
    real = pd.DataFrame({"x": rng.normal(size=500), "y": rng.normal(size=500)})
    collapsed = real[(real.x.abs() < 0.3) & (real.y.abs() < 0.3)]
    far = real + 10
    full = knn_precision_recall(real, real.sample(frac=1, random_state=1))
    assert full["precision"] == 1 and full["recall"] == 1
    col = knn_precision_recall(real, collapsed)
    assert col["precision"] > 0.9 and col["recall"] < 0.3  # faithful but not diverse
    assert knn_precision_recall(real, far)["precision"] == 0

import numpy as np
import pandas as pd
import pytest

from synthgen.evaluation.distance import (
    MixedEmbedding,
    infer_categorical,
    nearest,
    numeric_array,
    pairwise_distance,
)


def test_infer_categorical_kinds():
    df = pd.DataFrame({
        "age": [30.5, 40.1, 50.2, 61.0], "sex": ["F", "M", "F", "M"], "flag": [0, 1, 0, 1],
        "count": list(range(100, 104)), "ok": [True, False, True, True],
        "cat": pd.Categorical(["a", "b", "a", "a"]),
    })
    assert infer_categorical(df, max_int_levels=3) == ["sex", "flag", "ok", "cat"]


def test_numeric_distance_is_scaled_by_train_iqr():
    train = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0]})  # IQR = 2
    d = pairwise_distance(pd.DataFrame({"x": [0.0]}), pd.DataFrame({"x": [4.0]}), [], train)
    assert d[0, 0] == pytest.approx(2.0)


def test_category_mismatch_adds_one_and_missing_is_its_own_category():
    a = pd.DataFrame({"c": ["x", "x", None, "new"], "y": [1.0, 1.0, 1.0, 1.0]})
    d = pairwise_distance(a, a, ["c"], reference=a.iloc[:3])
    assert d[0, 1] == 0
    assert d[0, 2] == pytest.approx(1.0)  # x vs missing
    assert d[0, 3] == pytest.approx(1.0)  # x vs a value never seen in train
    assert d[2, 3] == pytest.approx(1.0)


def test_missing_numeric_differs_from_any_value():
    train = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0]})
    a = pd.DataFrame({"x": [2.0, np.nan, np.nan]})
    d = pairwise_distance(a, a, [], train)
    assert d[0, 1] == pytest.approx(1.0)  # value at the median vs missing: the indicator only
    assert d[1, 2] == 0


def test_datetimes_become_days():
    s = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-03", None]))
    v = numeric_array(s)
    assert v[1] - v[0] == pytest.approx(2.0) and np.isnan(v[2])


def test_nearest_matches_brute_force_and_finds_exact_copies():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(700, 6)) * 50
    query = np.vstack([ref[:5], rng.normal(size=(300, 6)) * 50])
    dist, idx = nearest(query, ref, k=3, chunk=128)
    full = np.sqrt(((query[:, None] - ref[None]) ** 2).sum(-1))
    np.testing.assert_allclose(dist, np.sort(full, 1)[:, :3], atol=1e-9)
    assert (dist[:5, 0] == 0).all() and (idx[:5, 0] == np.arange(5)).all()


def test_nearest_exclude_self():
    x = np.array([[0.0], [1.0], [3.0]])
    dist, idx = nearest(x, x, k=1, exclude_self=True)
    assert idx[:, 0].tolist() == [1, 0, 1] and dist[:, 0].tolist() == [1, 1, 2]


def test_embedding_fits_on_train_only():
    emb = MixedEmbedding(["c"]).fit(pd.DataFrame({"c": ["a", "b"], "x": [0.0, 10.0]}))
    out = emb.transform(pd.DataFrame({"c": ["z"], "x": [5.0]}))
    assert out.shape == (1, 2 + 3)  # value + missing flag, levels a, b, unseen

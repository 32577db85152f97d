import numpy as np
import pytest

from synthgen.data.splits import Splits, make_splits
from synthgen.errors import DataError

LABELS = ["a"] * 70 + ["b"] * 30


def test_splits_are_disjoint_complete_and_stratified():
    s = make_splits(LABELS, holdout=0.2, test=0.2, seed=0)
    all_ = np.concatenate([s.train, s.holdout, s.test])
    assert sorted(all_.tolist()) == list(range(100))
    assert s.sizes() == {"train": 60, "holdout": 20, "test": 20}
    labels = np.array(LABELS)
    assert (labels[s.test] == "b").sum() == 6 and (labels[s.holdout] == "b").sum() == 6


def test_same_seed_same_split_other_seed_differs():
    a = make_splits(LABELS, holdout=0.2, test=0.2, seed=1)
    b = make_splits(LABELS, holdout=0.2, test=0.2, seed=1)
    c = make_splits(LABELS, holdout=0.2, test=0.2, seed=2)
    assert np.array_equal(a.train, b.train) and not np.array_equal(a.train, c.train)


def test_patients_never_straddle_splits():
    groups = [f"p{i // 4}" for i in range(100)]  # 4 slices per patient
    s = make_splits(LABELS, holdout=0.2, test=0.2, seed=0, groups=groups)
    owner = {}
    for name in ("train", "holdout", "test"):
        for i in getattr(s, name):
            assert owner.setdefault(groups[i], name) == name


def test_fixed_test_is_kept_and_the_rest_split():
    fixed = np.arange(80, 100)
    s = make_splits(LABELS, holdout=0.25, test=0.2, seed=0, fixed_test=fixed)
    assert np.array_equal(s.test, fixed)
    assert len(s.train) + len(s.holdout) == 80 and not set(s.train) & set(fixed)


def test_round_trip_through_json_dict():
    s = make_splits(LABELS, holdout=0.2, test=0.2, seed=0)
    t = Splits.from_dict(s.to_dict())
    assert all(np.array_equal(getattr(s, k), getattr(t, k)) for k in ("train", "holdout", "test"))


def test_tiny_class_is_a_clear_error():
    with pytest.raises(DataError, match="class 'b' has only 2 rows"):
        make_splits(["a"] * 10 + ["b"] * 2, holdout=0.5, test=0.45, seed=0)

"""End to end on real data (breast cancer, string diagnosis): the metrics must be able to fail."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from synthgen.config import EvalConfig
from synthgen.errors import DataError
from synthgen.evaluation import Severity, evaluate_tables

FAST = EvalConfig(seeds=2, detection_folds=3)


@pytest.fixture(scope="module")
def splits():
    d = load_breast_cancer(as_frame=True).frame
    d["diagnosis"] = np.where(d.pop("target") == 1, "benign", "malignant")
    d = d.sample(frac=1, random_state=0).reset_index(drop=True)
    return d.iloc[:190], d.iloc[190:380], d.iloc[380:]  # train, holdout (same size), test


def _run(splits, synthetic, **kw):
    train, holdout, test = splits
    return evaluate_tables(train, holdout, test, synthetic, "diagnosis", config=FAST,
                           figures=False, **kw)


@pytest.fixture(scope="module")
def copied(splits):
    return _run(splits, splits[0])


@pytest.fixture(scope="module")
def unseen_real(splits):
    return _run(splits, splits[2])


@pytest.fixture(scope="module")
def noise(splits):
    rng = np.random.default_rng(0)
    shuffled = splits[2].apply(lambda c: rng.permutation(c.to_numpy()))
    uniform = shuffled.copy()
    for c in uniform.columns[:10]:  # some columns uniform over the real range
        uniform[c] = rng.uniform(splits[0][c].min(), splits[0][c].max(), len(uniform))
    return _run(splits, pd.concat([shuffled, uniform], ignore_index=True))


def test_training_rows_as_synthetic_are_flagged(copied):
    m = copied.metrics
    assert m["memorization/dcr_share"] > 0.95
    assert m["memorization/exact_copy_share"] > 0.95
    assert m["memorization/membership_auc"] > 0.9
    assert copied.verdicts["memorization"].severity is Severity.BAD
    assert copied.verdicts["memorization"].text.startswith("flagged")


def test_unseen_real_rows_look_real_and_are_not_flagged(unseen_real):
    m = unseen_real.metrics
    assert abs(m["fidelity/detection_auc"] - 0.5) < 0.12
    assert abs(m["memorization/dcr_share"] - 0.5) < 0.1
    assert m["memorization/exact_copy_share"] == 0
    assert unseen_real.verdicts["memorization"].severity is Severity.GOOD
    assert unseen_real.verdicts["fidelity"].severity is Severity.GOOD
    assert m["fidelity/column_shapes"] > 0.85 and m["fidelity/pair_trends"] > 0.9


def test_noise_scores_poorly(noise, unseen_real):
    m, ref = noise.metrics, unseen_real.metrics
    assert m["fidelity/detection_auc"] > 0.95
    assert m["fidelity/pair_trends"] < ref["fidelity/pair_trends"] - 0.1
    assert m["fidelity/precision"] < 0.3
    assert noise.verdicts["fidelity"].severity is Severity.BAD
    assert noise.verdicts["fidelity"].text.startswith("poor")
    assert noise.verdicts["memorization"].severity is not Severity.BAD


def test_result_has_sections_headline_and_per_class(unseen_real):
    r = unseen_real
    assert [s.key for s in r.sections] == ["fidelity", "memorization", "utility", "training"]
    assert all(h.key in r.metrics for h in r.headline) and len(r.headline) >= 8
    assert not any(re.search(r"\w/\w", h.label) for h in r.headline)  # labels, not keys
    assert "fidelity/class/malignant/detection_auc" in r.metrics
    train = unseen_real.meta["rows_train"]
    assert sum(r.class_counts["train"].values()) == train == 190
    assert isinstance(r.class_counts["synthetic"]["benign"], int)
    assert set(r.verdicts) == {"fidelity", "memorization", "utility"}


# -- bad input -------------------------------------------------------------------------------
def test_missing_column_is_a_data_error(splits):
    with pytest.raises(DataError, match=r"synthetic data lacks column\(s\) 'mean radius'"):
        _run(splits, splits[2].drop(columns=["mean radius"]))


def test_missing_condition_column_is_a_data_error(splits):
    train, holdout, test = splits
    with pytest.raises(DataError, match="condition column 'nope'"):
        evaluate_tables(train, holdout, test, test, "nope", config=FAST)


def test_non_numeric_values_are_a_data_error(splits):
    bad = splits[2].astype({"mean area": object})
    bad.loc[bad.index[0], "mean area"] = "large"
    with pytest.raises(DataError, match="synthetic column 'mean area' .* 'large'"):
        _run(splits, bad)


@pytest.fixture(scope="module")
def odd_input(splits):
    test = splits[2]
    syn = test[test.diagnosis == "benign"].assign(extra=1.0).copy()
    syn["diagnosis"] = syn["diagnosis"].astype(object)
    syn.loc[syn.index[:3], "diagnosis"] = "unknown"
    small_test = pd.concat([test[test.diagnosis == "benign"], test[test.diagnosis != "benign"][:4]])
    train, holdout, _ = splits
    return evaluate_tables(train, holdout, small_test, syn, "diagnosis", config=FAST,
                           figures=False)


def test_lesser_problems_become_warnings(odd_input):
    text = " | ".join(odd_input.warnings)
    assert "column(s) not in the training data, ignored: 'extra'" in text
    assert "values never seen in the real data: 'unknown' (3 rows)" in text
    assert "class 'malignant' has no synthetic rows" in text
    assert "class 'malignant' has 4 test rows (fewer than 10)" in text


def test_a_fill_sample_missing_the_majority_class_is_not_a_warning(splits):
    """A --balance fill sample adds only minority rows: the absent majority is by design."""
    train, holdout, test = splits
    fill = test[test.diagnosis == "malignant"]
    r = _run(splits, fill)
    assert not any("benign" in w for w in r.warnings), r.warnings
    notes = [b.text for b in r.section("fidelity").blocks if hasattr(b, "text")]
    assert any("holds no 'benign' rows" in n for n in notes)

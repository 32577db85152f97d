"""The synthetic share is chosen on a validation part of real train, never on the test split,
reported with every share's validation score, and scored once on test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from synthgen.config import AUGMENT_SHARES, EvalConfig
from synthgen.evaluation import share as share_mod
from synthgen.evaluation import utility as utility_mod
from synthgen.evaluation.findings import Severity
from synthgen.evaluation.share import choose_share, share_indices, validation_split
from synthgen.evaluation.tabular_sections import utility_section
from synthgen.evaluation.utility import utility


# -- the chooser on its own --------------------------------------------------------------------
def test_validation_split_is_stratified_disjoint_and_keeps_every_class_in_fit():
    y = np.array(["a"] * 50 + ["b"] * 10 + ["c"] * 1)
    fit, val = validation_split(y, 0.2, np.random.default_rng(0))
    assert not set(fit) & set(val) and len(fit) + len(val) == len(y)
    assert (y[val] == "a").sum() == 10 and (y[val] == "b").sum() == 2
    assert (y[val] == "c").sum() == 0 and (y[fit] == "c").sum() == 1


def test_share_subsets_are_stratified_and_nested():
    y = np.array(["a"] * 8 + ["b"] * 4)
    small = share_indices(y, 0.25, np.random.default_rng(3))
    large = share_indices(y, 0.5, np.random.default_rng(3))
    assert list(np.unique(y[small], return_counts=True)[1]) == [2, 1]
    assert set(small) <= set(large) and len(share_indices(y, 1.0, np.random.default_rng(0))) == 12
    assert len(share_indices(y, 0.0, np.random.default_rng(0))) == 0


def _marked(n_real: int, n_synth: int):
    """Column 0: the label (0/1, alternating); column 1: 1 for synthetic rows."""
    ry, sy = np.arange(n_real) % 2, np.arange(n_synth) % 2
    rx = np.c_[ry, np.zeros(n_real)]
    sx = np.c_[sy, np.ones(n_synth)]
    return rx, ry, sx, sy


def test_the_best_validation_share_is_chosen_and_reported():
    rx, ry, sx, sy = _marked(100, 40)

    def fit_predict(x, y, x_val, seed):  # right only when trained with >= 15 synthetic rows
        return x_val[:, 0].astype(int) if x[:, 1].sum() >= 15 else np.zeros(len(x_val), int)

    c = choose_share(rx, ry, sx, sy, fit_predict)
    assert c.shares == AUGMENT_SHARES and c.chosen in c.shares
    assert c.chosen == 0.5  # 25% adds 10 rows (too few); 50% and all tie: the smaller wins
    assert c.score(0.5) == c.score(1.0) == 1.0 and c.score(0.0) == 0.5
    assert c.added == (0, 10, 20, 40) and c.n_validation == 20 and c.n_fit == 80
    assert "chose 50% of the synthetic fill" in c.describe()


def test_a_tie_everywhere_chooses_no_synthetic_data_and_says_so():
    rx, ry, sx, sy = _marked(60, 30)
    c = choose_share(rx, ry, sx, sy, lambda x, y, xv, s: np.zeros(len(xv), int), repeats=2)
    assert c.chosen == 0.0 and c.repeats == 2
    assert c.describe().startswith("validation chose no synthetic data")


def test_validation_rows_are_real_training_rows_only():
    rx, ry, sx, sy = _marked(50, 20)
    seen = []

    def fit_predict(x, y, x_val, seed):
        seen.append((x, x_val))
        return np.zeros(len(x_val), int)

    choose_share(rx, ry, sx, sy, fit_predict, shares=(0.0, 1.0))
    for x, x_val in seen:
        assert (x_val[:, 1] == 0).all()  # validation: real rows, never synthetic
        assert len(x_val) + (x[:, 1] == 0).sum() == 50  # fit + validation = real train


# -- tables --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def splits():
    d = load_breast_cancer(as_frame=True).frame
    d["diagnosis"] = np.where(d.pop("target") == 1, "benign", "malignant")
    d = d.iloc[:, [0, 1, 2, 7, 20, 21, 27, 30]].sample(frac=1, random_state=0)
    d.insert(0, "row_id", np.arange(len(d), dtype=float))
    return d.iloc[:200].reset_index(drop=True), d.iloc[200:400], d.iloc[400:]


def test_tables_the_chooser_never_receives_test_rows(splits, monkeypatch):
    train, holdout, test = splits
    seen = []

    def spy(real_x, real_y, synth_x, synth_y, fit_predict, **kw):
        seen.append(real_x[:, 0])  # row_id, the first feature

        def recording(x, y, x_val, seed):
            seen.append(x_val[:, 0])
            return fit_predict(x, y, x_val, seed)

        return choose_share(real_x, real_y, synth_x, synth_y, recording, **kw)

    monkeypatch.setattr(utility_mod, "choose_share", spy)
    rep = utility(train, test, holdout.assign(row_id=-1.0), "diagnosis", seeds=2,
                  models=("logreg",), max_iter=30)
    ids = np.concatenate(seen)
    assert len(seen) > 1 and set(ids) <= set(train.row_id)
    assert not set(ids) & set(test.row_id)
    assert rep.choices["logreg"].chosen in AUGMENT_SHARES


def test_tables_report_the_choice_as_data_and_judge_that_arm(splits):
    train, holdout, test = splits
    rep = utility(train, test, holdout, "diagnosis", seeds=2, models=("gbm",), max_iter=30)
    c = rep.choices["gbm"]
    m = rep.metrics
    assert m["utility/gbm/chosen_share"] == c.chosen in c.shares
    assert [m[f"utility/gbm/share_validation/{p}"] for p in (0, 25, 50, 100)] == list(c.scores)
    assert "real_plus_chosen" in set(rep.summary.arm)
    section = utility_section(rep, figures=False)
    table = next(t for t in section.tables if t.title.startswith("Synthetic share chosen"))
    assert [r[0] for r in table.rows] == ["none", "25%", "50%", "all"]
    marks = [r[-1] for r in table.rows]
    assert marks.count("chosen") == 1 and c.shares[marks.index("chosen")] == c.chosen
    gain = m["utility/gbm/balanced_accuracy/gain_real_plus_chosen"]
    assert m["utility/gbm/balanced_accuracy/gain_real_plus_chosen_low"] <= gain


def test_harmful_synthetic_rows_are_not_chosen_and_the_verdict_says_so(splits):
    train, holdout, test = splits
    swap = {"benign": "malignant", "malignant": "benign"}
    wrong = pd.concat([holdout.assign(diagnosis=holdout.diagnosis.map(swap))] * 2)
    rep = utility(train, test, wrong, "diagnosis", seeds=3, models=("logreg",))
    assert rep.choices["logreg"].chosen == 0.0
    m = rep.metrics
    # share 0 is real only: the same fits, gain exactly zero, never "helps"
    assert m["utility/logreg/balanced_accuracy/gain_real_plus_chosen"] == 0.0
    assert m["utility/logreg/balanced_accuracy/gain_real_plus_synth_high"] < 0  # all of it hurts
    assert "validation chose no synthetic data" in rep.verdict.text
    assert rep.verdict.severity is not Severity.GOOD
    assert not rep.verdict.text.startswith("helps")


def test_shares_come_from_the_config_and_are_checked():
    assert EvalConfig().augment_shares == list(AUGMENT_SHARES)
    assert EvalConfig(augment_shares=[1, 0, 0.5]).augment_shares == [0, 0.5, 1]
    with pytest.raises(ValueError):
        EvalConfig(augment_shares=[0, 1.5])
    with pytest.raises(ValueError):
        EvalConfig(share_validation=0.0)
    assert share_mod.SHARE_VALIDATION == EvalConfig().share_validation

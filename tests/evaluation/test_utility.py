import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from synthgen.evaluation import Severity
from synthgen.evaluation.utility import utility


@pytest.fixture(scope="module")
def splits():
    d = load_breast_cancer(as_frame=True).frame
    d["diagnosis"] = np.where(d.pop("target") == 1, "benign", "malignant")
    d = d.iloc[:, [0, 1, 2, 7, 20, 21, 27, 30]].sample(frac=1, random_state=0)
    return d.iloc[:200].reset_index(drop=True), d.iloc[200:400], d.iloc[400:]


def test_arms_metrics_and_intervals(splits):
    train, holdout, test = splits
    rep = utility(train, test, holdout, "diagnosis", seeds=2, max_iter=30)
    s = rep.summary
    assert set(s.arm) == {"real", "real_plus_chosen", "real_plus_synth", "synth_only",
                          "class_weights", "oversample", "smote"}
    assert set(s.metric) == {"balanced_accuracy", "macro_f1", "auroc", "minority_recall"}
    assert rep.minority_class == "malignant"
    real = s[(s.model == "gbm") & (s.arm == "real") & (s.metric == "auroc")]["mean"].iloc[0]
    assert 0.85 < real <= 1.0  # breast cancer is easy: a broken pipeline would not get here
    key = "utility/gbm/balanced_accuracy/gain_real_plus_synth"
    assert rep.metrics[f"{key}_low"] <= rep.metrics[key] <= rep.metrics[f"{key}_high"]
    assert rep.verdict.text.split(" —")[0] in {"helps", "no clear effect", "hurts", "mixed"}


def test_mislabelled_synthetic_data_hurts_and_validation_keeps_it_out(splits):
    train, holdout, test = splits
    swap = {"benign": "malignant", "malignant": "benign"}
    wrong = pd.concat([holdout.assign(diagnosis=holdout.diagnosis.map(swap))] * 2)
    rep = utility(train, test, wrong, "diagnosis", seeds=3, models=("logreg",))
    assert rep.metrics["utility/logreg/balanced_accuracy/gain_real_plus_synth_high"] < 0
    assert rep.metrics["utility/logreg/auroc/synth_only"] < 0.3
    # the share chosen on validation is none: the judged arm is real only, not "hurts"
    assert rep.metrics["utility/logreg/chosen_share"] == 0.0
    assert rep.verdict.severity is not Severity.GOOD
    assert rep.verdict.text.startswith("no clear effect")
    assert "validation chose no synthetic data" in rep.verdict.text


def test_one_class_fill_skips_tstr(splits):
    train, holdout, test = splits
    fill = holdout[holdout.diagnosis == "malignant"]
    rep = utility(train, test, fill, "diagnosis", seeds=2, models=("logreg",))
    assert "synth_only" in rep.skipped and "synth_only" not in set(rep.summary.arm)


def test_mixed_types_with_missing_values_use_smote_nc():
    rng = np.random.default_rng(0)
    n = 400
    y = np.where(rng.random(n) < 0.2, "sick", "well")
    df = pd.DataFrame({
        "age": rng.normal(50, 10, n) + (y == "sick") * 8,
        "smoker": np.where(rng.random(n) < np.where(y == "sick", 0.6, 0.2), "yes", "no"),
        "marker": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n) + (y == "sick")),
        "y": y,
    })
    train, test, synth = df[:200], df[200:300], df[300:][df[300:].y == "sick"]
    rep = utility(train, test, synth, "y", seeds=2)
    assert "smote" in set(rep.summary.arm) and "smote" not in rep.skipped
    assert rep.minority_class == "sick"
    assert rep.metrics["utility/gbm/auroc/real"] > 0.7

"""Bad input through the CLI: one line naming the culprit, exit 2, nothing left behind."""

from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner

from synthgen.cli import main


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def assert_clean_failure(result, *needles, workdir=None, before=None):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    err = result.output.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), result.output
    for needle in needles:
        assert needle in err[0], err[0]
    if workdir is not None:
        assert sorted(os.listdir(workdir)) == sorted(before), "left files behind"


FIT = ("fit", "--no-tracking", "--epochs", "1")


def table(workdir, name, frame):
    path = workdir / name
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def small(workdir, breast_cancer):
    return breast_cancer.sample(120, random_state=0).reset_index(drop=True)


def test_misspelt_condition_suggests_the_column(workdir, small):
    path = table(workdir, "t.csv", small)
    before = os.listdir(workdir)
    r = invoke(*FIT, "--data", path, "--condition", "diagnosys")
    assert_clean_failure(r, "diagnosys", "diagnosis", workdir=workdir, before=before)


def test_one_class_condition(workdir, small):
    path = table(workdir, "t.csv", small.assign(diagnosis="benign"))
    r = invoke(*FIT, "--data", path, "--condition", "diagnosis")
    assert_clean_failure(r, "diagnosis", "single class")


def test_all_nan_column(workdir, small):
    path = table(workdir, "t.csv", small.assign(empty=np.nan))
    assert_clean_failure(invoke(*FIT, "--data", path, "--condition", "diagnosis"), "empty")


def test_infinite_values(workdir, small):
    frame = small.copy()
    frame.loc[3, "mean_radius"] = np.inf
    path = table(workdir, "t.csv", frame)
    assert_clean_failure(invoke(*FIT, "--data", path, "--condition", "diagnosis"), "mean_radius")


def test_empty_file(workdir):
    path = workdir / "empty.csv"
    path.write_text("")
    assert_clean_failure(invoke(*FIT, "--data", path, "--condition", "diagnosis"), "empty.csv")


def test_binary_file_named_csv(workdir):
    path = workdir / "blob.csv"
    path.write_bytes(bytes(range(256)) * 40)
    assert_clean_failure(invoke(*FIT, "--data", path, "--condition", "diagnosis"), "blob.csv")


def test_unknown_extension(workdir):
    path = workdir / "t.xlsx"
    path.write_text("a,b\n1,2\n")
    assert_clean_failure(invoke(*FIT, "--data", path, "--condition", "diagnosis"), "t.xlsx", ".xlsx")


def test_missing_file(workdir):
    assert_clean_failure(invoke(*FIT, "--data", workdir / "nope.csv", "--condition", "x"), "nope.csv")


def test_no_condition_given(workdir, small):
    path = table(workdir, "t.csv", small)
    assert_clean_failure(invoke(*FIT, "--data", path), "--condition")


def test_unknown_config_key_is_named(workdir, small):
    path = table(workdir, "t.csv", small)
    cfg = workdir / "c.yaml"
    cfg.write_text("train:\n  epoch: 3\n")
    assert_clean_failure(invoke(*FIT, "--data", path, "--condition", "diagnosis", "--config", cfg), "c.yaml", "train.epoch")


def test_bad_yaml_is_named(workdir, small):
    cfg = workdir / "c.yaml"
    cfg.write_text("train: [1,\n")
    assert_clean_failure(invoke(*FIT, "--config", cfg), "c.yaml")


def test_sample_without_a_fitted_model(workdir):
    assert_clean_failure(invoke("sample", "--no-tracking", "--n", "10"), "runs/latest")


def test_evaluate_without_a_fitted_model(workdir):
    assert_clean_failure(invoke("evaluate", "--no-tracking"), "runs/latest")


def test_sample_bad_class_pair(workdir):
    assert_clean_failure(invoke("sample", "--no-tracking", "--class", "benign"), "NAME=VALUE")


def test_dry_run_prints_resolved_config_and_writes_nothing(workdir, small):
    path = table(workdir, "t.csv", small)
    r = invoke("fit", "--data", path, "--condition", "diagnosis", "--epochs", "7", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "epochs: 7" in r.output and "kind: tabular" in r.output and "pac: 1\n" in r.output
    assert sorted(os.listdir(workdir)) == ["t.csv"]

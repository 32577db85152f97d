"""The real CLI, as a user runs it: fit -> sample -> evaluate on a small mixed-type table,
logged to a real SQLite MLflow store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SYNTHGEN = [sys.executable, "-m", "synthgen"]


def run(*args, cwd):
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run([*SYNTHGEN, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def mixed_table(tmp_path_factory, breast_cancer) -> Path:
    """Real breast-cancer rows plus integer, categorical, boolean, datetime and missing values."""
    rng = np.random.default_rng(0)
    df = breast_cancer.iloc[:, [0, 1, 4, 7]].copy()
    df["diagnosis"] = breast_cancer["diagnosis"]
    n = len(df)
    df["age"] = rng.integers(25, 90, n)
    df["site"] = rng.choice(["left", "right"], n)
    df["palpable"] = rng.random(n) < 0.4
    df["visit"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    df.loc[rng.random(n) < 0.1, "mean_texture"] = np.nan
    folder = tmp_path_factory.mktemp("e2e")
    path = folder / "patients.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_sample_evaluate_through_the_cli(mixed_table):
    cwd = mixed_table.parent
    original = pd.read_csv(mixed_table)
    out = run("fit", "--data", mixed_table.name, "--condition", "diagnosis", "--epochs", "30", "--name", "e2e", cwd=cwd)
    assert "runs/e2e" in out and (cwd / "runs" / "latest").resolve() == (cwd / "runs" / "e2e")

    # -- exact balanced counts, same columns and dtypes as the input
    out = run("sample", "--n", "400", "--balance", "--seed", "3", "--out", "a.csv", cwd=cwd)
    a = pd.read_csv(cwd / "a.csv")
    assert a["diagnosis"].value_counts().to_dict() == {"benign": 200, "malignant": 200}
    assert list(a.columns) == list(original.columns)
    assert a.dtypes.astype(str).to_dict() == original.dtypes.astype(str).to_dict()
    assert set(a["site"].dropna()) <= {"left", "right"}
    assert a["mean_texture"].isna().any(), "missing values are part of the data and must be kept"

    # -- same seed, same rows; another seed, other rows
    run("sample", "--n", "400", "--balance", "--seed", "3", "--out", "b.csv", cwd=cwd)
    run("sample", "--n", "400", "--balance", "--seed", "4", "--out", "c.csv", cwd=cwd)
    assert (cwd / "a.csv").read_bytes() == (cwd / "b.csv").read_bytes()
    assert (cwd / "a.csv").read_bytes() != (cwd / "c.csv").read_bytes()

    # -- fill: exactly what the minority lacks in the training split
    doc = json.loads((cwd / "runs" / "e2e" / "model.json").read_text())
    counts = doc["class_counts"]
    run("sample", "--balance", "fill", "--out", "fill.parquet", cwd=cwd)
    fill = pd.read_parquet(cwd / "fill.parquet")
    assert fill["diagnosis"].value_counts().to_dict() == {"malignant": counts["benign"] - counts["malignant"]}

    # -- evaluate the last sample (fill.parquet) and write the report
    out = run("evaluate", "--seeds", "2", "--report", "report", cwd=cwd)
    for name in ("report.html", "metrics.json", "summary.md"):
        assert (cwd / "report" / name).is_file(), out
    metrics = json.loads((cwd / "report" / "metrics.json").read_text())
    # A 30-epoch generator is told apart from real rows, and the report says which way it reads.
    assert 0.5 < metrics["metrics"]["fidelity/detection_auc"] <= 1.0
    assert {k: v["severity"] for k, v in metrics["verdicts"].items()}.keys() == {
        "fidelity", "memorization", "utility"}
    assert all(v["severity"] in {"good", "caution", "bad"} for v in metrics["verdicts"].values())
    assert f"fidelity: {metrics['verdicts']['fidelity']['text']}" in out
    # The fill sample is all minority by design: counted as such, and no warning about it.
    assert metrics["class_counts"]["synthetic"] == {"malignant": len(fill)}
    assert not any("benign" in w for w in metrics["warnings"]), metrics["warnings"]

    # -- every step is an MLflow run in the dataset's experiment
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{cwd / 'mlflow.db'}")
    exp = client.get_experiment_by_name("synthgen-patients")
    runs = client.search_runs([exp.experiment_id])
    types = sorted(r.data.tags.get("synthgen.run_type", "?") for r in runs)
    assert types.count("fit") == 1 and types.count("sample") == 4 and types.count("evaluate") == 1, types
    fit_run = next(r for r in runs if r.data.tags.get("synthgen.run_type") == "fit")
    assert fit_run.data.params["train.epochs"] == "30"
    # One point per round (an epoch here): as many as model.json's history holds; early stopping
    # on the validation score may end the fit before epoch 30.
    history = doc["history"]
    assert 1 <= len(history["loss_d"]) <= 30 and history["step"] == sorted(history["step"])
    assert len(client.get_metric_history(fit_run.info.run_id, "loss_d")) == len(history["loss_d"])
    assert len(client.get_metric_history(fit_run.info.run_id, "val_score")) == len(history["val_score"])

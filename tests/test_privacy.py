"""No patient identifier, rare category or input path in anything the pipeline writes.

A real ``synthgen run`` (fit -> sample -> evaluate, real SQLite MLflow store, registered model)
on a table with planted identifiers; then every byte of every file it wrote is searched.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from click.testing import CliRunner

from synthgen.cli import main
from synthgen.data_locations import INDEX

N = 300
RARE_VALUES = ("Quillonvale", "Brackenmoor")  # one patient each: must never leave
PATIENT_NAME = "Zebulon"


def planted_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ward = rng.choice(["WardNorth", "WardSouth", "WardEast"], N).astype(object)
    ward[[5, 17]] = RARE_VALUES
    return pd.DataFrame(
        {
            "mrn": [f"QX{700000 + 37 * i}" for i in range(N)],
            "full_name": [f"{PATIENT_NAME} Patient{i:03d}" for i in range(N)],
            "age": rng.integers(20, 90, N),
            "ward": ward,
            "note": [f"seen in clinic {i} by dr {PATIENT_NAME}x, follow up in {i % 9} weeks" for i in range(N)],
            "admitted": [f"2024-03-{i % 28 + 1:02d}T08:30:00+02:00" if i % 3 else f"{i % 28 + 1:02d}/04/2024" for i in range(N)],
            "diagnosis": np.where(np.arange(N) % 3 == 0, "malignant", "benign"),
        }
    )


def every_file(root: Path, skip: set[Path]) -> list[Path]:
    out = []
    for folder, _, files in os.walk(root):
        out += [Path(folder) / f for f in files if Path(folder) / f not in skip]
    return out


def test_planted_identifiers_never_leave(workdir):
    data = workdir / "patients.csv"
    planted_table().to_csv(data, index=False)
    pipeline = workdir / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump({
        "fit": {"name": "planted", "data": {"path": str(data), "condition": "diagnosis"},
                "train": {"epochs": 2, "batch_size": 60}},
        "sample": {"n": 200, "balance": "equal"},
        "evaluate": {"seeds": 1, "detection_folds": 2},
    }))
    result = CliRunner().invoke(main, ["run", str(pipeline)])
    assert result.exit_code == 0, result.stderr + repr(result.exception)

    # Said once per column, naming the column, never the values.
    for column in ("mrn", "full_name", "note"):
        assert f"column {column!r} left out" in result.stderr
    assert "column 'ward': 2 value(s) held by fewer than 5 patients pooled" in result.stderr

    written = every_file(workdir, skip={data, workdir / "runs" / INDEX, pipeline})
    names = {p.name for p in written}
    assert {"model.json", "weights.safetensors", "synthetic.csv", "report.html", "metrics.json",
            "summary.md", "mlflow.db", "MLmodel"} <= names, names
    forbidden = re.compile(
        rb"QX7\d{5}|" + PATIENT_NAME.encode() + rb"|" + b"|".join(v.encode() for v in RARE_VALUES)
        + rb"|" + re.escape(str(data.resolve()).encode())
    )
    leaks = {str(p.relative_to(workdir)): m.group().decode()
             for p in written if (m := forbidden.search(p.read_bytes()))}
    assert leaks == {}

    # The search is not blind: kept values do reach the samples and the MLflow artifacts.
    assert any(b"WardNorth" in p.read_bytes() for p in written if "mlruns" in p.parts)
    sample = pd.read_csv(workdir / "runs" / "planted" / "samples" / "synthetic.csv")
    assert list(sample.columns) == ["age", "ward", "admitted", "diagnosis"]
    assert set(sample["ward"]) <= {"WardNorth", "WardSouth", "WardEast", "__rare__"}
    doc = json.loads((workdir / "runs" / "planted" / "model.json").read_text())
    assert doc["data"]["file"] == "patients.csv" and "path" not in doc["data"]
    assert doc["config"]["data"]["path"] == "patients.csv"
    admitted = next(c for c in doc["metadata"]["schema"]["columns"] if c["name"] == "admitted")
    assert admitted["kind"] == "datetime"  # mixed formats and zones: a date, not 300 categories
    assert "left out" in (workdir / "reports" / "planted" / "summary.md").read_text()

    # The real splits cached for sample/evaluate (parquet may compress what the byte search
    # looks for, so read them): the model's columns only, rare values pooled.
    for split in ("train", "holdout", "test"):
        cached = pd.read_parquet(workdir / "runs" / ".planted.splits" / f"{split}.parquet")
        assert list(cached.columns) == ["age", "ward", "admitted", "diagnosis"]
        assert not cached["ward"].isin(RARE_VALUES).any()
    # ... and kept out of the run folder, which MLflow logs and registers.
    assert not [p for p in written if "mlruns" in p.parts and p.suffix == ".parquet"]


def test_evaluate_finds_moved_data_only_when_told(workdir):
    """The model records where its data was only beside the runs; a copy elsewhere needs --data."""
    from synthgen.config import FitConfig, SampleConfig, TrackingConfig
    from synthgen.errors import DataError
    from synthgen import workflow

    data = workdir / "patients.csv"
    planted_table().to_csv(data, index=False)
    config = FitConfig.model_validate({
        "name": "m", "data": {"path": str(data), "condition": "diagnosis"},
        "train": {"epochs": 1, "batch_size": 60}, "tracking": {"enabled": False},
    })
    fitted = workflow.fit(config)
    moved = workdir / "elsewhere" / "m"
    moved.parent.mkdir()
    fitted.run_dir.rename(moved)
    off = TrackingConfig(enabled=False)
    try:
        workflow.sample(moved, SampleConfig(n=10, privacy_filter=True), tracking=off)
    except DataError as e:
        assert "pass --data PATH" in str(e) and str(data) not in str(e)
    else:
        raise AssertionError("the moved model found its data without --data")
    result = workflow.sample(moved, SampleConfig(n=10, privacy_filter=True), tracking=off, data_path=data)
    assert sum(result.counts.values()) == 10


def test_python_api_warns_and_leaves_identifiers_out():
    import pytest

    import synthgen

    with pytest.warns(UserWarning, match="column 'mrn' left out: it looks like an identifier"):
        synth = synthgen.fit(planted_table(), condition="diagnosis", epochs=1, batch_size=60, progress=False)
    rows = synth.sample(n=20, seed=0)
    assert "mrn" not in rows and "full_name" not in rows and "note" not in rows
    assert not rows["ward"].isin(RARE_VALUES).any()

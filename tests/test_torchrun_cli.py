"""``synthgen run`` and ``synthgen fit`` under a real 2-process ``torchrun`` (gloo on the CPU).

Both processes train; only rank 0 opens MLflow runs, writes the model folder, samples and
evaluates. Checked against the real SQLite MLflow store and the files on disk: one of each,
never one per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
NAME = "tiny"
CLASSES = {"benign": 30, "malignant": 50}  # not the data's ratio: the counts must be the asked ones

# Small networks, 2 epochs, a checkpoint every epoch (so that there is one to clean up).
FIT = {
    "model": {"kind": "tabular", "embedding_dim": 8, "generator_dims": [16], "discriminator_dims": [16],
              "pac": 4, "max_modes": 3},
    "train": {"epochs": 2, "batch_size": 48, "seed": 0, "device": "cpu", "progress": False,
              "checkpoint_every": 1},
    "split": {"holdout": 0.2, "test": 0.2, "seed": 0},
}


@pytest.fixture
def table(tmp_path) -> Path:
    """200 patients: two numeric columns, a categorical one, an imbalanced diagnosis (~30 %)."""
    rng = np.random.default_rng(0)
    n = 200
    malignant = rng.random(n) < 0.3
    df = pd.DataFrame({
        "age": rng.integers(25, 90, n),
        "radius": np.where(malignant, rng.normal(17, 3, n), rng.normal(12, 2, n)).round(2),
        "site": rng.choice(["left", "right", "bilateral"], n, p=[0.45, 0.45, 0.1]),
        "diagnosis": np.where(malignant, "malignant", "benign"),
    })
    path = tmp_path / "patients.csv"
    df.to_csv(path, index=False)
    return path


def torchrun(*args, cwd: Path, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
           "MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONUNBUFFERED": "1"}
    env.pop("SYNTHGEN_THREADS", None)  # each rank takes cores / LOCAL_WORLD_SIZE
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "synthgen", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert not check or done.returncode == 0, f"rc={done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def runs_by_type(uri: str) -> dict[str, list]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    out: dict[str, list] = {}
    for run in client.search_runs(experiments):
        out.setdefault(run.data.tags.get("synthgen.run_type", "?"), []).append(run)
    return out


def model_folders(runs: Path) -> list[str]:
    return sorted(p.name for p in runs.iterdir() if not p.name.startswith("."))  # not the data index


def test_run_pipeline_under_torchrun_tracks_samples_and_evaluates_once(tmp_path, table):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    pipeline = {
        "fit": {"name": NAME, "runs_dir": str(tmp_path / "runs"),
                "data": {"path": str(table), "condition": "diagnosis"},
                "tracking": {"uri": uri}, **FIT},
        "sample": {"classes": CLASSES, "seed": 0},
        "evaluate": {"seeds": 1, "detection_folds": 2, "max_rows": 100},
        "report_dir": str(tmp_path / "reports" / NAME),
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(pipeline))

    done = torchrun("run", path, cwd=tmp_path)

    # -- one summary for the whole job
    lines = done.stdout.splitlines()
    model_lines = [line for line in lines if line.startswith("model: ")]
    assert model_lines == [f"model: {tmp_path / 'runs' / NAME}"], done.stdout
    sample_lines = [line for line in lines if line.startswith("samples: ")]
    assert len(sample_lines) == 1, done.stdout
    assert done.stderr.count(f"model written to {tmp_path / 'runs' / NAME}") == 1, done.stderr[-3000:]
    assert done.stderr.count("synthetic samples to") == 1, done.stderr[-3000:]

    # -- MLflow: one pipeline run, with exactly one fit, one sample and one evaluate under it
    runs = runs_by_type(uri)
    assert {k: len(v) for k, v in runs.items()} == {"pipeline": 1, "fit": 1, "sample": 1, "evaluate": 1}
    parent = runs["pipeline"][0]
    assert parent.info.run_name == f"{NAME}-pipeline" and parent.info.status == "FINISHED"
    for kind in ("fit", "sample", "evaluate"):
        child = runs[kind][0]
        assert child.data.tags.get("mlflow.parentRunId") == parent.info.run_id, kind
        assert child.info.status == "FINISHED", kind
    fit_run = runs["fit"][0]
    assert fit_run.info.run_name == NAME and fit_run.data.params["train.epochs"] == "2"
    assert runs["sample"][0].data.metrics == {**{f"count_{k}": float(v) for k, v in CLASSES.items()},
                                              "privacy_filtered": 0.0}

    # -- files: one model folder (no checkpoints left), one sample with the asked counts, a report
    assert model_folders(tmp_path / "runs") == ["latest", NAME]
    assert (tmp_path / "runs" / "latest").resolve() == tmp_path / "runs" / NAME
    samples = Path(sample_lines[0].removeprefix("samples: "))
    assert samples.is_file()
    drawn = pd.read_csv(samples)
    assert len(drawn) == sum(CLASSES.values())
    assert drawn["diagnosis"].value_counts().to_dict() == CLASSES
    assert list(drawn.columns) == ["age", "radius", "site", "diagnosis"]
    assert (tmp_path / "reports" / NAME / "metrics.json").is_file()


def test_fit_under_torchrun_logs_and_writes_one_model(tmp_path, table):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = tmp_path / "fit.yaml"
    config.write_text(yaml.safe_dump(FIT))

    done = torchrun("fit", "--data", table, "--condition", "diagnosis", "--config", config,
                    "--name", NAME, "--runs-dir", tmp_path / "runs", "--tracking-uri", uri, cwd=tmp_path)

    assert [line for line in done.stdout.splitlines() if line.startswith("model: ")] == [
        f"model: {tmp_path / 'runs' / NAME}"], done.stdout
    runs = runs_by_type(uri)
    assert {k: len(v) for k, v in runs.items()} == {"fit": 1}
    assert runs["fit"][0].info.status == "FINISHED"
    assert runs["fit"][0].info.run_name == NAME
    # runs/<name> and runs/latest only: no second folder, no checkpoints left behind
    assert model_folders(tmp_path / "runs") == ["latest", NAME]
    assert not (tmp_path / "runs" / f".{NAME}.checkpoints").exists()
    assert (tmp_path / "runs" / NAME / "model.json").is_file()


def test_image_fit_under_torchrun_writes_one_model_that_samples(tmp_path):
    """The image GAN through the CLI under torchrun: 2D .npz in, one model folder out."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    disc = (yy - 7.5) ** 2 + (xx - 7.5) ** 2 < 25
    labels = np.array([0, 0, 1] * 8, dtype=np.uint8)  # 24 images, 2:1
    images = np.stack([np.where(disc if k else ~disc, 200, 30) + rng.integers(0, 20, (16, 16)) for k in labels])
    np.savez(tmp_path / "scans.npz", train_images=images.astype(np.uint8), train_labels=labels[:, None])
    config = tmp_path / "fit.yaml"
    config.write_text(yaml.safe_dump({
        "model": {"kind": "image", "spatial_dims": 2, "image_size": 16, "latent_dim": 8, "base_channels": 4},
        "train": {"epochs": 2, "batch_size": 8, "seed": 0, "device": "cpu", "progress": False,
                  "checkpoint_every": 1},
        "split": {"holdout": 0.2, "test": 0.2, "seed": 0},
    }))

    done = torchrun("fit", "--data", tmp_path / "scans.npz", "--condition", "label", "--config", config,
                    "--name", NAME, "--runs-dir", tmp_path / "runs", "--no-tracking", cwd=tmp_path)

    assert done.stdout.count("model: ") == 1, done.stdout
    assert model_folders(tmp_path / "runs") == ["latest", NAME]
    from synthgen.models.artifact import load_model

    synth, _ = load_model(tmp_path / "runs" / NAME)
    assert synth.model_config_.image_size == 16 and len(synth.history_["loss_d"]) == 2
    out = synth.generate({"0": 3, "1": 3}, seed=0)
    assert out.images.shape == (6, 1, 16, 16) and np.isfinite(out.images).all()


@pytest.mark.parametrize("command", ["run", "fit"])
def test_torchrun_fails_fast_on_every_rank_when_mlflow_is_unreachable(tmp_path, table, command):
    """Rank 0 cannot reach MLflow: rank 1 must not wait for it in training's first collective
    (30 minutes on gloo) but fail with it, before anything is trained or written."""
    from mlflow_server import free_port

    uri = f"http://127.0.0.1:{free_port()}"
    if command == "run":
        pipeline = {"fit": {"name": NAME, "runs_dir": str(tmp_path / "runs"),
                            "data": {"path": str(table), "condition": "diagnosis"}, **FIT}}
        path = tmp_path / "pipeline.yaml"
        path.write_text(yaml.safe_dump(pipeline))
        args = ["run", path]
        elsewhere = "error: the main process could not start the pipeline's MLflow run"
    else:
        config = tmp_path / "fit.yaml"
        config.write_text(yaml.safe_dump(FIT))
        args = ["fit", "--data", table, "--condition", "diagnosis", "--config", config,
                "--name", NAME, "--runs-dir", tmp_path / "runs"]
        elsewhere = "error: the main process could not reach MLflow"

    start = time.perf_counter()
    done = torchrun(*args, "--tracking-uri", uri, cwd=tmp_path, timeout=120, check=False)

    assert done.returncode != 0
    assert time.perf_counter() - start < 60  # not gloo's 30-minute wait
    assert f"error: MLflow tracking server at {uri} is not reachable" in done.stderr, done.stderr[-3000:]
    # Rank 1 says why it stops too, unless torchrun (which stops the others once a process has
    # failed) got to it first.
    assert elsewhere in done.stderr or "SIGTERM" in done.stderr, done.stderr[-3000:]
    assert "model: " not in done.stdout
    assert not (tmp_path / "runs").exists()

"""Tracking against a real SQLite store and a real ``mlflow server``; the pyfunc round trip."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


from synthgen.config import TrackingConfig
from synthgen.errors import SamplingError, TrackingError
from synthgen.tracking import (
    MlflowTracker,
    NullTracker,
    flatten_params,
    make_tracker,
    resolve_uri,
)

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"


EXPERIMENT = "synthgen-test"


@pytest.fixture(autouse=True)
def _no_ambient_uri(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One SQLite store for the module: creating one costs 1-4 s of schema migrations."""
    return tmp_path_factory.mktemp("store")


@pytest.fixture
def tracker(store) -> MlflowTracker:
    return make_tracker(TrackingConfig(), cwd=store)


def client_for(uri: str):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=uri)


# ------------------------------------------------------------------------------------------
# Store selection
# ------------------------------------------------------------------------------------------


def test_default_store_is_sqlite_in_cwd_with_artifacts_beside_it(tmp_path):
    tracker = make_tracker(TrackingConfig(), cwd=tmp_path)
    assert tracker.uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    note = tmp_path / "note.txt"
    note.write_text("hello")
    with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit") as run:
        tracker.log_artifact(note)
    assert (tmp_path / "mlflow.db").is_file()
    stored = list((tmp_path / "mlruns" / EXPERIMENT).rglob("note.txt"))
    assert len(stored) == 1 and run.run_id in str(stored[0])


def test_uri_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://team:5000")
    assert resolve_uri(None, cwd=tmp_path) == "http://team:5000"
    assert resolve_uri("sqlite:///x.db", cwd=tmp_path) == "sqlite:///x.db"
    assert resolve_uri("store.db", cwd=tmp_path) == f"sqlite:///{tmp_path.resolve()}/store.db"


def test_disabled_tracking_is_a_null_tracker(tmp_path):
    tracker = make_tracker(TrackingConfig(enabled=False), cwd=tmp_path)
    assert isinstance(tracker, NullTracker)
    with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit") as run:
        tracker.log_params({"a": 1})
        tracker.log_metrics({"loss": 1.0}, step=1)
        assert tracker.log_model(tmp_path) is None
    assert run.run_id == "" and list(tmp_path.iterdir()) == []


def test_unwritable_sqlite_path_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    tracker = MlflowTracker(f"sqlite:///{blocker}/mlflow.db")
    with pytest.raises(TrackingError, match=f"sqlite:///{blocker}/mlflow.db.*cannot create folder"):
        tracker.check_reachable()


def test_closed_port_fails_fast():
    from mlflow_server import free_port

    uri = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(TrackingError, match=f"MLflow tracking server at {uri} is not reachable"):
        MlflowTracker(uri).check_reachable()
    assert time.monotonic() - start < 5


# ------------------------------------------------------------------------------------------
# Params, metrics, tags, nesting, status, artifacts (SQLite)
# ------------------------------------------------------------------------------------------


def test_flatten_params():
    flat = flatten_params(
        {"model": {"dims": [256, 256], "pac": 10, "kind": "tabular"}, "seed": None, "x y!": {}},
        max_value_length=10,
    )
    assert flat == {
        "model.dims": "[256, 256]",
        "model.pac": "10",
        "model.kind": "tabular",
        "seed": "null",
        "x y_": "{}",
    }
    assert flatten_params({"long": "a" * 20}, max_value_length=10)["long"] == "a" * 9 + "…"


def test_params_are_flattened_and_batched(tracker, monkeypatch):
    from synthgen.config import FitConfig

    calls = []
    client = tracker._client()
    real = client.log_batch
    monkeypatch.setattr(client, "log_batch", lambda *a, **k: (calls.append(k), real(*a, **k))[1])
    params = {"group": {f"p{i:03d}": i for i in range(250)}, "fit": FitConfig()}
    with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit") as run:
        tracker.log_params(params)
    param_calls = [len(c["params"]) for c in calls if c.get("params")]
    assert max(param_calls) <= 100 and sum(param_calls) == len(flatten_params(params))
    logged = client_for(tracker.uri).get_run(run.run_id).data.params
    assert logged["group.p249"] == "249"
    assert logged["fit.train.patience"] == "8" and logged["fit.tracking.uri"] == "null"


def test_metrics_are_batched_and_kept_per_step(tracker, monkeypatch):
    calls = []
    client = tracker._client()
    real = client.log_batch
    monkeypatch.setattr(client, "log_batch", lambda *a, **k: (calls.append(k), real(*a, **k))[1])
    with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit") as run:
        for epoch in range(1, 31):
            losses = {"loss/generator": 1 / epoch, "loss/discriminator": -epoch}
            tracker.log_metrics(losses, step=epoch)
    assert len([c for c in calls if c.get("metrics")]) <= 2  # 60 values, flushed at run end
    history = client_for(tracker.uri).get_metric_history(run.run_id, "loss/generator")
    assert [m.step for m in history] == list(range(1, 31))
    assert history[-1].value == pytest.approx(1 / 30)


def test_metrics_survive_a_store_outage(tracker, monkeypatch, caplog):
    """Sending fails (server gone): warn once, keep buffering, deliver when it is back."""
    client = tracker._client()
    real = client.log_batch
    down = {"now": True}

    def flaky(*args, **kwargs):
        if down["now"] and kwargs.get("metrics"):
            raise ConnectionError("Connection refused")
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "log_batch", flaky)
    tracker.flush_every = 2
    with caplog.at_level(logging.WARNING, logger="synthgen.tracking"):
        with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit") as run:
            for epoch in range(10):
                tracker.log_metrics({"loss": epoch, "gp": epoch}, step=epoch)
            down["now"] = False
    assert sum("cannot log metrics" in r.message for r in caplog.records) == 1
    history = client_for(tracker.uri).get_metric_history(run.run_id, "loss")
    assert len(history) == 10


def test_nested_runs_carry_their_parent(tracker):
    exp = "synthgen-nesting"
    with tracker.start_run("pipeline", experiment=exp, run_type="pipeline") as parent:
        pid = parent.run_id
        with tracker.start_run("fit", experiment=exp, run_type="fit", parent_run_id=pid) as fit:
            pass
        tags = {"n": 5}
        with tracker.start_run("sample", experiment=exp, run_type="sample", tags=tags) as sample:
            pass  # no parent given: nested under the open run
    client = client_for(tracker.uri)
    for child in (fit, sample):
        tags = client.get_run(child.run_id).data.tags
        assert tags["mlflow.parentRunId"] == parent.run_id
    assert client.get_run(sample.run_id).data.tags["synthgen.run_type"] == "sample"
    assert client.get_run(sample.run_id).data.tags["n"] == "5"
    assert {r.info.run_id for r in client.search_runs([parent.experiment_id])} == {
        parent.run_id, fit.run_id, sample.run_id,
    }  # fmt: skip


def test_exception_marks_the_run_failed_and_propagates(tracker):
    with pytest.raises(ValueError, match="boom"):
        with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit") as run:
            tracker.log_metrics({"loss": 1.0}, step=1)
            raise ValueError("boom")
    client = client_for(tracker.uri)
    assert client.get_run(run.run_id).info.status == "FAILED"
    assert len(client.get_metric_history(run.run_id, "loss")) == 1  # flushed despite the failure
    with tracker.start_run("again", experiment=EXPERIMENT, run_type="fit") as again:
        pass  # not nested under the failed run
    assert "mlflow.parentRunId" not in client.get_run(again.run_id).data.tags
    assert client.get_run(again.run_id).info.status == "FINISHED"


def test_artifacts_are_listed(tracker, tmp_path):
    folder = tmp_path / "previews"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"\x89PNG")
    (folder / "b.png").write_bytes(b"\x89PNG")
    (tmp_path / "report.html").write_text("<html></html>")
    with tracker.start_run("evaluate", experiment=EXPERIMENT, run_type="evaluate") as run:
        tracker.log_artifact(tmp_path / "report.html", "report")
        tracker.log_artifacts(folder, "previews")
        tracker.set_tags({"synthgen.dataset": "demo"})
    client = client_for(tracker.uri)
    assert [f.path for f in client.list_artifacts(run.run_id, "report")] == ["report/report.html"]
    previews = [f.path for f in client.list_artifacts(run.run_id, "previews")]
    assert previews == ["previews/a.png", "previews/b.png"]
    assert client.get_run(run.run_id).data.tags["synthgen.dataset"] == "demo"


def test_global_mlflow_uri_is_restored_after_the_run(tracker):
    import mlflow

    before = mlflow.get_tracking_uri()
    with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit"):
        assert mlflow.get_tracking_uri() == tracker.uri
    assert mlflow.get_tracking_uri() == before
    assert "MLFLOW_TRACKING_URI" not in os.environ


# ------------------------------------------------------------------------------------------
# A fitted model and the pyfunc round trip
# ------------------------------------------------------------------------------------------

CLASSES = {"benign": 30, "malignant": 10}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """The real tabular synthesizer fitted for 2 epochs on a tiny table, as a model folder."""
    from synthgen.config import TabularModelConfig, TrainConfig
    from synthgen.models.artifact import write_model
    from synthgen.models.tabular.synthesizer import TabularSynthesizer

    rng = np.random.default_rng(0)
    labels = [c for c, n in CLASSES.items() for _ in range(n)]
    table = pd.DataFrame(
        {
            "size": rng.normal(size=len(labels)),
            "grade": rng.choice(["a", "b"], len(labels)),
            "diagnosis": labels,
        }
    )
    model = TabularModelConfig(
        embedding_dim=8, generator_dims=[16], discriminator_dims=[16], pac=2, max_modes=2
    )
    train = TrainConfig(epochs=2, batch_size=10, device="cpu", progress=False)
    synth = TabularSynthesizer(model, train).fit(table, "diagnosis")
    return write_model(tmp_path_factory.mktemp("model") / "model", synth)


def _ask(counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"class": list(counts), "count": list(counts.values())})


def _check_samples(frame: pd.DataFrame, counts: dict[str, int]) -> None:
    got = frame["diagnosis"].astype(str).value_counts().to_dict()
    assert got == {k: v for k, v in counts.items() if v}


def test_requested_counts_validation():
    from synthgen.serving import requested_counts

    classes = ["benign", "malignant"]
    ask = pd.DataFrame({"class": ["malignant", "malignant"], "count": [2, 3]})
    assert requested_counts(ask, classes) == {"benign": 0, "malignant": 5}
    with pytest.raises(SamplingError, match="'other' was never seen"):
        requested_counts(pd.DataFrame({"class": ["other"], "count": [1]}), classes)
    with pytest.raises(SamplingError, match="whole number"):
        requested_counts(pd.DataFrame({"class": ["benign"], "count": [-1]}), classes)
    with pytest.raises(SamplingError, match="columns 'class' and 'count'"):
        requested_counts(pd.DataFrame({"label": ["benign"]}), classes)


def test_image_samples_become_one_row_per_image():
    from synthgen.serving import samples_to_frame

    images = np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3)
    frame = samples_to_frame(images, {"a": 1, "b": 1})
    assert frame["label"].tolist() == ["a", "b"]
    rebuilt = np.asarray(frame.loc[1, "pixels"]).reshape(frame.loc[1, "shape"])
    np.testing.assert_array_equal(rebuilt, images[1])


def test_pyfunc_round_trip_with_the_registry(tracker, model_dir):
    import mlflow

    from synthgen.models.artifact import load_model

    with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit") as run:
        uri = tracker.log_model(model_dir, registered_name="synthgen-demo")
    assert uri == "models:/synthgen-demo/1"
    mlflow.set_tracking_uri(tracker.uri)
    try:
        model = mlflow.pyfunc.load_model(uri)
        counts = {"benign": 3, "malignant": 7}
        ask = _ask(counts)
        first = model.predict(ask, params={"seed": 5})
        _check_samples(first, counts)
        pd.testing.assert_frame_equal(first, model.predict(ask, params={"seed": 5}))
        synth, _ = load_model(model_dir)  # the seed reaches the synthesizer unchanged
        expected = synth.generate(counts, seed=6)
        pd.testing.assert_frame_equal(model.predict(ask, params={"seed": 6}), expected)
        _check_samples(model.predict(_ask({"malignant": 2})), {"malignant": 2})
        assert model.metadata.run_id == run.run_id
        assert [p.name for p in model.metadata.get_params_schema().params] == ["seed"]
        # A model from code: the flavour names the code file and nothing was pickled.
        local = Path(mlflow.artifacts.download_artifacts(uri))
        assert (local / "serving.py").is_file() and not list(local.rglob("*.pkl"))
        assert (local / "artifacts" / "model" / "model.json").is_file()
    finally:
        mlflow.set_tracking_uri(None)


def test_register_model_off_logs_without_registering(store, model_dir):
    tracker = make_tracker(TrackingConfig(register_model=False), cwd=store)
    with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit"):
        uri = tracker.log_model(model_dir, registered_name="synthgen-unregistered")
    assert uri.startswith("models:/m-")
    assert client_for(tracker.uri).search_registered_models("name = 'synthgen-unregistered'") == []


# ------------------------------------------------------------------------------------------
# Over HTTP against a real server
# ------------------------------------------------------------------------------------------


def test_runs_over_http(mlflow_server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    tracker = make_tracker(TrackingConfig(), cwd=tmp_path)
    assert tracker.uri == mlflow_server.uri
    tracker.check_reachable()
    (tmp_path / "summary.md").write_text("# ok")
    with tracker.start_run("pipeline", experiment=EXPERIMENT, run_type="pipeline") as parent:
        with tracker.start_run(
            "fit", experiment=EXPERIMENT, run_type="fit", parent_run_id=parent.run_id
        ) as fit:
            tracker.log_params({"train": {"epochs": 2}})
            for epoch in range(1, 4):
                tracker.log_metrics({"loss": 1 / epoch}, step=epoch)
            tracker.log_artifact(tmp_path / "summary.md")
    client = client_for(mlflow_server.uri)
    stored = client.get_run(fit.run_id)
    assert stored.data.params["train.epochs"] == "2"
    assert stored.data.tags["mlflow.parentRunId"] == parent.run_id
    assert [m.step for m in client.get_metric_history(fit.run_id, "loss")] == [1, 2, 3]
    assert [f.path for f in client.list_artifacts(fit.run_id)] == ["summary.md"]
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to the local default store
    assert list((mlflow_server.root / "artifacts").rglob("summary.md"))  # proxied to the server


def test_pyfunc_round_trip_over_http(mlflow_server, tmp_path, monkeypatch, model_dir):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    tracker = make_tracker(TrackingConfig(), cwd=tmp_path)
    with tracker.start_run("fit", experiment=EXPERIMENT, run_type="fit"):
        uri = tracker.log_model(model_dir, registered_name="synthgen-http")
    assert uri == "models:/synthgen-http/1"
    model = mlflow.pyfunc.load_model(uri)  # resolved through MLFLOW_TRACKING_URI
    counts = {"benign": 4, "malignant": 9}
    _check_samples(model.predict(_ask(counts)), counts)


# `mlflow models serve` over HTTP: tests/test_serving_rest.py

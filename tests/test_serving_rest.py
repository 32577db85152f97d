"""The registered generator served by a real ``mlflow models serve`` over HTTP on 127.0.0.1.

One server per model kind (a table model, a 2D image model), started once for the module and
stopped by its PID; each takes ≈ 9 s to answer /ping on two shared cores.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from model_server import ask, post, serving
from synthgen.config import ImageModelConfig, TabularModelConfig, TrackingConfig, TrainConfig
from synthgen.models.artifact import write_model
from synthgen.tracking import make_tracker

TABLE_CLASSES = {"benign": 30, "malignant": 10}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("store")


def _register(store, model_dir, name: str) -> tuple[str, str]:
    """Log ``model_dir`` as the pyfunc in a SQLite store and register it; (model URI, store URI)."""
    tracker = make_tracker(TrackingConfig(), cwd=store)
    with tracker.start_run("fit", experiment="synthgen-rest", run_type="fit"):
        uri = tracker.log_model(model_dir, registered_name=name)
    assert uri == f"models:/{name}/1"
    return uri, tracker.uri


@pytest.fixture(scope="module")
def table_url(store, tmp_path_factory):
    from synthgen.models.tabular.synthesizer import TabularSynthesizer

    rng = np.random.default_rng(0)
    labels = [c for c, n in TABLE_CLASSES.items() for _ in range(n)]
    table = pd.DataFrame({"size": rng.normal(size=len(labels)),
                          "grade": rng.choice(["a", "b"], len(labels)), "diagnosis": labels})
    model = TabularModelConfig(embedding_dim=8, generator_dims=[16], discriminator_dims=[16],
                               pac=2, max_modes=2)  # fmt: skip
    train = TrainConfig(epochs=1, batch_size=10, device="cpu", progress=False)
    synth = TabularSynthesizer(model, train).fit(table, "diagnosis")
    folder = write_model(tmp_path_factory.mktemp("table") / "model", synth)
    uri, tracking_uri = _register(store, folder, "synthgen-rest-table")
    with serving(uri, tracking_uri, log=store / "serve-table.log") as url:
        yield url


@pytest.fixture(scope="module")
def image_url(store, tmp_path_factory):
    from synthgen.models.imaging.synthesizer import ImageSynthesizer
    from tiny_images import tiny_dataset

    model = ImageModelConfig(spatial_dims=2, image_size=16, latent_dim=8, base_channels=4)
    train = TrainConfig(epochs=1, batch_size=8, device="cpu", progress=False)
    synth = ImageSynthesizer(model, train).fit(tiny_dataset(), "shape")
    folder = write_model(tmp_path_factory.mktemp("image") / "model", synth)
    uri, tracking_uri = _register(store, folder, "synthgen-rest-image")
    with serving(uri, tracking_uri, log=store / "serve-image.log") as url:
        yield url


# ------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------


def test_table_rows_come_in_the_requested_counts(table_url):
    status, body = ask(table_url, [["malignant", 3], ["benign", 5]], seed=1)
    assert status == 200
    rows = pd.DataFrame(body["predictions"])
    assert list(rows.columns) == ["size", "grade", "diagnosis"]
    assert rows["diagnosis"].value_counts().to_dict() == {"benign": 5, "malignant": 3}
    assert set(rows["grade"]) <= {"a", "b"}


def test_same_seed_same_rows_other_seed_other_rows(table_url):
    first = ask(table_url, [["malignant", 4]], seed=7)[1]["predictions"]
    assert ask(table_url, [["malignant", 4]], seed=7)[1]["predictions"] == first
    assert ask(table_url, [["malignant", 4]], seed=8)[1]["predictions"] != first


def _split(rows, columns=("class", "count")) -> bytes:
    return json.dumps({"dataframe_split": {"columns": list(columns), "data": rows}}).encode()


# (what is wrong, body, content type, status, text the first line of the message names,
#  whether synthgen wrote the message: those are exactly one line)
BAD_REQUESTS = [
    ("unknown class", _split([["other", 3]]), "application/json", 400,
     "class 'other' was never seen in training; known classes: benign, malignant", True),
    ("negative count", _split([["malignant", -3]]), "application/json", 400,
     "count for class 'malignant' must be a whole number >= 0, got -3", True),
    ("huge count", _split([["malignant", 10**11]]), "application/json", 400,
     "one request may ask for at most 100000", True),
    ("fractional count", _split([["malignant", 2.5]]), "application/json", 400,
     "must be a whole number >= 0, got 2.5", True),
    ("nothing asked", _split([["malignant", 0]]), "application/json", 400,
     "the requested counts add up to 0", True),
    ("missing column", _split([["malignant"]], columns=["class"]), "application/json", 400,
     "request needs columns 'class' and 'count' (one row per class); missing ['count']", True),
    ("text count", _split([["malignant", "three"]]), "application/json", 400,
     "count for class 'malignant' must be a whole number >= 0, got 'three'", True),
    ("number as text", _split([["malignant", "3"]]), "application/json", 400,
     "must be a whole number >= 0, got '3'", True),
    ("not JSON", b"this is not json", "application/json", 400,
     "Ensure that input is a valid JSON formatted string", False),
    ("no dataframe key", json.dumps({"class": "malignant", "count": 1}).encode(),
     "application/json", 400, "The input must be a JSON dictionary with exactly one of", False),
    ("unsupported content type", b"class=malignant", "text/plain", 415,
     "This predictor only supports the following content types", False),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "content_type", "status", "says", "ours"), BAD_REQUESTS,
                         ids=[c[0] for c in BAD_REQUESTS])  # fmt: skip
def test_bad_request_is_a_4xx_naming_the_fault(table_url, case, body, content_type, status, says,
                                               ours):  # fmt: skip
    got, answer = post(table_url + "/invocations", body, content_type)
    assert got == status, answer
    message = answer["message"] if isinstance(answer, dict) else answer
    assert says in message.splitlines()[0]
    assert "Traceback" not in json.dumps(answer)  # no stack trace leaks to the caller
    if ours:
        assert message.count("\n") == 0 and answer["error_code"] == "INVALID_PARAMETER_VALUE"


def test_server_still_answers_after_bad_requests(table_url):
    ask(table_url, [["other", 1]])
    status, body = ask(table_url, [["benign", 2]])
    assert status == 200 and [r["diagnosis"] for r in body["predictions"]] == ["benign"] * 2


# ------------------------------------------------------------------------------------------
# Images
# ------------------------------------------------------------------------------------------


def test_images_come_one_per_row_in_the_requested_counts(image_url):
    status, body = ask(image_url, [["b", 2], ["a", 1]], seed=3)
    assert status == 200
    rows = body["predictions"]
    assert [r["label"] for r in rows] == ["a", "b", "b"]  # grouped in training order
    for row in rows:
        assert row["shape"] == [1, 16, 16]
        image = np.asarray(row["pixels"], dtype=np.float32).reshape(row["shape"])
        assert np.isfinite(image).all() and image.min() >= -1 and image.max() <= 1


def test_image_requests_are_checked_and_bounded(image_url):
    status, answer = ask(image_url, [["c", 1]])
    assert status == 400 and answer["message"].startswith("class 'c' was never seen")
    status, answer = ask(image_url, [["a", 100_000]])  # 16² images: at most 78,125 per request
    assert status == 400 and "one request may ask for at most 78125" in answer["message"]

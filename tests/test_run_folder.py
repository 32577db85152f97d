"""The run folder: ``model.json`` is one typed document with each fact stored once, and the
real splits are cached beside it so sample and evaluate need not read the data again."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen import workflow
from synthgen.config import EvalConfig, FitConfig, SampleConfig, TrackingConfig
from synthgen.errors import ModelFileError
from synthgen.models.document_digests import DIGESTS, key_digests
from synthgen.models.run_document import RunDocument

OFF = TrackingConfig(enabled=False)


@pytest.fixture
def fitted(breast_csv):
    config = FitConfig.model_validate({
        "name": "m", "data": {"path": str(breast_csv), "condition": "diagnosis"},
        "model": {"kind": "tabular", "embedding_dim": 16, "generator_dims": [32], "discriminator_dims": [32]},
        "train": {"epochs": 1, "batch_size": 60, "progress": False}, "tracking": {"enabled": False},
    })
    return workflow.fit(config)


def _rewrite(folder, change) -> None:
    """Edit model.json and re-sign it: only the typed validation can catch the edit."""
    doc = json.loads((folder / "model.json").read_text())
    change(doc)
    doc[DIGESTS] = key_digests(doc)
    (folder / "model.json").write_text(json.dumps(doc))


def test_each_fact_is_stored_once(fitted):
    raw = json.loads((fitted.run_dir / "model.json").read_text())
    assert raw["class_counts"] == {"benign": 215, "malignant": 128}
    assert not {"condition", "class_counts", "history", "classes"} & set(raw["metadata"])
    assert not {"model", "train"} & set(raw["config"])  # they live in metadata only
    assert "modality" not in raw and "format" not in raw["data"]
    # ... and the resolved FitConfig comes back whole from the two halves.
    config = RunDocument.read(fitted.run_dir).fit_config()
    assert config.model.embedding_dim == 16 and config.train.batch_size == 60
    assert config.data.path.name == "patients.csv"


def test_a_wrongly_typed_key_is_one_line_naming_it(fitted, workdir):
    copy = workdir / "copy"
    shutil.copytree(fitted.run_dir, copy)
    _rewrite(copy, lambda doc: doc["class_counts"].update(benign="many"))
    with pytest.raises(ModelFileError, match=r"model.json: key 'class_counts': .*'benign' must be a whole") as e:
        workflow.sample(copy, SampleConfig(n=4), tracking=OFF)
    assert "\n" not in str(e.value)


def test_a_model_saved_from_python_is_not_a_run(fitted, workdir):
    fitted.synthesizer.save(workdir / "saved")
    assert RunDocument.read(workdir / "saved").fit_config() is None
    with pytest.raises(ModelFileError, match="saved from Python"):
        workflow.sample(workdir / "saved", SampleConfig(n=4), tracking=OFF)


# -- the real splits, cached beside the run folder -----------------------------------------------


def _reread(run_dir, doc, data):
    """The splits as the fit's data gives them when read and preprocessed again."""
    from synthgen.workflow.split_cache import cache_dir

    moved = cache_dir(run_dir).rename(run_dir.parent / "set-aside")
    try:
        return workflow.load_splits(run_dir, doc, data)
    finally:
        moved.rename(cache_dir(run_dir))


def test_cached_table_splits_are_what_rereading_the_data_gives(fitted, breast_csv):
    from synthgen.modalities.tabular import _pool_rare, _schema

    doc = RunDocument.read(fitted.run_dir)
    cached = workflow.load_splits(fitted.run_dir, doc)
    again = _reread(fitted.run_dir, doc, breast_csv)
    schema = _schema(doc)
    for name in ("train", "holdout", "test"):
        assert len(cached[name]) == doc.data.splits[name]
        pd.testing.assert_frame_equal(cached[name], _pool_rare(again[name][schema.names], schema))


def test_evaluate_and_privacy_filter_need_no_raw_data(fitted, breast_csv):
    breast_csv.unlink()  # neither re-reads it: the cache beside the run folder is enough
    sampled = workflow.sample(fitted.run_dir, SampleConfig(n=20, privacy_filter=True), tracking=OFF)
    report = workflow.evaluate(fitted.run_dir, sampled.path, tracking=OFF,
                               config=EvalConfig(seeds=1, detection_folds=2))
    assert report.result.metrics


def test_a_changed_cache_is_refused_in_one_line_and_a_deleted_one_rereads(fitted, breast_csv):
    from synthgen.workflow.split_cache import cache_dir

    doc = RunDocument.read(fitted.run_dir)
    holdout = cache_dir(fitted.run_dir) / "holdout.parquet"
    frame = pd.read_parquet(holdout)
    frame.iloc[:1].to_parquet(holdout)  # a split swapped for another
    with pytest.raises(ModelFileError, match=r"holdout.parquet: missing or changed .* delete .*splits") as e:
        workflow.load_splits(fitted.run_dir, doc)
    assert "\n" not in str(e.value)
    shutil.rmtree(cache_dir(fitted.run_dir))
    assert len(workflow.load_splits(fitted.run_dir, doc)["holdout"]) == len(frame)  # read again


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A tiny 2D GAN fitted on an 8x8 .npz: (run folder, the .npz)."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 30), ("val", 6), ("test", 8)):
        labels = rng.integers(0, 2, (n, 1))
        images = (rng.random((n, 8, 8)) * 60 + labels[:, :, None] * 120).astype(np.uint8)
        arrays |= {f"{split}_images": images, f"{split}_labels": labels}
    np.savez(folder / "tiny.npz", **arrays)
    config = FitConfig.model_validate({
        "name": "img", "runs_dir": str(folder / "runs"),
        "data": {"path": str(folder / "tiny.npz"), "condition": "label"},
        "model": {"kind": "image", "image_size": 8, "base_channels": 4, "latent_dim": 8},
        "train": {"epochs": 1, "batch_size": 10, "progress": False}, "tracking": {"enabled": False},
    })
    return workflow.fit(config).run_dir, folder / "tiny.npz"


def test_cached_image_splits_are_the_preprocessed_tensors(image_run):
    from safetensors import safe_open

    from synthgen.workflow.split_cache import cache_dir

    run_dir, data = image_run
    doc = RunDocument.read(run_dir)
    cached = workflow.load_splits(run_dir, doc)
    again = _reread(run_dir, doc, data)
    for name in ("train", "holdout", "test"):
        assert cached[name].labels == again[name].labels and len(cached[name]) == doc.data.splits[name]
        assert torch.equal(cached[name].images, torch.as_tensor(again[name].images))
    with safe_open(str(cache_dir(run_dir) / "train.safetensors"), "pt") as f:  # no ids, no names
        assert set(f.keys()) == {"images", "labels"} and not f.metadata()


def test_image_samples_are_judged_as_the_model_drew_them(image_run):
    """The written .npz went back to uint8: evaluation gets the model's own float images."""
    from synthgen.modalities import get_modality
    from synthgen.models.artifact import load_model
    from synthgen.workflow.run_folder import read_synthetic

    run_dir, _ = image_run
    sampled = workflow.sample(run_dir, SampleConfig(n=6, balance="equal", seed=3), tracking=OFF)
    synth, doc = load_model(run_dir)
    drawn = synth.generate(sampled.counts, seed=3)
    modality = get_modality("image")
    for asked in (None, sampled.path):  # the last sample, by default or by its path
        judged = read_synthetic(run_dir, asked, modality, doc)
        assert judged.labels == drawn.labels
        assert torch.equal(judged.images, torch.as_tensor(drawn.images))
    written = modality.read_samples(sampled.path, doc)  # what reading the files gives instead
    assert not torch.equal(torch.as_tensor(written.images), torch.as_tensor(drawn.images))
    (run_dir / "last_sample.safetensors").write_bytes(b"changed")
    with pytest.raises(ModelFileError, match="last_sample.safetensors: missing or changed"):
        read_synthetic(run_dir, None, modality, doc)

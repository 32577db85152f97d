"""The run folder: ``model.json`` is one typed document with each fact stored once."""

from __future__ import annotations

import json
import shutil

import pytest

from synthgen import workflow
from synthgen.config import FitConfig, SampleConfig, TrackingConfig
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

from pathlib import Path

import pytest
import yaml

from synthgen.config import ConfigError, FitConfig, PipelineConfig, deep_merge, read_yaml, validate

ROOT = Path(__file__).resolve().parents[1]


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="train.epochz"):
        validate(FitConfig, {"train": {"epochz": 3}})


def test_bad_value_is_named():
    with pytest.raises(ConfigError, match="train.epochs"):
        validate(FitConfig, {"train": {"epochs": 0}})


def test_model_kind_selects_the_model_config():
    cfg = validate(FitConfig, {"model": {"kind": "image", "spatial_dims": 3}})
    assert cfg.model.spatial_dims == 3


def test_bad_yaml_names_the_file_and_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  epochs: [1,\n")
    with pytest.raises(ConfigError, match=r"c.yaml: line \d+"):
        read_yaml(p)


def test_deep_merge_skips_none_and_merges_nested():
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "c": 3}, "d": None}) == {"a": {"b": 1, "c": 3}}


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    FitConfig.model_validate(yaml.safe_load(path.read_text()) or {})


@pytest.mark.parametrize("path", sorted((ROOT / "pipelines").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_pipelines_validate(path):
    PipelineConfig.model_validate(yaml.safe_load(path.read_text()))

"""configs/tabular.yaml documents the defaults: it must validate and agree with config.py."""

from __future__ import annotations

from pathlib import Path

import yaml

from synthgen.config import FitConfig, TabularModelConfig, TrainConfig

YAML = Path(__file__).resolve().parents[2] / "configs" / "tabular.yaml"


def test_tabular_yaml_validates_and_matches_the_defaults():
    config = FitConfig.model_validate(yaml.safe_load(YAML.read_text()))
    assert config.model == TabularModelConfig()
    assert config.train == TrainConfig()
    assert config == FitConfig(model=TabularModelConfig())

"""pipelines/train_classifier_with_synthetic.py runs as documented on a tiny MedMNIST-style file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import synthgen

EXAMPLE = Path(__file__).resolve().parents[1] / "pipelines" / "train_classifier_with_synthetic.py"


def _example():
    spec = importlib.util.spec_from_file_location("train_classifier_with_synthetic", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shapes_npz(path: Path, size: int = 16) -> Path:
    """Bright discs (label 0) and squares (label 1) on black, 8-bit, with train/test splits."""
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, size)] * 2, indexing="ij"))
    disc, square = (grid**2).sum(0) < 0.4, (np.abs(grid) < 0.5).all(0)
    rng, arrays = np.random.default_rng(0), {}
    for split, n in (("train", 30), ("test", 12)):
        labels = (np.arange(n) % 3 == 0).astype(np.uint8)  # a third are squares
        shapes = np.where(labels[:, None, None] == 1, square, disc) * 200
        arrays[f"{split}_images"] = (shapes + rng.integers(0, 40, shapes.shape)).astype(np.uint8)
        arrays[f"{split}_labels"] = labels.reshape(-1, 1)
    np.savez_compressed(path, **arrays)
    return path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("example")
    data = _shapes_npz(root / "shapes.npz")
    synth = synthgen.fit(data, "label", epochs=1, batch_size=8, device="cpu", progress=False,
                         image_size=16, latent_dim=8, base_channels=4)  # fmt: skip
    return synth.save(root / "model"), data


def test_the_example_trains_and_reports_each_epoch(fitted, capsys):
    model, data = fitted
    code = _example().main(["--model", str(model), "--data", str(data), "--share", "1=0.5",
                            "--epochs", "2"])  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == "train: 40 items, synthetic per class {'0': 0, '1': 10}"
    assert [line.split(":")[0] for line in out[1:]] == ["epoch 1", "epoch 2"]
    assert all("test balanced accuracy" in line for line in out[1:])


def test_a_bad_share_is_one_line_and_status_2(fitted, capsys):
    model, data = fitted
    code = _example().main(["--model", str(model), "--data", str(data), "--share", "2=0.5"])
    assert code == 2
    err = capsys.readouterr().err
    assert err == "error: synthetic_share names class '2', which the real data lacks; classes: 0, 1\n"

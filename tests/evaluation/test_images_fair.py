"""Like with like: a fill sample against real images in its own class mix; TSTR only on a set
holding every class; classic augmentation flips left-right only."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.evaluation.images import evaluate_images
from synthgen.evaluation.images.augment import ClassicAugment
from synthgen.evaluation.images.mix import class_mix_indices
from synthgen.evaluation.images.utility import choose_arms
from synthgen.models.imaging.synthesizer import left_right_axis


def test_class_mix_draw_matches_the_sample_shares():
    real = np.array(["a"] * 100 + ["b"] * 20)
    idx = class_mix_indices(real, np.array(["b"] * 30))
    assert set(real[idx]) == {"b"} and len(idx) == 20            # fill sample: minority only
    idx = class_mix_indices(real, np.array(["a", "b"] * 10))      # balanced sample
    assert (real[idx] == "a").sum() == (real[idx] == "b").sum() == 20
    assert len(np.unique(idx)) == len(idx)                        # no image twice


def _blobs(rng, label, n, size=16):
    """Class "a": bright left half, "b": bright right half, with noise."""
    x = np.full((n, 1, size, size), -0.8, np.float32)
    half = slice(0, size // 2) if label == "a" else slice(size // 2, size)
    x[:, :, :, half] = 0.6
    return np.clip(x + 0.2 * rng.standard_normal(x.shape).astype(np.float32), -1, 1)


def test_fill_sample_is_compared_with_its_own_class():
    rng = np.random.default_rng(0)
    train = np.concatenate([_blobs(rng, "a", 90), _blobs(rng, "b", 30)])
    train_y = ["a"] * 90 + ["b"] * 30
    test = np.concatenate([_blobs(rng, "a", 40), _blobs(rng, "b", 40)])
    test_y = ["a"] * 40 + ["b"] * 40
    fill = _blobs(rng, "b", 60)  # real-like minority images, as a perfect generator would give
    balanced = np.concatenate([_blobs(rng, "a", 30), _blobs(rng, "b", 30)])
    r = evaluate_images(train, train_y, test, test_y, fill, ["b"] * 60, seeds=1, epochs=1,
                        encoder_epochs=2, tstr_x=balanced, tstr_y=["a"] * 30 + ["b"] * 30)
    m = r.metrics
    assert r.meta["options"]["mix"] == {"train": 30, "test": 40, "synthetic": 60}
    # Overall = the minority class's figures; recall is not held down by the absent majority.
    assert m["fidelity/recall_encoder"] == pytest.approx(m["fidelity/class/b/recall_encoder"])
    assert m["fidelity/recall_encoder"] > 0.5
    # The absent class is measured on the balanced draw, and TSTR trains on it (both classes).
    assert np.isfinite(m["fidelity/class/a/fd_encoder"])
    assert r.meta["options"]["stand_in_classes"] == ["a"]
    assert m["utility/cnn/balanced_accuracy/synth_only"] > 0.7
    notes = [b.text for s in r.sections for b in s.blocks if hasattr(b, "text")]
    assert any("own class proportions" in n and "balanced draw" in n for n in notes)
    assert not any("no per-class results" in n for n in notes)  # it has them, from the draw


def test_tstr_is_left_out_for_a_one_class_set():
    counts = np.array([90, 30])
    assert "synth_only" not in choose_arms(None, counts, np.array([1, 1]), None)
    both = (np.zeros((2, 1, 4, 4)), np.array([0, 1]))
    assert "synth_only" in choose_arms(None, counts, np.array([1, 1]), both)


def test_classic_augmentation_flips_the_left_right_axis_only():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 1, 4, 5, 6)).astype(np.float32)
    aug = ClassicAugment(3, seed=0, flip_axis=2, flip_prob=1.0, affine_prob=0.0,
                         intensity_prob=0.0)
    np.testing.assert_allclose(aug(x), x[:, :, ::-1], atol=1e-6)


def test_left_right_axis_per_format():
    assert left_right_axis({"source_format": "npz", "spatial_dims": 2}) == 3
    assert left_right_axis({"source_format": "nifti", "spatial_dims": 3}) == 2

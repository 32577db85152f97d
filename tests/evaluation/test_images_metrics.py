"""Array-level image metrics: each one shown to pass on like data and to fail on unlike data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from synthgen.errors import DataError
from synthgen.evaluation.images.augment import ClassicAugment
from synthgen.evaluation.images.diversity import mean_pairwise_ssim, ms_ssim_plan
from synthgen.evaluation.images.fidelity import kernel_distance
from synthgen.vision.feature_distance import frechet_distance, prdc
from synthgen.evaluation.classes import class_warnings
from synthgen.evaluation.images.inputs import check_sets
from synthgen.evaluation.images.intensity import histogram, wasserstein_1
from synthgen.evaluation.images.memorization import (
    copy_check,
    copy_p_value,
    copy_threshold,
    pixel_vectors,
    privacy_filter_images,
)
from synthgen.evaluation.images.fidelity import feature_fidelity
from synthgen.vision.classifier import layer_plan


def _gauss(n, d=16, shift=0.0, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


# -- Fréchet / KID / PRDC ------------------------------------------------------------------------
def test_frechet_matches_scipy_formula_and_mean_shift():
    a, b = _gauss(400, seed=1), _gauss(400, seed=2) @ np.diag(np.linspace(0.5, 2, 16))
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ref = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(sa + sb - 2 * linalg.sqrtm(sa @ sb).real)
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    assert frechet_distance(a, a + 3) == pytest.approx(16 * 9, rel=1e-6)


def test_kid_near_zero_for_same_distribution_and_positive_when_shifted():
    same, _ = kernel_distance(_gauss(500, seed=1), _gauss(500, seed=2), subsets=20, subset_size=300)
    far, _ = kernel_distance(_gauss(500, seed=1), _gauss(500, shift=1.0, seed=2), subsets=20,
                             subset_size=300)
    assert abs(same) < 0.05 < far


def test_prdc_high_on_like_data_zero_on_far_data():
    real = _gauss(600, seed=1)
    like = prdc(real, _gauss(600, seed=2))
    assert like["precision"] > 0.7 and like["recall"] > 0.7 and 0.7 < like["density"] < 1.3
    far = prdc(real, _gauss(600, shift=10, seed=2))
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    # a collapsed generator: one point repeated is "precise" but covers nothing
    collapsed = prdc(real, np.repeat(real[:1], 600, 0))
    assert collapsed["precision"] == 1.0 and collapsed["recall"] < 0.05 and collapsed["coverage"] < 0.05


def test_coverage_of_a_small_set_against_a_large_class_is_not_capped_by_the_sizes():
    # 200 draws against 2,000 training rows of their own distribution: against all 2,000 the
    # coverage ceiling was ~0.4 (PneumoniaMNIST normal); with an equal-size reference it is ~0.9.
    train, test, synth = _gauss(2000, seed=1), _gauss(200, seed=2), _gauss(200, seed=3)
    out = feature_fidelity(train, test, synth, kid_subsets=5)
    assert out["n_matched"] == 200
    assert out["coverage_baseline"] > 0.8 and out["coverage"] > 0.8
    assert prdc(train, test)["coverage"] < 0.5  # the old, size-capped reading
    shifted = feature_fidelity(train, test, _gauss(200, shift=1.5, seed=3), kid_subsets=5)
    assert shifted["coverage"] < 0.3 < out["coverage_baseline"]


# -- diversity -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, kernel, scales", [
    ((28, 28), 7, 3), ((64, 64), 7, 4), ((16, 16, 16), 7, 2), ((256, 256), 11, 5), ((8, 8), 7, 1),
])
def test_ms_ssim_plan_fits_monai_constraints(shape, kernel, scales):
    plan = ms_ssim_plan(shape)
    assert (plan.kernel_size, plan.scales) == (kernel, scales)
    assert sum(plan.weights) == pytest.approx(1)
    x = np.random.default_rng(0).uniform(-1, 1, (6, 1, *shape)).astype(np.float32)
    assert mean_pairwise_ssim(x, plan, pairs=10) < 0.3  # independent noise: unlike
    assert mean_pairwise_ssim(np.repeat(x[:1], 4, 0), plan, pairs=10) == pytest.approx(1, abs=1e-4)


# -- intensity -----------------------------------------------------------------------------------
def test_intensity_distance_zero_for_same_and_large_for_shifted():
    x = np.random.default_rng(0).uniform(-1, 0.5, (50, 1, 8, 8))
    assert wasserstein_1(histogram(x), histogram(x)) == 0
    assert wasserstein_1(histogram(x), histogram(x + 0.4)) == pytest.approx(0.4, abs=0.05)


# -- memorization --------------------------------------------------------------------------------
def test_copy_threshold_is_an_order_statistic():
    sims = np.arange(1, 301) / 300.0
    assert copy_threshold(sims, 0.99) == sims[-3]  # ceil(300 * 0.01) = 3rd highest


def test_copy_p_value_calibrated_under_exchangeability():
    rng = np.random.default_rng(0)
    false_alarms = 0
    for _ in range(200):
        ref, syn = rng.normal(size=300), rng.normal(size=500)
        copies = int((syn >= copy_threshold(ref)).sum())
        false_alarms += copy_p_value(copies, 500, 300, 0.99) < 0.01
    assert false_alarms <= 6  # ~1% expected at level 0.01
    assert copy_p_value(500, 500, 300, 0.99) < 1e-12


def test_pixel_vectors_give_pearson_correlation():
    x = np.random.default_rng(0).normal(size=(2, 1, 5, 5)).astype(np.float32)
    v = pixel_vectors(x)
    assert float(v[0] @ v[1]) == pytest.approx(np.corrcoef(x[0].ravel(), x[1].ravel())[0, 1], abs=1e-5)
    assert float(pixel_vectors(2 * x[:1] + 0.3)[0] @ v[0]) == pytest.approx(1, abs=1e-5)


def test_copy_check_flags_copies_not_fresh_draws():
    rng = np.random.default_rng(0)
    train, test, fresh = (rng.normal(size=(n, 64)) for n in (400, 300, 300))
    unit = lambda a: pixel_vectors(a[:, None, :, None])  # noqa: E731
    copies = copy_check("pixel", unit(train), unit(test), unit(train[:300] + 0.01 * fresh))
    assert copies.rate == 1.0 and copies.flagged
    fine = copy_check("pixel", unit(train), unit(test), unit(fresh))
    assert fine.rate < 0.05 and not fine.flagged
    assert copies.closest(2)[0][2] > 0.99


def test_privacy_filter_drops_copies_keeps_fresh_images():
    rng = np.random.default_rng(0)
    train = rng.uniform(-1, 1, (200, 1, 8, 8)).astype(np.float32)
    fresh = rng.uniform(-1, 1, (100, 1, 8, 8)).astype(np.float32)
    synth = np.concatenate([train[:50], fresh])
    keep, thr = privacy_filter_images(train, synth, test_x=rng.uniform(-1, 1, (100, 1, 8, 8)))
    assert not keep[:50].any() and keep[50:].mean() > 0.9 and thr < 0.99
    keep_loo, _ = privacy_filter_images(train, synth)  # no test set: leave-one-out on train
    assert not keep_loo[:50].any() and keep_loo[50:].mean() > 0.9
    keep_fixed, thr_fixed = privacy_filter_images(train, synth, threshold=0.9)
    assert thr_fixed == 0.9 and keep_fixed[50:].all() and not keep_fixed[:50].any()


# -- augmentation / network ----------------------------------------------------------------------
def test_classic_augment_seeded_in_range_and_identity_when_off():
    x = np.random.default_rng(0).uniform(-1, 1, (8, 1, 12, 12)).astype(np.float32)
    a, b = ClassicAugment(2, seed=3)(x), ClassicAugment(2, seed=3)(x)
    assert np.array_equal(a, b) and a.shape == x.shape and np.abs(a).max() <= 1
    assert not np.allclose(a, x)
    off = ClassicAugment(2, affine_prob=0, flip_prob=0, intensity_prob=0, noise_std=0)
    assert np.allclose(off(x), x, atol=1e-5)
    v = np.random.default_rng(0).uniform(-1, 1, (2, 1, 8, 8, 8)).astype(np.float32)
    assert ClassicAugment(3, seed=0)(v).shape == v.shape


def test_layer_plan_downsamples_to_four():
    assert layer_plan((28, 28)) == ((16, 32, 64), (2, 2, 2))
    assert layer_plan((64, 64))[0] == (16, 32, 64, 128)
    assert layer_plan((16, 16, 16)) == ((16, 32), (2, 2))


# -- input checks --------------------------------------------------------------------------------
def _sets(train=(20, 1, 8, 8), test=(20, 1, 8, 8), synth=(20, 1, 8, 8)):
    rng = np.random.default_rng(0)
    mk = lambda s: rng.uniform(-1, 1, s).astype(np.float32)  # noqa: E731
    lab = lambda n: np.array(["a", "b"] * (n // 2))  # noqa: E731
    return mk(train), lab(train[0]), mk(test), lab(test[0]), mk(synth), lab(synth[0])


def test_check_sets_rejects_mismatched_shapes_with_one_line():
    tx, ty, ex, ey, sx, sy = _sets(synth=(20, 1, 8, 8, 8))
    with pytest.raises(DataError, match="synthetic images are 3D 8x8x8 .* train images are 2D 8x8"):
        check_sets(tx, ty, ex, ey, sx, sy)
    tx, ty, ex, ey, sx, sy = _sets(test=(20, 1, 16, 16))
    with pytest.raises(DataError, match="test images are 2D 16x16"):
        check_sets(tx, ty, ex, ey, sx, sy)
    with pytest.raises(DataError, match=r"scale them to \[-1, 1\]"):
        check_sets(tx * 255, ty, tx, ty, tx, ty)
    with pytest.raises(DataError, match="20 images but 3 labels"):
        check_sets(tx, ty[:3], tx, ty, tx, ty)
    with pytest.raises(DataError, match=r"shape \(20, 8, 8\)"):
        check_sets(tx[:, 0], ty, tx, ty, tx, ty)


def test_class_warnings_name_missing_synthetic_class_and_small_test_class():
    counts = {"train": {"a": 10, "b": 10}, "test": {"a": 6, "b": 6}, "synthetic": {"a": 20, "b": 0}}
    warnings, notes = class_warnings(counts, "images")
    assert any("'b' has no synthetic images" in w for w in warnings)
    assert any("'a' has 6 test images" in w for w in warnings) and notes == []


def test_check_sets_refuses_unknown_labels():
    tx, ty, ex, ey, sx, sy = _sets()
    with pytest.raises(DataError, match=r"synthetic labels \['c'\]"):
        check_sets(tx, ty, ex, ey, sx, np.array(["c"] * 20))

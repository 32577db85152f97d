"""Image metrics on real chest X-rays (PneumoniaMNIST 28x28): they pass real data, fail fakes.

The official MedMNIST test split comes from other patients than train/val (its FD to train is
several times the val one), so the pool is shuffled into exchangeable splits, as synthgen's own
splitter makes them. "Unseen" images play a generator that samples the real distribution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthgen.evaluation.images import evaluate_images
from synthgen.evaluation import Severity
from synthgen.report import write_report
from synthgen.evaluation.images.detection import detection_auc
from synthgen.evaluation.images.features import fit_encoder, random_encoder, standardise
from synthgen.evaluation.images.fidelity import feature_fidelity
from synthgen.evaluation.images.memorization import copy_check, pixel_vectors, unit_rows

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "pneumoniamnist.npz"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} not present")


@pytest.fixture(scope="module")
def xray():
    d = np.load(DATA)
    x = np.concatenate([d[f"{s}_images"] for s in ("train", "val", "test")])
    y = np.concatenate([d[f"{s}_labels"].ravel() for s in ("train", "val", "test")])
    x = (x.astype(np.float32) / 127.5 - 1)[:, None]
    y = np.where(y == 1, "pneumonia", "normal")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    cut = {"train": slice(0, 1000), "test": slice(1000, 1300), "unseen": slice(1300, 1600)}
    return {k: (x[s], y[s]) for k, s in cut.items()}


@pytest.fixture(scope="module")
def spaces(xray):
    tx, ty = xray["train"]
    enc = fit_encoder(tx, (ty == "pneumonia").astype(int), 2, epochs=3, seed=0)
    return {"encoder": enc, "random": random_encoder(tx.shape[1:], seed=0)}


def _fidelity(spaces, xray, synth):
    out = {}
    for name, sp in spaces.items():
        ftr, fte, fsy = standardise(sp(xray["train"][0]), sp(xray["test"][0]), sp(synth))
        out[name] = feature_fidelity(ftr, fte, fsy, repeats=1, kid_subsets=10)
    return out


def _copies(spaces, xray, synth):
    tx, ex = xray["train"][0], xray["test"][0]
    pix = copy_check("pixel", pixel_vectors(tx), pixel_vectors(ex), pixel_vectors(synth))
    f = standardise(spaces["encoder"](tx), spaces["encoder"](ex), spaces["encoder"](synth))
    enc = copy_check("encoder", *(unit_rows(a) for a in f))
    return pix, enc


def test_training_images_as_synthetic_are_flagged_as_copies(spaces, xray):
    synth = xray["train"][0][:300]
    for chk in _copies(spaces, xray, synth):
        assert chk.rate > 0.95, chk.space
        assert chk.flagged
        assert chk.closest(1)[0][2] == pytest.approx(1.0, abs=1e-4)


def test_unseen_real_images_match_the_real_baseline(spaces, xray):
    synth = xray["unseen"][0]
    fid = _fidelity(spaces, xray, synth)
    for space, m in fid.items():
        # two real samples of 300: FD varies ~2x between draws, nowhere near the fakes' 50x+
        assert m["fd"] < 2.5 * m["fd_baseline"], space
        assert m["precision"] > 0.7 and m["recall"] > 0.7, space
        assert abs(m["precision"] - m["precision_baseline"]) < 0.1, space
    for chk in _copies(spaces, xray, synth):
        assert chk.rate < 0.05 and not chk.flagged, chk.space


@pytest.mark.parametrize("kind", ["uniform", "shuffled"])
def test_noise_is_far_from_real(spaces, xray, kind):
    rng = np.random.default_rng(1)
    real = xray["unseen"][0]
    if kind == "uniform":
        synth = rng.uniform(-1, 1, real.shape).astype(np.float32)
    else:  # same intensities as real X-rays, structure destroyed
        synth = np.stack([rng.permutation(im.ravel()).reshape(im.shape) for im in real])
    for space, m in _fidelity(spaces, xray, synth).items():
        assert m["fd"] > 20 * m["fd_baseline"], space
        assert m["kid"] > 10 * max(m["kid_baseline"], 1e-3), space
        assert m["precision"] < 0.05 and m["coverage"] < 0.05, space


def _box_blur(x: np.ndarray) -> np.ndarray:
    """A 3x3 box blur of 28 px images (edges repeated)."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    return sum(padded[..., i:i + 28, j:j + 28] for i in range(3) for j in range(3)) / 9


def test_detector_cannot_tell_unseen_real_x_rays_but_sees_blur_at_once(xray):
    """The realism check's two ends: real vs real reads about 0.5; X-rays blurred by a 3x3 box
    (the same anatomy, the fine texture gone, as GAN blobs lack it) close to 1."""
    tx, ty = xray["train"]
    ux, uy = xray["unseen"]
    same = detection_auc(tx, ty, ux, uy, ["normal", "pneumonia"])
    assert abs(same.auc - 0.5) < 0.12 and set(same.per_class) == {"normal", "pneumonia"}
    blurred = _box_blur(ux)
    blur = detection_auc(tx, ty, blurred, uy, ["normal", "pneumonia"])
    assert blur.auc > 0.9 and min(blur.per_class.values()) > 0.85, blur
    # a class with too few images on a side gets no figure, and the pooled AUC leaves it out
    few = detection_auc(tx, ty, blurred[:40], np.array(["normal"] * 37 + ["pneumonia"] * 3),
                        ["normal", "pneumonia"])
    assert set(few.per_class) == {"normal"} and few.n_per_class == {"normal": 37}


def test_realistic_features_do_not_save_images_a_detector_tells_apart(xray):
    """Fidelity is judged on the detector too: blurred real X-rays keep the encoder's class
    features (Fréchet distance near the baseline) yet read 'poor' because a CNN spots them."""
    tx, ty = xray["train"]
    ex, ey = xray["test"]
    ux, uy = xray["unseen"]
    blurred = _box_blur(ux)
    result = evaluate_images(tx[:600], ty[:600], ex[:200], ey[:200], blurred, uy, seeds=0,
                             encoder_epochs=2)
    m, verdict = result.metrics, result.verdicts["fidelity"]
    assert m["fidelity/detection_auc"] > 0.9
    assert abs(m["fidelity/detection_auc_baseline"] - 0.5) < 0.15
    assert np.isfinite(m["fidelity/class/pneumonia/detection_auc"])
    assert verdict.severity is Severity.BAD and verdict.text.startswith("poor: a CNN"), verdict.text


def test_evaluate_images_on_a_memorizing_generator(xray, tmp_path):
    tx, ty = xray["train"]
    ex, ey = xray["test"]
    idx = np.random.default_rng(0).choice(len(tx), 300, replace=False)
    result = evaluate_images(tx[:600], ty[:600], ex[:200], ey[:200], tx[idx[idx < 600]],
                             ty[idx[idx < 600]], seeds=2, epochs=2, encoder_epochs=2)
    assert result.verdicts["memorization"].severity is Severity.BAD
    assert result.metrics["memorization/copy_rate_pixel"] > 0.95
    assert result.metrics["fidelity/fd_encoder"] < result.metrics["fidelity/fd_encoder_baseline"]
    for key in ("utility/cnn/balanced_accuracy/gain_real_plus_synth",
                "utility/cnn/balanced_accuracy/gain_real_plus_synth_low",
                "utility/cnn/auroc/real_plus_augment", "diversity/ms_ssim_synthetic",
                "fidelity/class/pneumonia/fd_encoder_baseline"):
        assert np.isfinite(result.metrics[key]), key
    assert {"fidelity", "samples", "memorization", "utility", "training"} <= {
        s.key for s in result.sections}
    html = write_report(result, tmp_path)["report"].read_text()
    assert "Closest synthetic" in html and html.count("data:image/png;base64") >= 6


def test_collapsed_generator_fails_diversity_and_recall(xray):
    tx, ty = xray["train"]
    ex, ey = xray["test"]
    rng = np.random.default_rng(0)
    # one real image per class, repeated with faint noise: looks real, has no variety
    modes = {c: tx[np.flatnonzero(ty == c)[0]] for c in ("normal", "pneumonia")}
    sy = np.array(["normal", "pneumonia"] * 100)
    sx = np.stack([modes[c] for c in sy]) + rng.normal(0, 0.02, (200, 1, 28, 28))
    result = evaluate_images(tx[:600], ty[:600], ex[:200], ey[:200], np.clip(sx, -1, 1), sy,
                             seeds=0, encoder_epochs=2)
    m = result.metrics
    assert result.verdicts["diversity"].severity is Severity.CAUTION
    assert result.verdicts["diversity"].text.startswith("weak")
    assert m["diversity/ms_ssim_synthetic"] > m["diversity/ms_ssim_real"] + 0.2
    assert m["fidelity/recall_encoder"] < 0.2 < m["fidelity/recall_encoder_baseline"]
    assert m["fidelity/coverage_encoder"] < 0.2


def test_noisy_generator_is_wider_than_real_not_diverse(xray):
    tx, ty = xray["train"]
    ex, ey = xray["test"]
    rng = np.random.default_rng(0)
    # real images under heavy noise: "more varied" than real, but off the real images' manifold
    sx = np.clip(tx[600:800] + rng.normal(0, 0.6, (200, 1, 28, 28)), -1, 1)
    result = evaluate_images(tx[:600], ty[:600], ex[:200], ey[:200], sx, ty[600:800],
                             seeds=0, encoder_epochs=2)
    m = result.metrics
    assert m["diversity/ms_ssim_synthetic"] < m["diversity/ms_ssim_real"] - 0.15
    assert result.verdicts["diversity"].severity is Severity.CAUTION
    assert result.verdicts["diversity"].text.startswith("wider than real")


def test_test_images_in_the_synthetic_set_are_reported_as_leakage(xray):
    tx, ty = xray["train"]
    ex, ey = xray["test"]
    result = evaluate_images(tx[:400], ty[:400], ex[:200], ey[:200], ex[:100], ey[:100],
                             seeds=0, encoder_epochs=1)
    assert result.metrics["memorization/test_copy_share"] == 1.0
    assert any("test split leaked" in w for w in result.warnings)

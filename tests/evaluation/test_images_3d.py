"""The image evaluation end to end on small 3D phantoms (spheres vs cubes, 16^3)."""

from __future__ import annotations

import numpy as np

from synthgen.evaluation.images import evaluate_images
from synthgen.evaluation import Severity
from synthgen.report import write_report


def phantoms(n: int, seed: int, side: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Half spheres, half cubes of random size, place and brightness on a dark noisy field."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij")).astype(np.float32)
    x = np.empty((n, 1, side, side, side), np.float32)
    y = np.array(["sphere", "cube"] * (n // 2))
    for i, label in enumerate(y):
        centre = side / 2 + rng.uniform(-2, 2, 3)
        size = rng.uniform(3, 5)
        d = grid - centre[:, None, None, None]
        inside = (np.sqrt((d**2).sum(0)) if label == "sphere" else np.abs(d).max(0)) <= size
        x[i, 0] = np.where(inside, rng.uniform(0.3, 0.9), -0.8)
    x += rng.normal(0, 0.05, x.shape).astype(np.float32)
    return np.clip(x, -1, 1), y


def test_3d_phantoms_end_to_end_and_report(tmp_path):
    tx, ty = phantoms(80, seed=0)
    ex, ey = phantoms(40, seed=1)
    sx, sy = phantoms(40, seed=2)  # a perfect generator: new draws of the same phantoms
    steps = []
    result = evaluate_images(tx, ty, ex, ey, sx, sy, seeds=2, epochs=2, encoder_epochs=3,
                             ssim_pairs=20, progress=steps.append,
                             history=[{"epoch": 1, "loss_g": 2.0, "loss_d": 1.0},
                                      {"epoch": 2, "loss_g": 1.5, "loss_d": 1.1}])
    m = result.metrics
    assert result.meta["modality"] == "image3d" and "2 scales" in result.meta["ms_ssim"]
    assert result.verdicts["memorization"].severity is Severity.GOOD
    assert m["fidelity/fd_random"] < 3 * m["fidelity/fd_random_baseline"]
    assert np.isfinite(m["utility/cnn/balanced_accuracy/gain_real_plus_synth"])
    assert steps and result.warnings == []
    paths = write_report(result, tmp_path)
    html = paths["report"].read_text()
    for title in ("Fidelity", "Samples and diversity", "Memorization", "Downstream gains",
                  "Training losses", "Feature encoder training loss", "Class counts"):
        assert title in html, title


def test_3d_noise_and_missing_class_are_reported():
    tx, ty = phantoms(60, seed=0)
    ex, ey = phantoms(30, seed=1)
    rng = np.random.default_rng(3)
    sx = rng.uniform(-1, 1, (20, 1, 16, 16, 16)).astype(np.float32)
    sy = np.array(["cube"] * 20)
    result = evaluate_images(tx, ty, ex, ey, sx, sy, seeds=0, encoder_epochs=2, ssim_pairs=10)
    assert any("'sphere' has no synthetic images" in w for w in result.warnings)
    assert result.verdicts["fidelity"].severity is Severity.BAD
    assert "utility" not in result.verdicts  # seeds=0 skips the classifiers
    assert np.isnan(result.metrics["fidelity/class/sphere/fd_encoder"])
    assert result.metrics["fidelity/class/cube/fd_encoder"] > 0

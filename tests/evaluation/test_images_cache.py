"""Proportionate image evaluation: the trained encoder and the real-only arms are kept in the run
folder and reused while the real images and settings are the same, refused when they change;
the synthetic share is chosen on real train images only; seeds stop early only on a narrow
interval. Tiny images, one epoch: seconds, not minutes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from synthgen.evaluation.images import evaluate_images
from synthgen.evaluation.images import utility as image_utility
from synthgen.evaluation.images.cache import ARMS_FILE, ENCODER_FILE
from synthgen.evaluation.images.utility import MIN_SEEDS, settled
from synthgen.evaluation.share import choose_share


def _blobs(rng, label, n, size=12):
    """Class "a": bright left half, "b": bright right half, with noise."""
    x = np.full((n, 1, size, size), -0.8, np.float32)
    half = slice(0, size // 2) if label == "a" else slice(size // 2, size)
    x[:, :, :, half] = 0.6
    return np.clip(x + 0.3 * rng.standard_normal(x.shape).astype(np.float32), -1, 1)


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(0)
    make = lambda na, nb: (np.concatenate([_blobs(rng, "a", na), _blobs(rng, "b", nb)]),  # noqa: E731
                           np.array(["a"] * na + ["b"] * nb))
    return {"train": make(60, 20), "test": make(30, 30), "synth": make(0, 40)}


def _evaluate(sets, cache_dir, train=None, **kw):
    tx, ty = train or sets["train"]
    opts = dict(seeds=2, epochs=1, encoder_epochs=1, ssim_pairs=10, cache_dir=cache_dir)
    return evaluate_images(tx, ty, *sets["test"], *sets["synth"], **(opts | kw))


def _numbers(result):
    return {k: v for k, v in result.metrics.items() if not k.startswith("time/")}


def test_second_evaluate_reuses_the_encoder_and_real_arms_with_the_same_numbers(sets, tmp_path):
    first = _evaluate(sets, tmp_path)
    assert first.meta["options"]["encoder_cache"] == "trained and cached"
    assert first.meta["options"]["real_arms_cache"].startswith("0 reused")
    assert (tmp_path / ENCODER_FILE).is_file() and (tmp_path / ARMS_FILE).is_file()
    second = _evaluate(sets, tmp_path)
    assert second.meta["options"]["encoder_cache"] == "loaded"
    assert second.meta["options"]["real_arms_cache"].endswith("0 trained")
    np.testing.assert_equal(_numbers(second), _numbers(first))  # cached = retrained, NaN too


def test_changed_train_images_or_settings_refuse_the_cache(sets, tmp_path):
    _evaluate(sets, tmp_path)
    tx, ty = sets["train"]
    changed = tx.copy()
    changed[0, 0, 0, 0] += 0.01  # one pixel of one image
    again = _evaluate(sets, tmp_path, train=(changed, ty))
    assert again.meta["options"]["encoder_cache"] == "retrained"
    assert "made from other images" in again.meta["options"]["real_arms_cache"]
    other_settings = _evaluate(sets, tmp_path, train=(changed, ty), encoder_epochs=2)
    assert other_settings.meta["options"]["encoder_cache"] == "retrained"
    # the cache now holds the latest encoder; the same call again loads it
    assert _evaluate(sets, tmp_path, train=(changed, ty), encoder_epochs=2
                     ).meta["options"]["encoder_cache"] == "loaded"


def test_a_damaged_cache_is_rebuilt_not_trusted(sets, tmp_path):
    _evaluate(sets, tmp_path, seeds=0)
    (tmp_path / ENCODER_FILE).write_bytes(b"not safetensors")
    assert _evaluate(sets, tmp_path, seeds=0).meta["options"]["encoder_cache"] == "retrained"


def test_no_cache_dir_writes_nothing(sets, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = _evaluate(sets, None)
    assert r.meta["options"]["encoder_cache"] == "trained" and not list(tmp_path.iterdir())


def test_images_the_chooser_never_receives_test_images(sets, monkeypatch):
    seen = []

    def spy(real_x, real_y, synth_x, synth_y, fit_predict, **kw):
        seen.append(real_x)

        def recording(x, y, x_val, seed):
            seen.append(x_val)
            return fit_predict(x, y, x_val, seed)

        return choose_share(real_x, real_y, synth_x, synth_y, recording, **kw)

    monkeypatch.setattr(image_utility, "choose_share", spy)
    r = _evaluate(sets, None, seeds=1)
    key = lambda im: im.tobytes()  # noqa: E731
    train = {key(im) for im in sets["train"][0]}
    test = {key(im) for im in sets["test"][0]}
    images = [key(im) for batch in seen for im in batch]
    assert len(seen) > 1 and set(images) <= train and not set(images) & test
    assert r.metrics["utility/cnn/chosen_share"] in (0.0, 0.25, 0.5, 1.0)
    table = next(t for s in r.sections if s.key == "utility" for t in s.tables
                 if t.title.startswith("Synthetic share chosen"))
    assert [row[0] for row in table.rows] == ["none", "25%", "50%", "all"]


def test_seeds_stop_early_only_when_the_judged_interval_is_narrow():
    same = {"real": {"balanced_accuracy": [0.8, 0.7, 0.9]},
            "real_plus_chosen": {"balanced_accuracy": [0.8, 0.7, 0.9]}}
    assert settled(same, "real_plus_chosen", MIN_SEEDS, 5)  # share 0 chosen: gain 0 exactly
    assert not settled(same, "real_plus_chosen", MIN_SEEDS, MIN_SEEDS)  # nothing left to skip
    two = {k: {"balanced_accuracy": v["balanced_accuracy"][:2]} for k, v in same.items()}
    assert not settled(two, "real_plus_chosen", 2, 5)  # too few seeds
    spread = {"real": same["real"], "real_plus_chosen": {"balanced_accuracy": [0.82, 0.69, 0.93]}}
    assert not settled(spread, "real_plus_chosen", MIN_SEEDS, 5)
    up = {"real": same["real"], "real_plus_chosen": {"balanced_accuracy": [0.85, 0.75, 0.95]}}
    assert settled(up, "real_plus_chosen", MIN_SEEDS, 5)  # a sure, constant gain: known exactly


def test_workflow_evaluate_caches_the_encoder_in_the_run_folder(workdir):
    """A real image run through the workflow: the second evaluate loads the encoder."""
    from synthgen import workflow
    from synthgen.config import EvalConfig, FitConfig, SampleConfig, TrackingConfig

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    disc = (yy - 7.5) ** 2 + (xx - 7.5) ** 2 < 25
    labels = np.array([0, 0, 1] * 14, dtype=np.uint8)
    images = np.stack([np.where(disc if k else ~disc, 200, 30) + rng.integers(0, 20, (16, 16))
                       for k in labels])
    np.savez(workdir / "scans.npz", train_images=images.astype(np.uint8),
             train_labels=labels[:, None])
    off = TrackingConfig(enabled=False)
    config = FitConfig.model_validate(yaml.safe_load(f"""
        name: tiny
        data: {{path: {workdir / 'scans.npz'}, condition: label}}
        model: {{kind: image, spatial_dims: 2, image_size: 16, latent_dim: 8, base_channels: 4}}
        train: {{epochs: 1, batch_size: 8, seed: 0, device: cpu, progress: false}}
        split: {{holdout: 0.2, test: 0.25, seed: 0}}
        tracking: {{enabled: false}}
    """))
    fitted = workflow.fit(config)
    workflow.sample(fitted.run_dir, SampleConfig(balance="fill", seed=0), tracking=off)
    eval_config = EvalConfig(seeds=1, image_epochs=1, image_encoder_epochs=1)
    first = workflow.evaluate(fitted.run_dir, config=eval_config, tracking=off,
                              report_dir=workdir / "r1")
    second = workflow.evaluate(fitted.run_dir, config=eval_config, tracking=off,
                               report_dir=workdir / "r2")
    assert first.result.meta["options"]["encoder_cache"] == "trained and cached"
    assert second.result.meta["options"]["encoder_cache"] == "loaded"
    run_dir = Path(fitted.run_dir)
    assert (run_dir.parent / f".{run_dir.name}.evaluation-cache" / ENCODER_FILE).is_file()
    assert not (run_dir / "cache").exists()  # never in the folder that is logged and shared
    np.testing.assert_equal(_numbers(second.result), _numbers(first.result))


def test_images_staged_on_the_device_train_like_batches_copied_per_step(sets):
    """The accelerator path (images moved once), run on the CPU: the same training."""
    from synthgen.vision.classifier import build_classifier
    from synthgen.vision.training import train_classifier

    x, y = sets["train"][0], (sets["train"][1] == "b").astype(np.int64)
    curves = []
    for stage in (False, True):
        net = build_classifier(x.shape[1:], 2, seed=0)
        curves.append(train_classifier(net, x, y, epochs=2, seed=0, batch_size=16, stage=stage))
    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-4)


def test_share_none_is_not_compared_with_augmentation_as_if_it_were_synthetic():
    from synthgen.evaluation.images.utility import UtilityResult
    from synthgen.evaluation.share import ShareChoice

    ba = lambda *v: {m: list(v) for m in ("balanced_accuracy", "macro_f1", "auroc",  # noqa: E731
                                          "minority_recall")}
    scores = {"real": ba(0.8, 0.7, 0.9), "real_plus_chosen": ba(0.8, 0.7, 0.9),
              "real_plus_synth": ba(0.7, 0.6, 0.8), "real_plus_augment": ba(0.6, 0.5, 0.7)}
    for chosen, expect in ((0.0, False), (0.5, True), (1.0, False)):
        choice = ShareChoice((0.0, 0.5, 1.0), (0.8, 0.8, 0.8), chosen, (0, 5, 10), 8, 2, 1)
        u = UtilityResult(list(scores), "b", scores, choice=choice, seeds_asked=3)
        gains = u.gains("balanced_accuracy")
        assert ("real_plus_chosen_vs_augment" in gains) is expect
        assert "real_plus_synth_vs_augment" in gains
        assert u.summary()["chosen_share"] == chosen

"""Image GAN checkpoints survive a real process dying: kill -9, or SIGINT while it trains.

A child process fits the tiny 2D set with a checkpoint every epoch; it is killed (or asked to
stop) mid-fit, and the fit resumed here must end bit for bit where an uninterrupted one does.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from synthgen.config import ImageModelConfig, TrainConfig
from synthgen.models.imaging.synthesizer import ImageSynthesizer
from tiny_images import tiny_dataset
from training_child import interrupt_after_epoch, kill_after_epoch, start_fit

EPOCHS = 5


def data():
    torch.manual_seed(0)  # the dataset's noise: the same in the child and here
    return tiny_dataset(n=24)


def fit(folder=None, resume=False, callback=None) -> ImageSynthesizer:
    model = ImageModelConfig(spatial_dims=2, image_size=16, latent_dim=8, base_channels=4, r1_gamma=1.0)
    train = TrainConfig(epochs=EPOCHS, batch_size=8, seed=11, progress=False, device="cpu", checkpoint_every=1)
    return ImageSynthesizer(model, train).fit(data(), callback=callback, checkpoint_dir=folder, resume=resume)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One thread here as in the child (SYNTHGEN_THREADS, which fit honours): bit-identical sums."""
    before, setting = torch.get_num_threads(), os.environ.get("SYNTHGEN_THREADS")
    os.environ["SYNTHGEN_THREADS"] = "1"
    yield
    if setting is None:
        del os.environ["SYNTHGEN_THREADS"]
    else:
        os.environ["SYNTHGEN_THREADS"] = setting
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def uninterrupted() -> ImageSynthesizer:
    return fit()


def assert_same_state(a: ImageSynthesizer, b: ImageSynthesizer) -> None:
    assert a.history_ == b.history_
    for (name, x), y in zip(a.generator_.state_dict().items(), b.generator_.state_dict().values()):
        assert torch.equal(x, y), name


def start_child(folder: Path) -> subprocess.Popen:
    return start_fit(__file__, (str(folder),))


def checkpoints(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_kill_9_then_resume_ends_like_an_uninterrupted_fit(tmp_path, uninterrupted):
    # epoch 2's checkpoint is on disk before the callback runs
    assert kill_after_epoch(start_child(tmp_path), 2) == -signal.SIGKILL
    assert "step-00000006" in checkpoints(tmp_path)  # 3 steps an epoch
    assert_same_state(fit(tmp_path, resume=True), uninterrupted)


def test_sigint_to_a_running_fit_saves_a_checkpoint_and_exits(tmp_path, uninterrupted):
    status, err = interrupt_after_epoch(start_child(tmp_path), 1)
    assert status != 0 and "KeyboardInterrupt" in err
    assert "stopping after this step to save a checkpoint" in err
    assert checkpoints(tmp_path) == ["step-00000003", "step-00000004"]  # epoch 1, then 1 step more
    assert_same_state(fit(tmp_path, resume=True), uninterrupted)

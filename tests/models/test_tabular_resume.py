"""Tabular checkpoints: a resumed fit ends bit for bit where an uninterrupted one does.

Interruptions tested: stopping after an epoch's checkpoint, Ctrl-C mid-epoch (in-process and
as a real SIGINT to another process) and a real ``kill -9``. Checkpoints for other data or
settings are refused in one line; an unreadable newest checkpoint falls back to the previous.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.errors import UserError
from synthgen.models.checkpoints import TENSORS
from synthgen.models.tabular.synthesizer import TabularSynthesizer
from training_child import interrupt_after_epoch, kill_after_epoch, start_fit

TINY = TabularModelConfig(embedding_dim=8, generator_dims=[16, 16], discriminator_dims=[16], pac=4, max_modes=3)
COUNTS = {"benign": 7, "malignant": 9}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Same thread count in every fit (and in the subprocesses): sums are then bit-identical."""
    import synthgen.models.tabular.synthesizer as module

    before, original = torch.get_num_threads(), module.configure_threads
    module.configure_threads = lambda: torch.set_num_threads(1) or 1
    yield
    module.configure_threads = original
    torch.set_num_threads(before)


def table(n: int = 160) -> pd.DataFrame:
    """Small and mixed: a continuous column with gaps, a categorical one, the class label."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "size": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(2, 0.4, n)),
        "site": rng.choice(["left", "right", "both"], n),
        "label": np.where(rng.random(n) < 0.3, "malignant", "benign"),
    })


def settings(epochs: int) -> TrainConfig:
    # 160 rows / batch 40 = 4 steps per epoch
    return TrainConfig(epochs=epochs, batch_size=40, seed=5, device="cpu", progress=False, checkpoint_every=2)


def fit(epochs: int, folder=None, resume=False, callback=None, model=TINY, df=None) -> TabularSynthesizer:
    return TabularSynthesizer(model, settings(epochs)).fit(
        table() if df is None else df, "label", checkpoint_dir=folder, resume=resume, callback=callback
    )


def assert_same_state(a: TabularSynthesizer, b: TabularSynthesizer) -> None:
    ta, tb = a.state_tensors(), b.state_tensors()
    assert ta.keys() == tb.keys()
    assert all(torch.equal(ta[k], tb[k]) for k in ta), "generator weights differ"
    assert a.history_ == b.history_
    assert a.generate(COUNTS, seed=3).equals(b.generate(COUNTS, seed=3))


@pytest.fixture(scope="module")
def uninterrupted() -> TabularSynthesizer:
    return fit(6)


def checkpoints(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_resume_after_a_checkpoint_ends_like_an_uninterrupted_fit(tmp_path, uninterrupted):
    fit(4, tmp_path)  # as if killed right after epoch 4's checkpoint
    assert checkpoints(tmp_path) == ["step-00000008", "step-00000016"]  # the newest two kept
    resumed = fit(6, tmp_path, resume=True)
    assert_same_state(resumed, uninterrupted)
    assert checkpoints(tmp_path) == ["step-00000016", "step-00000024"]


def test_ctrl_c_mid_epoch_saves_that_step_and_resumes_exactly(tmp_path, uninterrupted):
    def press_ctrl_c(epoch, _):
        if epoch == 3:  # the flag is honoured at the next step boundary: epoch 4, step 1
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        fit(6, tmp_path, callback=press_ctrl_c)
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is put back
    assert checkpoints(tmp_path)[-1] == "step-00000013"  # 3 epochs x 4 steps + 1
    assert_same_state(fit(6, tmp_path, resume=True), uninterrupted)


def test_resume_with_more_epochs_continues_training(tmp_path, uninterrupted):
    fit(6, tmp_path)
    longer = fit(8, tmp_path, resume=True)
    assert longer.history_["loss_d"][:6] == uninterrupted.history_["loss_d"]
    assert len(longer.history_["loss_d"]) == 8


def test_a_checkpoint_of_other_data_or_settings_is_refused(tmp_path):
    fit(2, tmp_path)
    with pytest.raises(UserError, match="training data differs"):
        fit(4, tmp_path, resume=True, df=table().iloc[:-1])
    with pytest.raises(UserError, match=r"model\.pac was 4, now 2"):
        fit(4, tmp_path, resume=True, model=TINY.model_copy(update={"pac": 2}))
    with pytest.raises(UserError, match="holds checkpoints of an earlier fit"):
        fit(4, tmp_path)  # starting afresh over them would mix two runs' checkpoints


def test_an_unreadable_newest_checkpoint_falls_back_to_the_previous(tmp_path, uninterrupted):
    fit(4, tmp_path)
    (tmp_path / "step-00000016" / TENSORS).write_bytes(b"truncated")
    (tmp_path / ".step-00000024.x1y2.tmp").mkdir()  # what a kill during a write leaves behind
    with pytest.warns(UserWarning, match="unreadable checkpoint skipped"):
        resumed = fit(6, tmp_path, resume=True)
    assert_same_state(resumed, uninterrupted)


def test_resume_without_a_checkpoint_starts_afresh(tmp_path, uninterrupted):
    assert_same_state(fit(6, tmp_path / "new", resume=True), uninterrupted)


# -- real processes ----------------------------------------------------------------------------

def start_child(folder: Path) -> subprocess.Popen:
    return start_fit(__file__, (6, str(folder)))


def test_kill_9_then_resume_ends_like_an_uninterrupted_fit(tmp_path, uninterrupted):
    # epoch 2's checkpoint is written before the callback runs
    assert kill_after_epoch(start_child(tmp_path), 2) == -signal.SIGKILL
    assert "step-00000008" in checkpoints(tmp_path)
    assert_same_state(fit(6, tmp_path, resume=True), uninterrupted)


def test_sigint_to_a_running_fit_saves_a_checkpoint_and_exits(tmp_path, uninterrupted):
    status, err = interrupt_after_epoch(start_child(tmp_path), 1)
    assert status != 0 and "KeyboardInterrupt" in err
    assert "stopping after this step to save a checkpoint" in err
    assert checkpoints(tmp_path) == ["step-00000005"]  # epoch 1 (4 steps) + 1 step
    assert_same_state(fit(6, tmp_path, resume=True), uninterrupted)

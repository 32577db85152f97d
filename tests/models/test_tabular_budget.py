"""The tabular fit's training budget and snapshot selection (issue 9): it trains for the steps it
was given, scores EMA snapshots on validation rows carved out of train, keeps the best one,
stops when scores stall, and its validation score improves as it trains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.data.schema import DISCRETE_KINDS
from synthgen.models.tabular.synthesizer import TabularSynthesizer
from synthgen.models.tabular.trainer import plan_budget
from synthgen.models.tabular.validation import SnapshotScorer, carve_validation
from tiny_tables import clinic

SMALL = TabularModelConfig(embedding_dim=32, generator_dims=[64, 64], discriminator_dims=[64, 64],
                           pac=5, max_modes=3, generator_lr=1e-3, discriminator_lr=1e-3)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_budget_is_steps_not_epochs():
    model, train = TabularModelConfig(), TrainConfig(max_steps=3000)
    small = plan_budget(343, model, train)  # a 343-row table still gets its 3000 steps
    assert small.total_steps == 3000 and small.batch == 85 and small.round_steps == 100
    big = plan_budget(100_000, model, train)
    assert big.total_steps == 3000 and big.batch == 500
    asked = plan_budget(343, model, TrainConfig(max_steps=10, batch_size=1000))
    assert asked.batch == 343  # an explicit batch is kept, up to the table's rows
    epochs = plan_budget(1000, model, TrainConfig(epochs=60, batch_size=100))
    assert epochs.steps_per_epoch == 10 and epochs.total_steps == 600 and epochs.round_steps == 20
    timed = plan_budget(1000, model, TrainConfig(max_minutes=2))
    assert timed.total_steps is None and timed.deadline_s == 120 and timed.rounds is None


def test_tiny_table_trains_for_the_budgeted_steps():
    train = TrainConfig(max_steps=37, validate_every=10, batch_size=40, device="cpu", progress=False,
                        validation_share=0.0)
    rounds = []
    synth = TabularSynthesizer(SMALL, train).fit(clinic(120), "diagnosis", callback=lambda r, m: rounds.append(r))
    assert synth.history_["step"] == [10.0, 20.0, 30.0, 37.0]
    assert rounds == [1, 2, 3, 4]
    assert "val_score" not in synth.history_  # no validation rows: the EMA generator is kept


def test_validation_rows_come_out_of_train_stratified():
    df = clinic(400)
    fit, val = carve_validation(df, "diagnosis", 0.15, seed=0)
    assert len(val) == 60 and len(fit) == 340 and not set(fit.index) & set(val.index)
    assert abs(val["diagnosis"].eq("sick").mean() - df["diagnosis"].eq("sick").mean()) < 0.02
    assert carve_validation(df.head(100), "diagnosis", 0.15, seed=0)[1] is None  # 15 rows: noise


@pytest.fixture(scope="module")
def scored_fit():
    train = TrainConfig(max_steps=600, validate_every=75, batch_size=100, seed=0, device="cpu",
                        progress=False, patience=0)
    return TabularSynthesizer(SMALL, train).fit(clinic(400), "diagnosis")


def test_validation_score_improves_over_training(scored_fit):
    h = scored_fit.history_
    assert h["step"] == [75.0 * k for k in range(1, 9)]
    first, best = h["val_score"][0], max(h["val_score"])
    assert best > first + 0.1, h["val_score"]
    # the rows carry the label's signal: a classifier trained on them beats chance by far
    assert max(h["val_tstr"]) > 0.8, h["val_tstr"]
    assert min(h["val_detection_auc"]) < h["val_detection_auc"][0], h["val_detection_auc"]


def test_the_kept_generator_is_the_best_scoring_snapshot(scored_fit):
    df = clinic(400)
    fit, val = carve_validation(df, "diagnosis", 0.15, seed=0)
    cats = [c.name for c in scored_fit.schema_.columns if c.kind in DISCRETE_KINDS]
    names = scored_fit.schema_.names
    scorer = SnapshotScorer(val[names], "diagnosis", cats, scored_fit._rows, seed=0,
                            fit_rows=fit.sort_index()[names])  # as the fit passes them: in table order
    assert scorer(scored_fit.generator_)["val_score"] == pytest.approx(max(scored_fit.history_["val_score"]))


def test_training_stops_when_scores_stall():
    train = TrainConfig(max_steps=2000, validate_every=25, batch_size=100, seed=0, device="cpu",
                        progress=False, patience=2)
    h = TabularSynthesizer(SMALL, train).fit(clinic(400), "diagnosis").history_
    assert h["step"][-1] < 2000  # stopped early ...
    best = int(np.argmax(h["val_score"]))
    assert len(h["val_score"]) - 1 - best == 2  # ... exactly `patience` scores after the best


@pytest.mark.parametrize("option", [{"ema_decay": 0.0}, {"aux_classifier": 0.0}, {"info_loss": 1.0},
                                    {"correlation_loss": 1.0}])
def test_every_lever_can_be_switched_and_still_scores(option):
    """Each quality lever is an option; on or off, the fit trains, scores and keeps a snapshot."""
    model = SMALL.model_copy(update=option)
    train = TrainConfig(max_steps=50, validate_every=25, batch_size=100, device="cpu", progress=False)
    synth = TabularSynthesizer(model, train).fit(clinic(400), "diagnosis")
    assert len(synth.history_["val_score"]) == 2 and np.isfinite(synth.history_["loss_g"]).all()
    assert len(synth.generate({"sick": 5, "healthy": 5}, seed=0)) == 10

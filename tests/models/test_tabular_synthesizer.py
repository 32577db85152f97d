"""TabularSynthesizer: exact class counts, seeded sampling, dtypes, save/load, and that it learns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.errors import SamplingError
from synthgen.examples import breast_cancer_frame
from synthgen.models.artifact import load_model, write_model
from synthgen.models.tabular.synthesizer import TabularSynthesizer

@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny networks gain nothing from threads, and on a shared 2-core machine two OpenMP
    threads made these fits up to 10x slower; fit() calls configure_threads, so patch it."""
    import synthgen.models.tabular.synthesizer as module

    before, original = torch.get_num_threads(), module.configure_threads
    module.configure_threads = lambda: torch.set_num_threads(1) or 1
    yield
    module.configure_threads = original
    torch.set_num_threads(before)


TINY = TabularModelConfig(embedding_dim=16, generator_dims=[32, 32], discriminator_dims=[32], pac=4, max_modes=4)


def patients() -> pd.DataFrame:
    """A 200-row subset of the real breast-cancer table plus one column of every other kind."""
    rng = np.random.default_rng(0)
    base = breast_cancer_frame()[["mean_radius", "mean_texture", "worst_area", "diagnosis"]]
    df = base.sample(200, random_state=0).reset_index(drop=True)
    n = len(df)
    df["site"] = rng.choice(["left", "right", "both"], n)
    df["stage"] = pd.Categorical(rng.choice(["I", "II"], n), categories=["I", "II", "III"])
    df["visits"] = pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 12, n)), dtype="Int64")
    df["age"] = rng.integers(25, 85, n)
    df["smoker"] = rng.random(n) < 0.3
    df["biopsy_date"] = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")
    df["marker"] = np.where(rng.random(n) < 0.15, np.nan, rng.lognormal(1, 0.5, n))
    return df


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return patients()


@pytest.fixture(scope="module")
def fitted(table):
    epochs = []
    train = TrainConfig(epochs=3, batch_size=40, seed=0, device="cpu", progress=False)
    synth = TabularSynthesizer(TINY, train).fit(table, "diagnosis", callback=lambda e, m: epochs.append((e, dict(m))))
    return synth, epochs


def test_seeded_tiny_fit_pins_golden_numbers(fitted):
    """A change that shifts results the same way every run (a loss, the architecture, the
    encoder, sampling) moves these; two fits in one process agree bit for bit on one thread,
    and the tolerances are far below what a real change does."""
    synth, _ = fitted
    h = synth.history_
    np.testing.assert_allclose(h["loss_g"], [0.1246, 0.1231, 0.1113], atol=2e-3)
    np.testing.assert_allclose(h["gradient_penalty"], [0.5243, 0.4868, 0.4611], atol=2e-3)
    np.testing.assert_allclose(h["cond_loss"], [0.6388, 0.5509, 0.611], atol=2e-3)
    out = synth.generate({"benign": 3, "malignant": 3}, seed=7)
    np.testing.assert_allclose(out["mean_radius"], [13.311, 6.981, 21.285, 11.038, 6.981, 12.028], atol=0.01)
    np.testing.assert_allclose(out["worst_area"], [751.581, 1022.205, 327.095, 804.946, 841.37, 395.458], atol=0.5)
    assert out["age"].tolist() == [63, 75, 46, 63, 59, 66]
    assert out["site"].tolist() == ["left", "right", "left", "right", "both", "left"]


def test_fit_records_state_history_and_calls_back(fitted, table):
    synth, epochs = fitted
    assert synth.condition_ == "diagnosis"
    assert synth.class_counts_ == table["diagnosis"].value_counts().sort_index().to_dict()
    assert [e for e, _ in epochs] == [1, 2, 3]
    assert set(synth.history_) >= {"loss_g", "loss_d"}
    assert all(len(v) == 3 and all(np.isfinite(v)) for v in synth.history_.values())
    assert epochs[-1][1]["loss_d"] == synth.history_["loss_d"][-1]


def test_generate_gives_exact_counts_per_class(fitted):
    synth, _ = fitted
    out = synth.generate({"malignant": 37, "benign": 5})
    assert out["diagnosis"].value_counts().to_dict() == {"malignant": 37, "benign": 5}
    assert len(synth.generate({"malignant": 11})) == 11
    fill = synth.sample(balance="fill")
    counts = fill["diagnosis"].value_counts().to_dict()
    assert counts == {"malignant": synth.class_counts_["benign"] - synth.class_counts_["malignant"]}


def test_same_seed_same_rows_other_seed_other_rows(fitted):
    synth, _ = fitted
    a = synth.sample(300, balance="equal", seed=7)
    b = synth.sample(300, balance="equal", seed=7)
    c = synth.sample(300, balance="equal", seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a["mean_radius"].equals(c["mean_radius"])


def test_samples_keep_the_input_dtypes_categories_and_ranges(fitted, table):
    synth, _ = fitted
    out = synth.sample(2000, seed=1)
    assert list(out.columns) == list(table.columns)
    assert out.dtypes.to_dict() == table.dtypes.to_dict()
    assert list(out["stage"].cat.categories) == ["I", "II", "III"]
    assert set(out["site"]) <= set(table["site"])
    for name in ("mean_radius", "age", "biopsy_date"):
        assert out[name].min() >= table[name].min() and out[name].max() <= table[name].max()
    assert out["marker"].isna().any() and out["marker"].notna().any()  # missingness is modelled


def test_unknown_class_or_bad_count_is_a_sampling_error(fitted):
    synth, _ = fitted
    with pytest.raises(SamplingError, match="'maybe' was never seen"):
        synth.generate({"maybe": 3})
    with pytest.raises(SamplingError, match="count for class 'benign' must be a whole number"):
        synth.generate({"benign": -1})


def test_save_and_load_give_identical_samples(fitted, tmp_path):
    synth, _ = fitted
    json.dumps(synth.metadata(), allow_nan=False)  # JSON-safe, nothing pickled
    folder = write_model(tmp_path / "model", synth)
    loaded, doc = load_model(folder)
    assert doc.kind == "tabular" and loaded.class_counts_ == synth.class_counts_
    assert loaded.history_ == synth.history_
    pd.testing.assert_frame_equal(loaded.sample(500, seed=3), synth.sample(500, seed=3))


def test_same_training_seed_gives_the_same_model(table):
    train = TrainConfig(epochs=1, batch_size=40, seed=5, device="cpu", progress=False)
    a = TabularSynthesizer(TINY, train).fit(table, "diagnosis")
    b = TabularSynthesizer(TINY, train).fit(table, "diagnosis")
    assert a.history_ == b.history_
    pd.testing.assert_frame_equal(a.sample(100, seed=0), b.sample(100, seed=0))


def test_bf16_autocast_trains_close_to_fp32_and_samples_exact_counts(table):
    """precision=bf16 runs the autocast path CUDA takes by default (here on the CPU): the
    penalty's double backward works under it, and the losses stay near the fp32 run's."""
    def fit(precision):
        train = TrainConfig(epochs=2, batch_size=40, seed=5, device="cpu", progress=False, precision=precision)
        return TabularSynthesizer(TINY, train).fit(table, "diagnosis")

    fp32, bf16 = fit("fp32"), fit("bf16")
    assert fp32.history_ == fit("auto").history_  # auto is fp32 on the CPU
    assert bf16.history_ != fp32.history_  # bf16 did run
    for name, values in bf16.history_.items():
        np.testing.assert_allclose(values, fp32.history_[name], rtol=0.1, atol=0.05, err_msg=name)
    assert bf16.sample(classes={"malignant": 9, "benign": 4}, seed=0)["diagnosis"].value_counts().to_dict() == {
        "malignant": 9, "benign": 4}


def test_numeric_condition_comes_back_as_numbers():
    df = pd.DataFrame({"x": np.random.default_rng(0).normal(size=60), "y": [0, 1, 1] * 20})
    train = TrainConfig(epochs=1, batch_size=20, device="cpu", progress=False)
    synth = TabularSynthesizer(TINY, train).fit(df, "y")
    out = synth.generate({"0": 4, "1": 6})
    assert out["y"].dtype == df["y"].dtype and out["y"].tolist() == [0] * 4 + [1] * 6


def test_the_gan_learns_class_dependent_structure():
    """Malignant tumours are larger and mostly high grade; after a short fit, samples agree."""
    rng = np.random.default_rng(0)
    df = breast_cancer_frame()[["mean_radius", "worst_concave_points", "diagnosis"]]
    malignant = df["diagnosis"] == "malignant"
    df["grade"] = np.where(malignant ^ (rng.random(len(df)) < 0.1), "high", "low")
    model = TabularModelConfig(embedding_dim=32, generator_dims=[64, 64], discriminator_dims=[64, 64],
                               pac=5, max_modes=5, generator_lr=2e-3, discriminator_lr=2e-3)
    train = TrainConfig(epochs=30, batch_size=50, seed=0, device="cpu", progress=False)
    synth = TabularSynthesizer(model, train).fit(df, "diagnosis")
    out = synth.generate({"benign": 1000, "malignant": 1000}, seed=0)
    by_class = out.groupby("diagnosis")
    radius = by_class["mean_radius"].mean()
    real_gap = df.groupby("diagnosis")["mean_radius"].mean().diff().iloc[-1]  # ~5.3
    assert radius["malignant"] - radius["benign"] > 0.3 * real_gap
    high = by_class["grade"].apply(lambda s: (s == "high").mean())
    assert high["malignant"] > 0.7 and high["benign"] < 0.3

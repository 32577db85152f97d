"""The fast paths behind sampling and large tables give the same answers as the plain ones:
the folded generator, per-block inverse-CDF category draws, grouped condition draws, chunked
mixture-mode draws, and discrete columns restored from category indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.data.schema import category_codes, infer_schema, restore_codes, restore_column
from synthgen.models.tabular.gmm import fit_mixture
from synthgen.models.tabular.networks import Generator, SamplingGenerator
from synthgen.models.tabular.sampler import GroupedCategorical
from synthgen.models.tabular.spans import Span, SpanLayout
from synthgen.models.tabular.synthesizer import TabularSynthesizer


@pytest.mark.parametrize("hidden", [[32], [32, 24], [16, 16, 8]])
def test_folded_generator_matches_the_module(hidden):
    torch.manual_seed(0)
    noise, n_classes, category_dim = 8, 3, 7
    cond_dim = n_classes + category_dim
    module = Generator(noise + cond_dim, hidden, 11)
    module.train()
    module(torch.randn(256, noise + cond_dim) * 2 + 1)  # BatchNorm statistics that are not 0/1
    module.eval()
    n = 64
    z = torch.randn(n, noise)
    classes = torch.randint(0, n_classes, (n,))
    slots = torch.randint(0, category_dim + 1, (n,))  # category_dim: no category ("none")
    dense = torch.zeros(n, cond_dim + 1)
    dense[torch.arange(n), classes] = 1
    dense[torch.arange(n), n_classes + slots] = 1
    with torch.inference_mode():
        expected = module(torch.cat([z, dense[:, :cond_dim]], dim=1))
        got = SamplingGenerator(module, noise, n_classes)(z, torch.stack([classes, n_classes + slots], 1))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_folding_needs_eval_mode():
    with pytest.raises(ValueError, match="eval"):
        SamplingGenerator(Generator(12, [8], 4), 8, 2)


def test_block_draws_follow_each_softmax_even_for_extreme_logits():
    layout = SpanLayout([Span("x", "value", 1, "tanh"), Span("a", "category", 3, "softmax"),
                         Span("b", "category", 1, "softmax"), Span("c", "category", 50, "softmax")])
    n = 40_000
    a = torch.tensor([0.0, 1.0, 2.0])
    c = torch.full((50,), -1e4)
    c[[7, 42]] = torch.tensor([-300.0, -300.0 + float(np.log(3.0))])  # far below zero, 1:3 between them
    raw = torch.cat([torch.zeros(1), a, torch.zeros(1), c]).expand(n, -1)
    scalars, codes = layout.sample_codes(raw, torch.Generator().manual_seed(0))
    assert scalars.shape == (n, 1) and codes.shape == (n, 3) and (codes[:, 1] == 0).all()
    share_a = torch.bincount(codes[:, 0], minlength=3).double() / n
    torch.testing.assert_close(share_a, torch.softmax(a.double(), 0), atol=0.01, rtol=0)
    assert set(codes[:, 2].tolist()) == {7, 42}
    assert (codes[:, 2] == 42).double().mean().item() == pytest.approx(0.75, abs=0.01)


def test_grouped_draws_follow_weights_and_never_pick_empty_slots():
    weights = torch.tensor([[1.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0]])
    groups = torch.tensor([0, 1, 2]).repeat_interleave(20_000)
    values = GroupedCategorical(weights).draw(groups, torch.Generator().manual_seed(0))
    first = values[:20_000]
    assert set(first.tolist()) == {0, 2}
    assert (first == 2).double().mean().item() == pytest.approx(0.75, abs=0.01)
    assert (values[20_000:40_000] == 3).all() and (values[40_000:] == 0).all()


def test_chunked_mode_draws_equal_the_posterior_draws():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 30_000), rng.normal(8, 2, 10_000), rng.lognormal(2, 1, 10_000)])
    mix = fit_mixture(x[:5000], max_modes=8)
    u = rng.random(len(x))
    cumulative = np.cumsum(np.exp(mix.log_resp(x)), axis=1)
    expected = np.minimum((u[:, None] > cumulative).sum(axis=1), len(mix.means) - 1)
    np.testing.assert_array_equal(mix.draw_modes(x, u), expected)


def test_restoring_from_codes_equals_restoring_values():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({
        "text": pd.Series(rng.choice(["a", "b", "c"], n), dtype="str"),
        "obj": pd.Series(rng.choice(["x", "y", ""], n), dtype="object").replace("", np.nan),
        "cat": pd.Categorical(rng.choice(["I", "II"], n), categories=["I", "II", "III"], ordered=True),
        "flag": rng.random(n) < 0.3,
        "code": rng.choice([3, 5, 9], n),
        "y": rng.choice(["p", "q"], n),
    })
    schema = infer_schema(df, "y", kinds={"code": "categorical"})
    for spec in schema.columns:
        codes = category_codes(df[spec.name], spec)
        for some_missing in (False, True):
            if some_missing:
                codes = np.where(np.arange(n) % 7 == 0, -1, codes)
            table = np.array([*spec.categories, None], dtype=object)
            expected = restore_column(pd.Series(table[codes]), spec)
            pd.testing.assert_series_equal(restore_codes(codes, spec), expected, check_names=False)


def test_three_classes_with_a_boolean_last_column_train_and_sample():
    """The class column's index used to overflow the last (2-slot) block in the condition loss."""
    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame({"x": rng.normal(size=n), "y": rng.choice(["a", "b", "c"], n), "flag": rng.random(n) < 0.5})
    model = TabularModelConfig(embedding_dim=8, generator_dims=[16], discriminator_dims=[16], pac=2, max_modes=3)
    train = TrainConfig(epochs=1, batch_size=20, device="cpu", progress=False)
    synth = TabularSynthesizer(model, train).fit(df, "y")
    out = synth.generate({"a": 3, "b": 4, "c": 5}, seed=1)
    assert out["y"].tolist() == ["a"] * 3 + ["b"] * 4 + ["c"] * 5
    pd.testing.assert_frame_equal(out, synth.generate({"a": 3, "b": 4, "c": 5}, seed=1))

"""Encoder pieces: the 1-D mixture, the span layout's segment ops, the encoding round trip,
category pooling, and training-by-sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.data.rare import PrivacyRules
from synthgen.data.tabular import category_codes, infer_schema, restore_frame
from synthgen.models.tabular.encoder import OTHER, TableEncoder
from synthgen.models.tabular.gmm import fit_mixture
from synthgen.models.tabular.sampler import ConditionCoder, TrainingSampler, draw_generation_conditions
from synthgen.models.tabular.spans import Span, SpanLayout


def test_mixture_recovers_two_separated_modes():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 3000), rng.normal(50, 2, 1000)])
    mix = fit_mixture(x, max_modes=10)
    # Modes may split a component, but their weighted means must sit on the two clusters.
    near_a = np.abs(mix.means - 0) < 4
    near_b = np.abs(mix.means - 50) < 8
    assert (near_a | near_b).all()
    assert mix.weights[near_a].sum() == pytest.approx(0.75, abs=0.02)
    assert mix.weights[near_b].sum() == pytest.approx(0.25, abs=0.02)


def test_mixture_of_a_constant_column_is_one_mode():
    mix = fit_mixture(np.full(100, 7.0), max_modes=10)
    assert mix.means.tolist() == [7.0] and mix.stds[0] > 0


def test_spikes_are_exact_modes_and_decode_exactly():
    # A zero-inflated column (Adult's capital gain: 91% zeros): decoded through a Gaussian mode
    # at zero, "0" came back as small positive amounts; a spike mode gives exactly 0.
    rng = np.random.default_rng(0)
    gains = np.where(rng.random(2000) < 0.9, 0.0, rng.lognormal(8, 1, 2000).round())
    hours = np.where(rng.random(2000) < 0.5, 40.0, rng.normal(40, 12, 2000).round(1))
    df = pd.DataFrame({"gain": gains, "hours": hours, "label": rng.choice(["no", "yes"], 2000)})
    schema, encoder = _fit(df, spike_share=0.05)
    gain, hrs = encoder.columns
    assert gain.spikes == [0.0] and hrs.spikes == [40.0]
    scalars, codes = encoder.transform(df, schema)
    back = encoder.decode(scalars, codes)
    np.testing.assert_allclose(back["gain"], gains, atol=1e-6 * gains.max())
    # Any network output in a spike's mode decodes to the spike, whatever its scalar.
    at_zero = codes[:, 0] == 0
    assert at_zero.mean() == pytest.approx((gains == 0).mean())
    noisy = encoder.decode(np.random.default_rng(1).uniform(-1, 1, scalars.shape).astype(np.float32), codes)
    assert (noisy["gain"][at_zero] == 0).all() and (noisy["gain"][~at_zero] != 0).mean() > 0.99
    # Off: the zero is a Gaussian mode, and noise in its scalar moves the value off zero.
    schema, plain = _fit(df, spike_share=0.0)
    assert plain.columns[0].spikes == []
    s, c = plain.transform(df, schema)
    assert (plain.decode(np.random.default_rng(1).uniform(-1, 1, s.shape).astype(np.float32), c)["gain"] == 0).mean() < 0.05


def test_segment_ops_match_per_block_torch():
    layout = SpanLayout([Span("a", "value", 1, "tanh"), Span("a", "mode", 3, "softmax"),
                         Span("b", "category", 2, "softmax")])
    raw = torch.randn(5, layout.dim)
    logp = layout.block_log_softmax(raw)
    torch.testing.assert_close(logp[:, :3], torch.log_softmax(raw[:, 1:4], dim=1))
    torch.testing.assert_close(logp[:, 3:], torch.log_softmax(raw[:, 4:], dim=1))
    act = layout.activate(raw, torch.Generator().manual_seed(0))
    torch.testing.assert_close(act[:, 0], torch.tanh(raw[:, 0]))
    torch.testing.assert_close(act[:, 1:4].sum(1), torch.ones(5))
    torch.testing.assert_close(act[:, 4:].sum(1), torch.ones(5))
    scalars, codes = layout.sample_codes(raw, torch.Generator().manual_seed(0))
    dense = layout.dense(scalars, codes)
    assert dense.shape == (5, layout.dim) and dense[:, 1:].sum(1).tolist() == [2.0] * 5


def mixed_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "size": np.concatenate([rng.normal(0, 1, n - n // 3), rng.normal(30, 3, n // 3)]),
            "dose": np.where(rng.random(n) < 0.25, np.nan, rng.gamma(2.0, 3.0, n)),
            "age": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(18, 90, n)), dtype="Int64"),
            "site": pd.Series(rng.choice(["a", "b", "c", ""], n)).replace("", np.nan),
            "smoker": rng.random(n) < 0.4,
            "seen": pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
            "label": rng.choice(["no", "yes"], n, p=[0.8, 0.2]),
        }
    )


def _fit(df, **kw):
    schema = infer_schema(df, "label", rules=PrivacyRules(exclude_identifiers=False, min_category_count=1))
    options = {"max_modes": 5, "gmm_max_rows": 200, "max_categories": 1000, **kw}
    return schema, TableEncoder.fit(df, schema, seed=0, **options)


def test_round_trip_is_exact_for_categories_and_close_for_numbers():
    df = mixed_frame()
    schema, encoder = _fit(df)
    scalars, codes = encoder.transform(df, schema)
    assert scalars.dtype == np.float32 and codes.dtype == np.int64
    assert codes.shape == (len(df), len(encoder.layout.block_spans))  # compact: no one-hot matrix
    back = encoder.inverse(scalars, codes, schema).assign(label=df["label"])
    restored = restore_frame(back, schema)
    assert restored.dtypes.to_dict() == df.dtypes.to_dict()
    for name in ("site", "smoker", "age", "seen", "label"):
        pd.testing.assert_series_equal(restored[name], df[name])
    np.testing.assert_allclose(restored["size"], df["size"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(restored["dose"], df["dose"], rtol=1e-5, atol=1e-5)  # NaN where NaN


def test_rare_categories_are_pooled_and_decoded_to_real_ones():
    rng = np.random.default_rng(2)
    n = 2000
    ids = rng.integers(0, 500, n).astype(str)  # high cardinality
    df = pd.DataFrame({"ward": ids, "x": rng.normal(size=n), "label": rng.choice(["p", "q"], n)})
    schema, encoder = _fit(df, max_categories=20)
    block = encoder.layout.block_spans[[s.column for s in encoder.layout.block_spans].index("ward")]
    assert block.dim == 20  # 19 kept + __other__
    scalars, codes = encoder.transform(df, schema)
    decoded = encoder.inverse(scalars, codes, schema, seed=3)["ward"]
    assert set(decoded) <= set(df["ward"]) and OTHER not in set(decoded)
    column = next(c for c in encoder.columns if c.name == "ward")
    kept_values = [schema["ward"].categories[i] for i in column.kept]
    counts = df["ward"].value_counts()
    assert counts[kept_values].min() >= counts.drop(kept_values).max()  # the most frequent kept
    kept = df["ward"].isin(kept_values)
    assert (decoded[kept] == df["ward"][kept]).all()
    assert (decoded[~kept] != decoded[~kept].iloc[0]).any()  # pooled rows drawn among many


def test_encoder_state_round_trips_through_dicts():
    df = mixed_frame()
    schema, encoder = _fit(df)
    again = TableEncoder.from_dict(encoder.to_dict())
    a = encoder.transform(df, schema, seed=5)
    b = again.transform(df, schema, seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert again.layout.to_list() == encoder.layout.to_list()


@pytest.fixture(scope="module")
def sampler_parts():
    df = mixed_frame(400)
    schema, encoder = _fit(df)
    _, codes = encoder.transform(df, schema)
    classes = torch.from_numpy(category_codes(df["label"], schema["label"]))
    coder = ConditionCoder(len(schema.labels), encoder.layout)
    return classes, torch.from_numpy(codes), coder


def test_training_draws_rows_that_satisfy_their_condition(sampler_parts):
    classes, codes, coder = sampler_parts
    sampler = TrainingSampler(classes, codes, coder)
    cond, rows = sampler.draw(4000, torch.Generator().manual_seed(0))
    assert (classes[rows] == cond.classes).all()
    some = cond.column < coder.n_columns
    chosen = codes[:, coder.column_blocks][rows[some], cond.column[some]]
    assert (chosen == cond.value[some]).all()
    # the class column is picked too, and classes are sampled by log-frequency: the 20%
    # minority gets well above its share among those draws
    none = ~some
    assert none.any()
    assert cond.classes[none].float().mean() > 0.3
    # fresh rows for a permuted condition satisfy it as well
    again = sampler.rows_for(cond, torch.Generator().manual_seed(1))
    assert (codes[:, coder.column_blocks][again[some], cond.column[some]] == cond.value[some]).all()


def test_condition_vector_has_the_class_and_at_most_one_category(sampler_parts):
    classes, codes, coder = sampler_parts
    sampler = TrainingSampler(classes, codes, coder)
    cond, _ = sampler.draw(500, torch.Generator().manual_seed(0))
    vec = coder.encode(cond)
    assert vec.shape == (500, coder.dim)
    assert (vec[:, : coder.n_classes].argmax(1) == cond.classes).all()
    assert ((vec[:, coder.n_classes :].sum(1)) == (cond.column < coder.n_columns).float()).all()


def test_generation_conditions_follow_class_frequencies(sampler_parts):
    classes, codes, coder = sampler_parts
    counts = TrainingSampler(classes, codes, coder).class_value_counts()
    asked = torch.ones(20000, dtype=torch.long)  # all class 1
    cond = draw_generation_conditions(asked, counts, coder, torch.Generator().manual_seed(0))
    smoker = coder.n_columns - 1  # last categorical column in table order: smoker
    picked = cond.column == smoker
    expected = counts[1, coder.column_offsets[smoker] : coder.column_offsets[smoker] + 2]
    share = cond.value[picked].float().mean().item()
    assert share == pytest.approx((expected[1] / expected.sum()).item(), abs=0.05)

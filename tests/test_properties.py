"""Property-based tests (hypothesis) for schema inference and the tabular encoding round trip.

For random small tables of mixed kinds (floats with NaN, ints, 0/1 flags, bools, text and pandas
categoricals with unicode values, datetimes with NaT, date text):

- ``infer_schema`` never raises anything but ``DataError``, whatever the values (inf, all
  missing, one class, numbers mixed with words) and whatever kind a user forces on a column;
- ``restore_frame`` is the identity on the table the schema was inferred from;
- the encoder's transform -> inverse -> ``restore_frame`` gives back the same columns in the
  same order with the same dtypes, the same missing-value positions, categorical values exactly
  (category sets exact, also when rare categories are pooled) and numbers within float32
  precision of the encoding.
"""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthgen.data.rare import PrivacyRules
from synthgen.data.schema import KINDS, infer_schema, restore_frame
from synthgen.errors import DataError
from synthgen.models.tabular.encoder import TableEncoder

# SYNTHGEN_PROPERTY_EXAMPLES=1000 for a deeper hunt; no example database in the repository.
SETTINGS = settings(
    max_examples=int(os.environ.get("SYNTHGEN_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# The encoding machinery on every value and column: identifier and rare-value rules are tested
# in tests/data/test_privacy_schema.py and tests/test_privacy.py.
EVERY_VALUE = PrivacyRules(exclude_identifiers=False, min_category_count=1)
CONDITION = "diagnosis"
WORDS = ["benign", "malignant", "Ünknown", "良性", "zé ro", "", " ", "NaN-ish", "😀", "a,b"]
LABELS = ["benign", "malignant", "ünknown", "良性"]
COLUMN_KINDS = ["float", "int", "flag", "bool", "text", "category", "datetime", "date_text"]
EPOCH = dt.datetime(1990, 1, 1)


# ----------------------------------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------------------------------


@st.composite
def missing_mask(draw, n: int, keep_first: bool) -> np.ndarray:
    mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if draw(st.booleans()):
        mask[:] = False  # half the columns have no missing values at all
    if keep_first:
        mask[0] = False  # at least one observed value: an all-missing column is a DataError
    return mask


@st.composite
def column(draw, kind: str, n: int, keep_first: bool = True) -> pd.Series:
    missing = draw(missing_mask(n, keep_first))
    if kind == "float":
        x = np.array(
            draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=n, max_size=n))
        )
        return pd.Series(np.where(missing, np.nan, x), dtype="float64")
    if kind == "int":
        x = np.array(
            draw(st.lists(st.integers(-10_000, 10_000), min_size=n, max_size=n)), dtype=np.int64
        )
        return pd.Series(x) if not missing.any() else pd.Series(np.where(missing, np.nan, x))
    if kind == "flag":
        x = np.array(
            draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n)), dtype=np.int64
        )
        return pd.Series(x)
    if kind == "bool":
        return pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if kind in ("text", "category"):
        values = draw(st.lists(st.sampled_from(WORDS), min_size=n, max_size=n))
        values = [None if m else v for v, m in zip(values, missing)]
        if kind == "text":
            return pd.Series(values, dtype="str" if draw(st.booleans()) else object)
        extra = draw(st.sampled_from(["never-seen", "jamais vu", "未見"]))  # unobserved category
        cats = sorted({v for v in values if v is not None} | {extra})
        return pd.Series(pd.Categorical(values, categories=cats, ordered=draw(st.booleans())))
    seconds = draw(st.lists(st.integers(0, 40 * 365 * 86400), min_size=n, max_size=n))
    whole_days = draw(st.booleans())
    stamps = [EPOCH + dt.timedelta(seconds=s - s % 86400 if whole_days else s) for s in seconds]
    if kind == "datetime":
        return pd.Series(pd.to_datetime(stamps)).where(~missing, pd.NaT)
    fmt = "%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M:%S"
    return pd.Series(
        [None if m else t.strftime(fmt) for t, m in zip(stamps, missing)], dtype=object
    )


@st.composite
def tables(draw, max_columns: int = 4) -> pd.DataFrame:
    n = draw(st.integers(3, 25))
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=n, max_size=n))
    labels[:2] = draw(
        st.sampled_from([["benign", "malignant"], ["良性", "ünknown"]])
    )  # two classes
    kinds = draw(st.lists(st.sampled_from(COLUMN_KINDS), min_size=1, max_size=max_columns))
    cols = {f"{kind} {i} é": draw(column(kind, n)) for i, kind in enumerate(kinds)}
    position = draw(st.integers(0, len(cols)))  # the condition need not be last
    items = list(cols.items())
    items.insert(position, (CONDITION, pd.Series(labels, dtype=object)))
    return pd.DataFrame(dict(items))


WEIRD = st.sampled_from([np.inf, -np.inf, np.nan, 0.0, 1e308, -0.0, "12", "x", True, None, 3])


@st.composite
def weird_tables(draw) -> pd.DataFrame:
    """Anything goes: inf, all-missing columns, one class, mixed objects, forced kinds, no rows."""
    n = draw(st.integers(0, 12))
    cols = {}
    for i in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            cols[f"c{i}"] = (
                draw(column(draw(st.sampled_from(COLUMN_KINDS)), n, keep_first=False)) if n else []
            )
        else:
            cols[f"c{i}"] = pd.Series(draw(st.lists(WEIRD, min_size=n, max_size=n)), dtype=object)
    label_values = st.one_of(
        st.sampled_from(LABELS), st.none(), st.floats(), st.integers(-3, 3), st.booleans()
    )
    cols[CONDITION] = pd.Series(draw(st.lists(label_values, min_size=n, max_size=n)), dtype=object)
    return pd.DataFrame(cols)


# ----------------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------------


@SETTINGS
@given(frame=weird_tables(), data=st.data())
def test_infer_schema_raises_only_data_errors(frame, data):
    names = list(frame.columns) + ["not a column"]
    kinds = data.draw(
        st.dictionaries(st.sampled_from(names), st.sampled_from([*KINDS, "weird"]), max_size=3)
    )
    drop = data.draw(st.lists(st.sampled_from(names), max_size=2))
    try:
        schema = infer_schema(frame, CONDITION, kinds=kinds, drop=drop, rules=EVERY_VALUE)
    except DataError as e:
        assert "\n" not in str(e)  # one line for the CLI
        return
    assert len(schema.labels) >= 2
    restore_frame(frame, schema)  # whatever was accepted can be restored without error


@SETTINGS
@given(frame=tables(max_columns=3), seed=st.integers(0, 2**16))
def test_every_forced_kind_is_refused_in_one_line_or_round_trips(frame, seed):
    """A user's ``--kind`` on a legal table, every kind on every column: either a one-line
    DataError naming the column, or a schema whose encoding round trip keeps the table."""
    for name in [c for c in frame.columns if c != CONDITION]:
        for kind in KINDS:
            try:
                schema = infer_schema(frame, CONDITION, kinds={name: kind}, rules=EVERY_VALUE)
            except DataError as e:
                assert repr(name) in str(e) and "\n" not in str(e), str(e)
                continue
            assert schema[name].kind == kind
            assert_same_table(restore_frame(frame, schema), frame, exact=True)
            assert_same_table(round_trip(frame, schema, seed), frame, exact=False)


@SETTINGS
@given(frame=tables())
def test_restore_frame_is_the_identity_on_the_training_table(frame):
    schema = infer_schema(frame, CONDITION, rules=EVERY_VALUE)
    assert_same_table(restore_frame(frame, schema), frame, exact=True)


@SETTINGS
@given(frame=tables(), seed=st.integers(0, 2**16))
def test_encoder_round_trip_keeps_columns_dtypes_categories_and_missing(frame, seed):
    assert_same_table(round_trip(frame, infer_schema(frame, CONDITION, rules=EVERY_VALUE), seed), frame, exact=False)


def round_trip(frame: pd.DataFrame, schema, seed: int) -> pd.DataFrame:
    """transform -> inverse -> restore_frame, the path every generated row takes."""
    encoder = TableEncoder.fit(
        frame, schema, max_modes=4, gmm_max_rows=1000, max_categories=1000, seed=seed
    )
    scalars, codes = encoder.transform(frame, schema, seed=seed)
    assert scalars.dtype == np.float32 and codes.dtype == np.int64 and len(scalars) == len(frame)
    back = encoder.inverse(scalars, codes, schema, seed=seed)
    back[CONDITION] = frame[CONDITION].to_numpy()
    return restore_frame(back, schema)


@SETTINGS
@given(frame=tables(max_columns=3), max_categories=st.integers(2, 4), seed=st.integers(0, 2**16))
def test_pooled_categories_decode_within_the_category_set(frame, max_categories, seed):
    """Past ``max_categories`` the rarest share a slot: values stay in the set, kept ones exact."""
    schema = infer_schema(frame, CONDITION, rules=EVERY_VALUE)
    encoder = TableEncoder.fit(
        frame, schema, max_modes=2, gmm_max_rows=1000, max_categories=max_categories, seed=seed
    )
    back = encoder.inverse(*encoder.transform(frame, schema, seed=seed), schema, seed=seed)
    back[CONDITION] = frame[CONDITION].to_numpy()
    restored = restore_frame(back, schema)
    for col in encoder.columns:
        if not hasattr(col, "pooled"):
            continue
        spec = schema[col.name]
        got, want = restored[col.name], frame[col.name]
        assert got.isna().tolist() == want.isna().tolist()
        observed = set(want.dropna())
        assert set(got.dropna()) <= observed
        kept = {spec.categories[i] for i in col.kept}
        rows = want.isin(kept).to_numpy() & want.notna().to_numpy()
        assert got[rows].tolist() == want[rows].tolist()


# ----------------------------------------------------------------------------------------------
# Comparison
# ----------------------------------------------------------------------------------------------


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame, *, exact: bool) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for name in want.columns:
        g, w = got[name], want[name].reset_index(drop=True)
        assert g.dtype == w.dtype, (name, g.dtype, w.dtype)
        assert g.isna().tolist() == w.isna().tolist(), name
        if isinstance(w.dtype, pd.CategoricalDtype):
            assert (
                list(g.cat.categories) == list(w.cat.categories) and g.cat.ordered == w.cat.ordered
            )
        present = w.notna().to_numpy()
        if pd.api.types.is_float_dtype(w.dtype) and not exact:
            a, b = g.to_numpy()[present], w.to_numpy()[present]
            span = float(np.nanmax(np.abs(w.to_numpy()))) if present.any() else 1.0
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * max(1.0, span), err_msg=name)
        elif pd.api.types.is_datetime64_any_dtype(w.dtype) and not exact:
            delta = (g[present] - w[present]).abs().max() if present.any() else pd.Timedelta(0)
            assert delta <= pd.Timedelta(seconds=1) + 1e-6 * (w.max() - w.min()), (name, delta)
        elif _is_date_text(w) and not exact:
            delta = (pd.to_datetime(g[present]) - pd.to_datetime(w[present])).abs().max()
            assert delta <= pd.Timedelta(seconds=1) + 1e-6 * 40 * pd.Timedelta(days=365), (
                name,
                delta,
            )
        else:
            assert g[present].tolist() == w[present].tolist(), name


def _is_date_text(series: pd.Series) -> bool:
    values = series.dropna()
    return (
        series.dtype == object
        and len(values) > 0
        and all(isinstance(v, str) and v[:4].isdigit() and v[4:5] == "-" for v in values)
    )

"""Schema inference, validation messages and dtype restoration for tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthgen.data.tabular import (
    TableSchema,
    category_codes,
    infer_schema,
    numeric_values,
    restore_frame,
)
from synthgen.data.rare import PrivacyRules
from synthgen.errors import DataError


def mixed_table(n: int = 60) -> pd.DataFrame:
    """Every kind, each with and without missing values, and a text condition."""
    rng = np.random.default_rng(0)
    day = pd.Timestamp("2020-01-01")
    df = pd.DataFrame(
        {
            "size": rng.normal(10, 2, n),
            "size_nan": np.where(rng.random(n) < 0.2, np.nan, rng.normal(0, 1, n)),
            "age": rng.integers(20, 80, n),
            "age_nan": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), dtype="Int64"),
            "grade": rng.choice(["low", "mid", "high"], n),
            "grade_nan": pd.Series(rng.choice(["x", "y", ""], n), dtype="object").replace("", np.nan),
            "stage": pd.Categorical(rng.choice(["I", "II"], n), categories=["I", "II", "III"], ordered=True),
            "smoker": rng.random(n) < 0.3,
            "flag01": rng.integers(0, 2, n),
            "seen": day + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
            "seen_text": (day + pd.to_timedelta(rng.integers(0, 900, n), unit="D")).strftime("%d/%m/%Y"),
            "stamp_tz": (day + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")).tz_localize("Europe/Paris"),
            "diagnosis": rng.choice(["benign", "malignant"], n, p=[0.7, 0.3]),
        }
    )
    df.loc[3, "seen"] = pd.NaT
    return df


@pytest.fixture(scope="module")
def table():
    return mixed_table()


def test_kinds_are_inferred_per_column(table):
    schema = infer_schema(table, "diagnosis")
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "size": "continuous",
        "size_nan": "continuous",
        "age": "integer",
        "age_nan": "integer",
        "grade": "categorical",
        "grade_nan": "categorical",
        "stage": "categorical",
        "smoker": "boolean",
        "flag01": "boolean",
        "seen": "datetime",
        "seen_text": "datetime",
        "stamp_tz": "datetime",
        "diagnosis": "categorical",
    }
    assert schema.labels == ["benign", "malignant"]
    assert schema["grade"].categories == ["high", "low", "mid"]
    assert schema["stage"].dtype_categories == ["I", "II", "III"] and schema["stage"].ordered
    assert schema["seen_text"].text_format == "%d/%m/%Y"
    assert schema["seen"].resolution == "D"
    assert schema["stamp_tz"].tz == "Europe/Paris"


def test_missing_rates_are_recorded(table):
    schema = infer_schema(table, "diagnosis")
    for name in ("size_nan", "age_nan", "grade_nan"):
        assert schema[name].missing_rate == pytest.approx(table[name].isna().mean())
        assert schema[name].missing_rate > 0
    assert schema["seen"].missing_rate == pytest.approx(1 / len(table))
    assert schema["size"].missing_rate == 0


def test_overrides_and_drop(table):
    every_value = PrivacyRules(min_category_count=1)  # rare-value pooling is tested on its own
    schema = infer_schema(
        table, "diagnosis", kinds={"age": "categorical", "flag01": "integer"}, drop=["size"], rules=every_value
    )
    assert "size" not in schema.names
    assert schema["age"].kind == "categorical"
    assert schema["age"].categories == sorted(int(v) for v in table["age"].unique())
    assert schema["flag01"].kind == "integer"


def test_schema_round_trips_through_json(table):
    schema = infer_schema(table, "diagnosis")
    again = TableSchema.from_dict(json.loads(json.dumps(schema.to_dict(), allow_nan=False)))
    assert again == schema


def test_restore_frame_gives_back_input_dtypes_and_values(table):
    schema = infer_schema(table, "diagnosis")
    model_values = {}
    for spec in schema.columns:
        if spec.kind in ("categorical", "boolean"):
            codes = category_codes(table[spec.name], spec)
            values = np.array(spec.categories + [None], dtype=object)
            model_values[spec.name] = values[codes]
        else:
            model_values[spec.name] = numeric_values(table[spec.name], spec)
    back = restore_frame(pd.DataFrame(model_values), schema)
    assert list(back.columns) == list(table.columns)
    assert back.dtypes.to_dict() == table.dtypes.to_dict()
    assert list(back["stage"].cat.categories) == ["I", "II", "III"]
    pd.testing.assert_frame_equal(back, table)


def test_restore_rounds_integers_and_clips_to_the_observed_range(table):
    schema = infer_schema(table, "diagnosis")
    frame = table.copy()
    frame["age"] = [20.4, 1000.0, -5.0] + [30.0] * (len(table) - 3)
    back = restore_frame(frame, schema)
    assert back["age"].dtype == table["age"].dtype
    assert back["age"].tolist()[:3] == [20, table["age"].max(), table["age"].min()]


@pytest.mark.parametrize(
    ("mutate", "kwargs", "message"),
    [
        (lambda d: d, {"condition": "diagnosys"}, "'diagnosys' is not a column.*did you mean 'diagnosis'"),
        (lambda d: d.assign(diagnosis="benign"), {}, "single class"),
        (lambda d: d.assign(diagnosis=d["diagnosis"].where(d.index != 5)), {}, "1 row.*no label"),
        (lambda d: d.assign(empty=np.nan), {}, "column 'empty' is empty"),
        (lambda d: d.assign(size=d["size"].where(d.index != 2, np.inf)), {}, "column 'size' has infinite"),
        (lambda d: d, {"kinds": {"sise": "integer"}}, "'sise' is not a column.*did you mean 'size'"),
        (lambda d: d, {"drop": ["gradee"]}, "'gradee' is not a column.*did you mean 'grade'"),
        (lambda d: d, {"kinds": {"grade": "continuous"}}, "column 'grade': value '(low|mid|high)' cannot be read as continuous"),
        (lambda d: d, {"kinds": {"size": "integer"}}, "column 'size': value .* is not an integer"),
        (lambda d: d, {"kinds": {"grade": "boolean"}}, "column 'grade': value .* third value"),
        (lambda d: d, {"kinds": {"grade": "datetime"}}, "column 'grade': value .* cannot be read as datetime"),
        (lambda d: d, {"kinds": {"size": "number"}}, "column 'size': unknown kind 'number'"),
        (lambda d: d, {"kinds": {"diagnosis": "continuous"}}, "condition column 'diagnosis' must be categorical"),
    ],
)
def test_bad_input_names_the_culprit(table, mutate, kwargs, message):
    kwargs = {"condition": "diagnosis", **kwargs}
    with pytest.raises(DataError, match=message) as info:
        infer_schema(mutate(table.copy()), **kwargs)
    assert "\n" not in str(info.value)


def test_numeric_condition_labels_map_back_to_numbers():
    df = pd.DataFrame({"x": np.arange(10.0), "y": [0, 1] * 5})
    schema = infer_schema(df, "y")
    assert schema.labels == ["0", "1"]
    assert schema.label_value("1") == 1

"""Identifier columns, rare categories, text dates and words among numbers, at the schema level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.data.fit_checks import check_splits
from synthgen.data.identifiers import identifier_reason
from synthgen.data.rare import RARE, PrivacyRules
from synthgen.data.schema import category_codes, numeric_values, restore_codes
from synthgen.data.splits import make_splits
from synthgen.data.tabular import infer_schema
from synthgen.errors import DataError
from synthgen.models.document_digests import DIGESTS, edited_key, key_digests

N = 200


def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "record": [f"R{i:05d}" for i in range(N)],  # near-unique text, neutral name
            "Email": [f"p{i}@mail.test" for i in range(N)],
            "patientId": rng.integers(0, 5, N),  # camelCase id, few values: still an id by name
            "counter": np.arange(N) * 7 + 1000,  # near-unique whole numbers
            "age": rng.integers(18, 95, N),
            "crp": rng.gamma(2.0, 3.0, N),  # measurements are near-unique by nature
            "smoker": rng.random(N) < 0.3,
            "grade": rng.choice(["a", "b", "c"], N),
            "diagnosis": rng.choice(["benign", "malignant"], N),
        }
    )


def test_identifiers_are_left_out_with_a_reason():
    schema = infer_schema(table(), "diagnosis")
    assert set(schema.excluded) == {"record", "Email", "patientId", "counter"}
    assert "200 distinct values in 200 rows" in schema.excluded["record"]
    assert schema.names == ["age", "crp", "smoker", "grade", "diagnosis"]


def test_a_kind_given_by_the_user_keeps_the_column():
    schema = infer_schema(table(), "diagnosis", kinds={"counter": "integer"})
    assert "counter" in schema.names and "counter" not in schema.excluded


def test_identifier_detection_can_be_turned_off():
    schema = infer_schema(table(), "diagnosis", rules=PrivacyRules(exclude_identifiers=False, min_category_count=1))
    assert schema.excluded == {} and "record" in schema.names


@pytest.mark.parametrize(
    ("values", "kind", "expected"),
    [
        (pd.Series(range(40), name="age"), "integer", None),  # 40 distinct ages: too few rows to tell
        (pd.Series(["a"] * 30, name="has_id"), "boolean", None),
        (pd.Series([f"long free text number {i} with words" for i in range(30)], name="comment"), "categorical", "free text"),
        (pd.Series([0.5, 1.5] * 20, name="lab_id"), "continuous", "its name"),
    ],
)
def test_identifier_reason_cases(values, kind, expected):
    reason = identifier_reason(values, kind)
    assert (reason is None) if expected is None else expected in reason


def test_rare_categories_are_pooled_by_distinct_patients():
    df = pd.DataFrame(
        {
            "ward": ["North"] * 10 + ["Tiny"] * 6 + ["South"] * 10,
            "patient_id": [f"p{i}" for i in range(10)] + ["q"] * 6 + [f"s{i}" for i in range(10)],
            "diagnosis": ["x", "y"] * 13,
        }
    )
    rules = PrivacyRules(min_category_count=5, patient_column="patient_id")
    spec = infer_schema(df, "diagnosis", drop=["patient_id"], rules=rules)["ward"]
    assert spec.categories == ["North", "South", RARE] and spec.rare_pooled == 1  # 6 rows, 1 patient
    pooled = restore_codes(category_codes(df["ward"], spec), spec)
    assert pooled.tolist() == ["North"] * 10 + [RARE] * 6 + ["South"] * 10
    unseen = category_codes(pd.Series(["Elsewhere"]), spec)
    assert spec.categories[unseen[0]] == RARE  # a value never seen is pooled, not an error


def test_rare_numbers_become_missing_values():
    df = pd.DataFrame({"code": [1] * 10 + [2] * 10 + [99], "diagnosis": ["x", "y"] * 10 + ["x"]})
    spec = infer_schema(df, "diagnosis", kinds={"code": "categorical"})["code"]
    assert spec.categories == [1, 2] and spec.rare_pooled == 1 and spec.missing_rate > 0
    assert category_codes(df["code"], spec)[-1] == -1


def test_mixed_date_formats_and_zones_read_as_utc():
    text = pd.Series(["2024-01-03 10:00:00+01:00", "2024-01-04T10:00:00Z", "2024-01-05", "07/01/2024"] * 10)
    df = pd.DataFrame({"admitted": text, "diagnosis": ["x", "y"] * 20})
    spec = infer_schema(df, "diagnosis")["admitted"]
    assert spec.kind == "datetime" and spec.text_format is None
    seconds = numeric_values(df["admitted"], spec)
    assert seconds[0] == pd.Timestamp("2024-01-03 09:00", tz="UTC").timestamp()


def test_words_among_numbers_are_missing_values():
    values = [str(v) for v in np.round(np.linspace(3, 5, 50), 2)] + ["n/a-hemolysed"]
    df = pd.DataFrame({"k": pd.Series(values, dtype=object), "diagnosis": ["x", "y"] * 25 + ["x"]})
    spec = infer_schema(df, "diagnosis")["k"]
    assert (spec.kind, spec.na_tokens, spec.dtype) == ("continuous", ["n/a-hemolysed"], "float64")
    assert np.isnan(numeric_values(df["k"], spec)[-1])
    many_words = df.assign(k=["high", "low", "normal", "unclear", "n/a", "hemolysed"] * 8 + ["1", "2", "3"])
    assert infer_schema(many_words, "diagnosis")["k"].kind == "categorical"


def test_nested_values_are_refused_by_column():
    df = pd.DataFrame({"tags": [[1, 2]] * 4, "diagnosis": ["x", "y"] * 2})
    with pytest.raises(DataError, match="column 'tags' holds nested"):
        infer_schema(df, "diagnosis")


def test_degenerate_splits():
    labels = ["a"] * 20 + ["b"] * 4
    splits = make_splits(labels, holdout=0.2, test=0.2, seed=0)
    (warning,) = check_splits(labels, splits, holdout=0.2, test=0.2)
    assert warning.startswith("1 of 2 classes have fewer than 5 training items: 'b' (2);")
    tiny = ["a", "b"]
    with pytest.raises(DataError, match="single training item"):
        check_splits(tiny, make_splits(tiny, holdout=0.2, test=0.2, seed=0), holdout=0.2, test=0.2)


def test_document_digests_name_the_edited_key():
    doc = {"metadata": {"model": {"embedding_dim": 128, "dims": [1, 2]}}, "name": "x"}
    doc[DIGESTS] = key_digests(doc)
    assert edited_key(doc) is None
    doc["metadata"]["model"]["embedding_dim"] = 64
    assert edited_key(doc) == "metadata.model.embedding_dim"
    doc["metadata"]["model"]["embedding_dim"] = 128
    doc["metadata"]["extra"] = True
    assert edited_key(doc) == "metadata.extra"

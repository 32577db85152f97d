"""Reading and writing tables: every format, dtypes kept, bad files named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.data.tabular import infer_schema, read_table, restore_frame, write_table
from synthgen.errors import DataError


def small_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "size": [1.5, np.nan, 3.25],
            "age": [30, 41, 52],
            "visits": pd.array([1, None, 3], dtype="Int64"),
            "grade": ["low", "high", None],
            "smoker": [True, False, True],
            "seen": pd.to_datetime(["2020-01-01", "2021-06-30", "2022-12-31"]),
            "diagnosis": ["benign", "malignant", "benign"],
        }
    )


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_keeps_every_dtype(tmp_path, suffix):
    df = small_table().assign(stage=pd.Categorical(["I", "II", "I"], categories=["I", "II", "III"]))
    path = write_table(df, tmp_path / f"t{suffix}")
    back = read_table(path)
    assert back.dtypes.astype(str).to_dict() == df.dtypes.astype(str).to_dict()
    pd.testing.assert_frame_equal(back, df)


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_text_formats_round_trip_through_the_schema(tmp_path, suffix):
    """CSV/TSV lose dtypes; the schema inferred from the input restores them."""
    df = small_table()
    schema = infer_schema(df, "diagnosis")
    back = read_table(write_table(df, tmp_path / f"t{suffix}"))
    assert back.shape == df.shape
    assert back["seen"].tolist() == ["2020-01-01", "2021-06-30", "2022-12-31"]
    restored = restore_frame(_model_values(back, schema), schema)
    assert restored.dtypes.to_dict() == df.dtypes.to_dict()


def _model_values(df, schema):
    # restore_frame accepts datetimes as datetimes and numbers as numbers
    return df.assign(seen=pd.to_datetime(df["seen"]))


def test_write_is_atomic_and_leaves_no_temporary(tmp_path):
    write_table(small_table(), tmp_path / "out.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_names_and_values_are_read_byte_for_byte(tmp_path):
    path = tmp_path / "adult_like.csv"
    path.write_text("age, sex ,note\n39, Homme , \n50,Femme\u00a0,x\n", encoding="utf-8")
    df = read_table(path)
    assert df.columns.tolist() == ["age", " sex ", "note"]
    assert df[" sex "].tolist() == [" Homme ", "Femme\u00a0"]
    assert df["note"].tolist() == [" ", "x"]  # a blank-only value is a value, not ""
    assert df["age"].tolist() == [39, 50]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("table.xlsx", b"x", "unknown table format '.xlsx'"),
        ("empty.csv", b"", "file is empty"),
        ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("latin.csv", "a,b\ncaf\xe9,1\n".encode("latin-1"), "not UTF-8"),
        ("header_only.csv", b"a,b\n", "no data rows"),
        ("blank.csv", b"\n\n", "no columns"),
        ("broken.parquet", b"PAR1 not really parquet", "not a readable Parquet file"),
    ],
)
def test_unreadable_files_raise_one_line_data_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_table(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)

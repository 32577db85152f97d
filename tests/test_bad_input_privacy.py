"""The bad-input corpus, continued (issue 10): identifiers, rare values, faithful reading,
degenerate fits and errors that name the real culprit.

Same rules as ``test_bad_input_corpus``: a mistake is exit 2, one ``error:`` line naming the
culprit and nothing written; a legal oddity is a success checked for what makes it right.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from test_bad_input_corpus import (  # noqa: F401 - fitted_model is a fixture used by run_case
    FIT,
    Case,
    _copy_model,
    _document,
    _schema,
    fit_table,
    fitted_model,
    invoke,
    assert_one_line_error,
    listing,
    patients,
    run_case,
    sample,
)


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("SYNTHGEN_THREADS", "1")


# -- tables that carry identifiers, rare values and dates ----------------------------------------


def _with_identifiers(n: int = 60) -> pd.DataFrame:
    frame = patients(n)
    frame.insert(0, "mrn", [f"MRN{900000 + i}" for i in range(n)])
    frame["surname"] = [f"Quixote{i}" for i in range(n)]
    frame["notes"] = [f"pt {i} reports mild pain after the {i % 7}th dose, review next week" for i in range(n)]
    return frame


def _check_identifiers_out(wd: Path, err: str) -> None:
    schema = _schema(wd)
    assert "mrn" not in schema and "surname" not in schema and "notes" not in schema
    assert set(_document(wd)["data"]["excluded_columns"]) == {"mrn", "surname", "notes"}
    for column in ("mrn", "surname", "notes"):
        assert f"column {column!r} left out: it looks like an identifier" in err
    assert "MRN9" not in _model_text(wd) and "Quixote" not in _model_text(wd)


def _check_identifier_kept_knowingly(wd: Path, err: str) -> None:
    mrn = _schema(wd)["mrn"]
    assert mrn["kind"] == "categorical" and mrn["categories"] == ["__rare__"]  # one patient each
    assert "MRN9" not in _model_text(wd)


def _model_text(wd: Path) -> str:
    (model,) = [p for p in (wd / "runs").iterdir() if p.name != "latest" and not p.name.startswith(".")]
    return (model / "model.json").read_text()


def _mixed_dates(zones: bool) -> pd.DataFrame:
    frame = patients(40)
    plain = [f"2024-02-{i % 28 + 1:02d}" if i % 2 else f"{i % 28 + 1:02d}/03/2024 10:30" for i in range(40)]
    zoned = [f"2024-02-{i % 28 + 1:02d}T08:00:00{'+01:00' if i % 2 else 'Z'}" for i in range(40)]
    return frame.assign(admitted=zoned if zones else plain)


def _check_date(wd: Path, err: str) -> None:
    admitted = _schema(wd)["admitted"]
    assert admitted["kind"] == "datetime" and admitted["categories"] is None


def _rare_wards() -> pd.DataFrame:
    frame = patients(80)
    frame["ward"] = np.where(np.arange(80) % 2, "North", "South").astype(object)
    frame.loc[[3, 4], "ward"] = ["Hamletville", "Smalltown"]
    return frame


def _check_rare(wd: Path, err: str) -> None:
    ward = _schema(wd)["ward"]
    assert set(ward["categories"]) <= {"North", "South", "__rare__"}
    assert "Hamletville" not in _model_text(wd) and "Smalltown" not in _model_text(wd)
    assert "column 'ward': 2 value(s) held by fewer than 5 patients pooled" in err


def _blanks_csv(wd: Path) -> list:
    rows = [f"{20 + i}, {' Homme ' if i % 2 else 'Femme'},{'malignant' if i % 4 == 0 else 'benign'}" for i in range(40)]
    path = wd / "blanks.csv"
    path.write_text("age, sex ,diagnosis\n" + "\n".join(rows) + "\n")
    return [*FIT, "--data", path, "--condition", "diagnosis"]


def _check_blanks(wd: Path, err: str) -> None:
    schema = _schema(wd)
    assert list(schema) == ["age", " sex ", "diagnosis"]
    assert set(schema[" sex "]["categories"]) == {"  Homme ", " Femme"}  # ", " + " Homme "
    code, out, err = invoke(["sample", "--no-tracking", "--n", "20", "--out", wd / "s.csv"])
    assert code == 0, err
    back = pd.read_csv(wd / "s.csv")
    assert list(back.columns) == ["age", " sex ", "diagnosis"]
    assert set(back[" sex "]) <= {"  Homme ", " Femme"}


def _lab_with_a_word() -> pd.DataFrame:
    frame = patients(60)
    frame["potassium"] = np.round(np.linspace(3.1, 5.3, 60), 2).astype(object)
    frame.loc[11, "potassium"] = "n/a-hemolysed"
    return frame


def _check_lab(wd: Path, err: str) -> None:
    assert _schema(wd)["potassium"]["kind"] == "continuous"
    assert "column 'potassium' read as continuous numbers; the words 'n/a-hemolysed' read as missing" in err


def _parquet(column: pa.Array):
    def make(wd: Path) -> list:
        table = pa.Table.from_pandas(patients(), preserve_index=False).append_column("extra", column)
        pq.write_table(table, wd / "t.parquet")
        return [*FIT, "--data", wd / "t.parquet", "--condition", "diagnosis"]

    return make


def _many_tiny_classes() -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(100) * 0.5, "code": [f"c{i // 2:02d}" for i in range(100)]})


def _check_tiny_classes(wd: Path, err: str) -> None:
    assert "warning: 50 of 50 classes have fewer than 5 training items" in err
    assert "the holdout and test splits are empty" in err
    assert "rows_" not in err  # warnings, not debug output


def _one_row_class() -> pd.DataFrame:
    frame = patients(40)
    frame.loc[0, "diagnosis"] = "sarcoma"
    return frame


TABLES = {
    "identifier columns (legal: left out, said per column)": Case(
        fit_table("ids.csv", _with_identifiers()), outcome="ok", check=_check_identifiers_out
    ),
    "--kind keeps an identifier knowingly (legal: every value pooled)": Case(
        fit_table("ids.csv", _with_identifiers(), "--kind", "mrn=categorical"),
        outcome="ok", check=_check_identifier_kept_knowingly,
    ),
    "mixed date formats (legal: a datetime)": Case(
        fit_table("dates.csv", _mixed_dates(zones=False)), outcome="ok", check=_check_date
    ),
    "--kind datetime on mixed time zones (legal: read as UTC)": Case(
        fit_table("zones.csv", _mixed_dates(zones=True), "--kind", "admitted=datetime"),
        outcome="ok", check=_check_date,
    ),
    "rare categories (legal: pooled)": Case(
        fit_table("wards.csv", _rare_wards()), outcome="ok", check=_check_rare
    ),
    "blanks around names and values (legal: kept)": Case(_blanks_csv, outcome="ok", check=_check_blanks),
    "one word in a lab column (legal: numeric)": Case(
        fit_table("lab.csv", _lab_with_a_word()), outcome="ok", check=_check_lab
    ),
    "parquet list column": Case(
        _parquet(pa.array([[1, 2]] * 40, type=pa.list_(pa.int64()))), ("'extra'", "nested", "--drop extra")
    ),
    "parquet struct column": Case(
        _parquet(pa.array([{"a": 1}] * 40)), ("'extra'", "nested")
    ),
    "parquet binary column": Case(_parquet(pa.array([b"\x00\x01"] * 40)), ("'extra'", "binary")),
    "2-row table": Case(
        fit_table("two.csv", patients(2).assign(diagnosis=["benign", "malignant"])),
        ("single training item",),
    ),
    "a class with a single row": Case(
        fit_table("one.csv", _one_row_class()), ("'sarcoma'", "single training item")
    ),
    "50 classes of 2 rows (legal: warned with numbers)": Case(
        fit_table("codes.csv", _many_tiny_classes(), condition="code"),
        outcome="ok", check=_check_tiny_classes,
    ),
}


# -- a fitted model, edited or misused -----------------------------------------------------------


def _edited(change):
    def make(wd: Path, model: Path) -> list:
        copy = _copy_model(wd, model)
        doc = json.loads((copy / "model.json").read_text())
        change(doc)
        (copy / "model.json").write_text(json.dumps(doc))
        return ["sample", "--no-tracking", "--model", copy, "--n", "4"]

    return make


def _embedding(doc) -> None:
    doc["metadata"]["model"]["embedding_dim"] = 64


def _unknown_key(doc) -> None:
    doc["metadata"]["model"]["colour"] = "blue"


def _file_store(wd: Path) -> list:
    patients().to_csv(wd / "t.csv", index=False)
    tracked_fit = [a for a in FIT if a != "--no-tracking"]
    return [*tracked_fit, "--tracking-uri", f"file:{wd}/mlruns", "--data", wd / "t.csv", "--condition", "diagnosis"]


CLI = {
    "model.json with a changed embedding_dim": Case(
        _edited(_embedding), ("model.json", "'metadata.model.embedding_dim'", "modified"), needs_model=True
    ),
    "model.json with an unknown nested key": Case(
        _edited(_unknown_key), ("model.json", "'metadata.model.colour'", "modified"), needs_model=True
    ),
    "file: tracking URI": Case(_file_store, ("file:", "SQLite")),
    "table model --out x.npz": Case(sample("--n", "4", "--out", "x.npz"), ("x.npz", "table rows"), needs_model=True),
}

CORPUS = {**{f"table: {k}": v for k, v in TABLES.items()}, **{f"cli: {k}": v for k, v in CLI.items()}}


@pytest.mark.parametrize("name", list(CORPUS))
def test_bad_input(name, workdir, request):
    run_case(CORPUS[name], workdir, request)


# -- 2D images: colour among grey, and a folder model asked for a file ---------------------------


def _pngs(folder: Path, rgb_file: bool = False) -> Path:
    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (folder / label).mkdir(parents=True)
        for i in range(6):
            Image.fromarray((rng.random((16, 16)) * 255).astype(np.uint8)).save(folder / label / f"{i}.png")
    if rgb_file:
        Image.fromarray((rng.random((16, 16, 3)) * 255).astype(np.uint8)).save(folder / "a" / "colour.png")
    return folder


IMAGE_FIT = (*FIT, "--image-size", "8", "--condition", "label")


def test_rgb_png_among_grayscale_is_named(workdir):
    data = _pngs(workdir / "xrays", rgb_file=True)
    before = listing(workdir)
    code, out, err = invoke([*IMAGE_FIT, "--data", data])
    assert_one_line_error(code, out, err, ("colour.png", "RGB image among grayscale"))
    assert listing(workdir) == before


def test_image_model_refuses_a_table_out(workdir):
    data = _pngs(workdir / "xrays")
    code, out, err = invoke([*IMAGE_FIT, "--data", data, "--name", "img"])
    assert code == 0, err
    before = listing(workdir)
    code, out, err = invoke(["sample", "--no-tracking", "--n", "4", "--out", workdir / "imgs.csv"])
    assert_one_line_error(code, out, err, ("imgs.csv", "folder"))
    assert listing(workdir) == before

"""Read and write tables (CSV, TSV, Parquet), the format chosen by the file extension.

Reading failures become one-line ``DataError``s naming the file; writing is atomic.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from synthgen.atomic import staged_file
from synthgen.errors import DataError

DELIMITERS = {".csv": ",", ".tsv": "\t"}
PARQUET = (".parquet", ".pq")
SUFFIXES = (*DELIMITERS, *PARQUET)


def table_format(path: str | os.PathLike) -> str:
    """The extension that picks the reader/writer; an unknown one is a ``DataError``."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"{path}: unknown table format {suffix or '(no extension)'!r}; use {', '.join(SUFFIXES)}"
        )
    return suffix


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV / TSV / Parquet file into a DataFrame (at least one column and one row)."""
    path = Path(path)
    suffix = table_format(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    try:
        df = _read_parquet(path) if suffix in PARQUET else _read_delimited(path, DELIMITERS[suffix])
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if df.shape[1] == 0 or len(df) == 0:
        raise DataError(f"{path}: no data rows")
    return df


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    with open(path, "rb") as f:
        head = f.read(8192)
    if b"\x00" in head:
        raise DataError(f"{path}: looks like a binary file, not {'CSV' if sep == ',' else 'TSV'} text")
    try:
        # Names and values exactly as written: a blank after a comma is part of the value (a
        # category " Homme " must come back as " Homme ", or the output's columns change).
        df = pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: no columns to read") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except pd.errors.ParserError as e:
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else "malformed"
        raise DataError(f"{path}: cannot parse ({reason})") from None
    _check_header(path, sep, df)
    return df


def _check_header(path: Path, sep: str, df: pd.DataFrame) -> None:
    """A TSV named .csv, and duplicate names (pandas silently renames a second 'x' to 'x.1')."""
    if sep == "," and df.shape[1] == 1 and "\t" in str(df.columns[0]):
        raise DataError(f"{path}: looks tab-separated, not comma-separated; name it .tsv")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f, delimiter=sep), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return  # pandas read it; only the duplicate-name check is skipped
    seen = set()
    for name in header:
        if name and name in seen:
            raise DataError(f"{path}: column {name!r} appears more than once in the header")
        seen.add(name)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except OSError:
        raise
    except Exception as e:  # pyarrow raises its own ArrowInvalid & co. for non-Parquet bytes
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: not a readable Parquet file ({first})") from None


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` atomically; Parquet keeps every dtype, CSV/TSV write ISO dates."""
    path = Path(path)
    suffix = table_format(path)
    with staged_file(path) as tmp:
        if suffix in PARQUET:
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, sep=DELIMITERS[suffix], index=False)
    return path

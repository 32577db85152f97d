"""Dates written as text: recognise them, parse them to UTC, and name the format to write back.

A column of dates must be modelled as dates. Left as text it would become a categorical whose
categories are real admission timestamps, replayed verbatim in every sample.

- One format parses every value (``2024-01-31``, ``31/01/2024``): that format reads and writes
  the column, so d/m vs m/d ambiguity round-trips.
- Otherwise, if every value still reads as a date (mixed formats, ``Z`` or ``+01:00`` offsets,
  ``Jan 5, 2024``), the column is parsed value by value and converted to UTC; it is written back
  as ISO text in UTC (``text_format`` is ``None``).
"""

from __future__ import annotations

import re

import pandas as pd

# A value looks like a date: a year, with separators, optionally a time and a zone.
_ISO_OR_DMY = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?\s*$"
)
_MONTH_NAME = re.compile(
    r"^\s*(\d{1,2}\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2},?\s+)?"
    r"(1[89]|20)\d{2}\b", re.IGNORECASE
)
FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
)
MIXED = "mixed"  # no single format: parse each value, convert to UTC
SAMPLE = 500  # distinct values checked when guessing


def looks_like_dates(values: pd.Series) -> bool:
    """Every (sampled, distinct) string value has the shape of a date."""
    if len(values) == 0 or pd.api.types.infer_dtype(values, skipna=True) != "string":
        return False
    sample = pd.Series(pd.unique(values))[:SAMPLE].astype("object")
    return bool(sample.map(lambda v: bool(_ISO_OR_DMY.match(v) or _MONTH_NAME.match(v))).all())


def date_format(values: pd.Series) -> str | None:
    """The first format that parses every sampled value; ``MIXED`` if only value-by-value
    parsing reads them all; ``None`` if they are not dates."""
    if not looks_like_dates(values):
        return None
    sample = pd.Series(pd.unique(values))[:SAMPLE].astype("object")
    for fmt in FORMATS:
        if pd.to_datetime(sample, format=fmt, errors="coerce").notna().all():
            return fmt
    if parse_text(sample, MIXED).notna().all():
        return MIXED
    return None


def parse_text(text: pd.Series, fmt: str | None) -> pd.Series:
    """Parse date text (NaT where it does not parse); mixed formats and zones end up in UTC."""
    text = text.astype("object")
    if fmt in (None, MIXED):
        return pd.to_datetime(text, format="mixed", utc=True, errors="coerce")
    return pd.to_datetime(text, format=fmt, errors="coerce")

"""Columns that identify people: found before a model ever sees them, and left out.

A generator trained on a medical record number, a name or free-text notes would learn to replay
them: every synthetic row would carry a real patient's identifier. ``identifier_reason`` says
why a column looks like one (or ``None``):

- its name says so (``mrn``, ``ssn``, ``email``, ``phone``, ``..._id``, ``name``, ...);
- it is near-unique text or whole numbers (a code per row is a key, not a category);
- it is free text (long strings with blanks, mostly distinct: notes, addresses).

Measurements (floats) are never flagged by their values: near-unique is what they are. A user
who knows better names the column's kind (``--kind col=categorical``), which keeps it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Name tokens (split on non-letters and camelCase) that mark a personal identifier.
_ID_TOKENS = frozenset(
    {"id", "ids", "mrn", "ssn", "nhs", "email", "mail", "phone", "telephone", "tel", "mobile",
     "passport", "uuid", "guid"}
)
# Whole names (letters only, lower case) that hold a person's name or address.
_ID_NAMES = frozenset(
    {"name", "fullname", "firstname", "lastname", "surname", "givenname", "familyname",
     "patientname", "patient", "address", "streetaddress", "street", "postcode", "zipcode",
     "dob", "dateofbirth", "birthdate", "socialsecuritynumber", "medicalrecordnumber"}
)
UNIQUE_SHARE = 0.9  # distinct / non-missing text values above which the text is a key
MIN_ROWS_FOR_UNIQUE = 20  # below this, "every value distinct" says nothing
# Whole numbers: ages or counts in a small table are often all distinct; a key stays unique
# where measurements cannot (100 rows hold at most ~100 distinct ages).
INTEGER_UNIQUE_SHARE = 0.95
MIN_ROWS_FOR_UNIQUE_INTEGERS = 100
FREE_TEXT_CHARS = 25  # median length of free text (with blanks) ...
FREE_TEXT_SHARE = 0.5  # ... that is mostly distinct


def identifier_reason(series: pd.Series, kind: str) -> str | None:
    """Why ``series`` (inferred as ``kind``) looks like a personal identifier, or ``None``."""
    if kind == "boolean":
        return None
    by_name = _by_name(str(series.name))
    if by_name or kind not in ("categorical", "integer"):
        return by_name  # measurements and dates are near-unique by nature
    values = series.dropna()
    if isinstance(series.dtype, pd.CategoricalDtype) or len(values) == 0:
        return None
    if kind == "integer":
        return _near_unique(values, "whole numbers", INTEGER_UNIQUE_SHARE, MIN_ROWS_FOR_UNIQUE_INTEGERS)
    text = values.astype(str)
    return _free_text(text) or _near_unique(text, "text")


def _by_name(name: str) -> str | None:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    tokens = [t for t in re.split(r"[^A-Za-z]+", spaced.lower()) if t]
    if any(t in _ID_TOKENS for t in tokens) or "".join(tokens) in _ID_NAMES:
        return "its name marks an identifier"
    return None


def _near_unique(
    values: pd.Series, what: str, share: float = UNIQUE_SHARE, min_rows: int = MIN_ROWS_FOR_UNIQUE
) -> str | None:
    n = len(values)
    distinct = values.nunique()
    if n >= min_rows and distinct / n >= share:
        return f"{what} with {distinct} distinct values in {n} rows"
    return None


def _free_text(text: pd.Series) -> str | None:
    lengths = text.str.len().to_numpy()
    blanks = text.str.contains(r"\s", regex=True).mean()
    if float(np.median(lengths)) >= FREE_TEXT_CHARS and blanks >= 0.5 and text.nunique() / len(text) >= FREE_TEXT_SHARE:
        return "free text"
    return None

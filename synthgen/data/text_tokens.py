"""Mostly numeric columns with a few words in them ("n/a-hemolysed" among potassium values).

Read as text, such a column would become a categorical with one category per measured value.
A lab export usually means those words as "no value": the column is numeric, the words are
missing values, and the user is told which words were read that way (once, in one line).
A column with many words, or many different ones, stays categorical.
"""

from __future__ import annotations

import pandas as pd

MAX_TOKEN_SHARE = 0.1  # words may be at most this share of a column's values ...
MAX_TOKENS = 5  # ... and this many different words
MIN_NUMBERS = 10  # a column needs this many numbers to be called numeric


def missing_tokens(series: pd.Series) -> list[str] | None:
    """The words of a mostly numeric text column (sorted), or ``None`` if it is not one."""
    values = series.dropna()
    if len(values) == 0 or pd.api.types.is_numeric_dtype(series.dtype):
        return None
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "mixed", "mixed-integer", "mixed-integer-float"):
        return None
    numbers = pd.to_numeric(values.astype("object"), errors="coerce")
    words = values[numbers.isna()].astype(str)
    if not len(words):
        return []
    tokens = sorted(set(words))
    share = len(words) / len(values)
    if numbers.notna().sum() < MIN_NUMBERS or share > MAX_TOKEN_SHARE or len(tokens) > MAX_TOKENS:
        return None
    return tokens

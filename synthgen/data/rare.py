"""Rare categories: values seen for fewer than k distinct patients are pooled, never kept.

A category that one patient has (a rare diagnosis code, a village, a free-typed remark) points
at that patient as surely as a name does. Such values are replaced before the model sees them:
text categories by one pooled value, ``RARE``; categories that are numbers (a column given as
``--kind col=categorical``) by a missing value, which keeps the column's dtype. Neither the
model folder nor any output ever holds the original value.

Patients are counted by the patient id column when the table has one, else one row = one patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

RARE = "__rare__"


@dataclass(frozen=True)
class PrivacyRules:
    """What schema inference leaves out; the defaults protect, a user may loosen them knowingly."""

    exclude_identifiers: bool = True
    min_category_count: int = 5  # distinct patients a category needs to be kept verbatim
    patient_column: str | None = None


def rare_values(series: pd.Series, groups: pd.Series | None, min_count: int) -> set[Any]:
    """The values of ``series`` held by fewer than ``min_count`` distinct patients."""
    if min_count <= 1:
        return set()
    present = series.notna()
    if groups is None:
        counts = series[present].value_counts(sort=False)
    else:
        frame = pd.DataFrame({"value": series[present], "group": groups[present]})
        counts = frame.groupby("value", sort=False, observed=True)["group"].nunique()
    return set(counts.index[(counts > 0) & (counts < min_count)])  # 0: a dtype category never seen

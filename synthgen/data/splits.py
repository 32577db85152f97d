"""Train / holdout / test splits, stratified by class and kept at patient level.

Made once, before fitting, and saved with the run: the generator sees only ``train``; the
evaluation uses ``holdout`` (never seen, for memorization) and ``test`` (never seen, for
downstream gains). When patient ids exist, all items of a patient land in one split so
slices of one scan never sit on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthgen.errors import DataError

SPLITS = ("train", "holdout", "test")


@dataclass(frozen=True)
class Splits:
    train: np.ndarray
    holdout: np.ndarray
    test: np.ndarray

    def to_dict(self) -> dict[str, list[int]]:
        return {name: getattr(self, name).tolist() for name in SPLITS}

    @classmethod
    def from_dict(cls, d: dict[str, Sequence[int]]) -> "Splits":
        return cls(**{name: np.asarray(d[name], dtype=np.int64) for name in SPLITS})

    def sizes(self) -> dict[str, int]:
        return {name: int(len(getattr(self, name))) for name in SPLITS}


def make_splits(
    labels: Sequence[str],
    *,
    holdout: float,
    test: float,
    seed: int,
    groups: Sequence[str] | None = None,
    fixed_test: Sequence[int] | None = None,
) -> Splits:
    """Split item indices per class; ``fixed_test`` (e.g. an .npz's own test split) is kept.

    With ``fixed_test`` the remaining items are split into train and holdout only, holdout
    taking the same fraction of them.
    """
    frame = pd.DataFrame({"label": [str(v) for v in labels]})
    frame["unit"] = np.arange(len(frame)) if groups is None else [str(g) for g in groups]
    if fixed_test is not None:
        fixed_test = np.sort(np.asarray(fixed_test, dtype=np.int64))
        frame = frame.drop(index=fixed_test)
        test = 0.0
    # A unit (patient, or a single row) takes its most common label.
    unit_label = _unit_labels(frame)
    rng = np.random.default_rng(seed)
    assigned: dict[str, list] = {name: [] for name in SPLITS}
    for label, members in unit_label.groupby(unit_label, sort=True):
        units = members.index.to_numpy()[rng.permutation(len(members))]
        n = len(units)
        n_test, n_hold = int(round(test * n)), int(round(holdout * n))
        if n - n_test - n_hold < 1:
            kind = "patients" if groups is not None else "rows"
            raise DataError(
                f"class {label!r} has only {n} {kind}: too few to leave any for training "
                "after the holdout and test splits"
            )
        assigned["test"].extend(units[:n_test])
        assigned["holdout"].extend(units[n_test : n_test + n_hold])
        assigned["train"].extend(units[n_test + n_hold :])
    out = {
        name: np.sort(frame.index[frame["unit"].isin(assigned[name])].to_numpy(dtype=np.int64))
        for name in SPLITS
    }
    if fixed_test is not None:
        out["test"] = fixed_test
    return Splits(**out)


def _unit_labels(frame: pd.DataFrame) -> pd.Series:
    """Label per unit: the unit's most common label (a patient normally has just one)."""
    counts = frame.groupby(["unit", "label"], sort=True).size().reset_index(name="n")
    top = counts.sort_values(["unit", "n"], ascending=[True, False], kind="stable")
    return top.drop_duplicates("unit").set_index("unit")["label"]

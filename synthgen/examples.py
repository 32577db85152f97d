"""Example data sets that ship inside installed packages: nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

from synthgen import atomic


def breast_cancer_frame():
    """Wisconsin diagnostic breast cancer (569 patients, 30 features) with a text diagnosis."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.drop(columns=["target"])
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    # sklearn codes 0 = malignant, 1 = benign
    frame["diagnosis"] = bunch.target.map(dict(enumerate(bunch.target_names))).astype(str)
    return frame


EXAMPLES = {"breast-cancer": breast_cancer_frame}


def write_example(name: str, out: str | Path | None = None) -> Path:
    out = Path(out) if out else Path("examples") / f"{name.replace('-', '_')}.csv"
    frame = EXAMPLES[name]()
    with atomic.staged_file(out) as tmp:
        frame.to_csv(tmp, index=False)
    return out

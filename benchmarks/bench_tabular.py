"""synthgen's tabular GAN against ctgan on UCI Adult: speed and fidelity, printed in one table.

Same rows, epochs and batch size for both. ctgan runs in its own throwaway venv (it pins
pandas < 3 and is under the Business Source License, so it never enters synthgen's
environment); the two exchange data as CSV files.

    python3 -m venv benchmarks/.venv-ctgan
    benchmarks/.venv-ctgan/bin/pip install torch==2.13.0   # first, so ctgan keeps this torch
    benchmarks/.venv-ctgan/bin/pip install ctgan
    .venv/bin/python benchmarks/bench_tabular.py [--epochs 5] [--batch-size 500] [--skip-ctgan]

Measured per model: preprocessing seconds (schema + mixture fits + transform), seconds per
epoch, sampling rows/s, and fidelity of as many synthetic rows as real ones: mean per-column
1-KS / 1-TVD (1 is best) and a cross-validated real-vs-synthetic detection AUC (0.5 is best).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd

from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.data.tabular import DISCRETE_KINDS, infer_schema, read_table
from synthgen.evaluation.fidelity import column_shapes, detection_auc
from synthgen.models.tabular.encoder import TableEncoder
from synthgen.models.tabular.synthesizer import TabularSynthesizer

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "adult.csv"
CTGAN_PYTHON = ROOT / "benchmarks" / ".venv-ctgan" / "bin" / "python"

# Runs inside the ctgan venv. Preprocessing is timed by wrapping ctgan's own DataTransformer
# calls inside CTGAN.fit, so the mixture fits are counted once, exactly as ctgan does them.
CTGAN_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import pandas as pd
    import ctgan.synthesizers.ctgan as impl
    from ctgan import CTGAN

    src, out, epochs, batch, n_speed, seed = sys.argv[1:7]
    discrete = json.loads(sys.argv[7])
    df = pd.read_csv(src)
    spent = {"pre": 0.0}
    def timed(fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent["pre"] += time.perf_counter() - t
        return wrapper
    impl.DataTransformer.fit = timed(impl.DataTransformer.fit)
    impl.DataTransformer.transform = timed(impl.DataTransformer.transform)
    model = CTGAN(epochs=int(epochs), batch_size=int(batch), cuda=False)
    model.set_random_state(int(seed))
    t = time.perf_counter()
    model.fit(df, discrete)
    fit = time.perf_counter() - t
    model.sample(1000)  # warm-up
    t = time.perf_counter()
    model.sample(int(n_speed))
    sample_s = time.perf_counter() - t
    model.sample(len(df)).to_csv(out, index=False)
    print(json.dumps({"preprocess_s": spent["pre"], "epoch_s": (fit - spent["pre"]) / int(epochs),
                      "rows_per_s": int(n_speed) / sample_s}))
    """
)


def run_synthgen(df: pd.DataFrame, condition: str, args) -> tuple[dict, pd.DataFrame]:
    model = TabularModelConfig()
    train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, device="cpu",
                        progress=False)
    # Preprocessing alone, exactly the calls fit() makes before training.
    t = time.perf_counter()
    schema = infer_schema(df, condition)
    encoder = TableEncoder.fit(df, schema, max_modes=model.max_modes, gmm_max_rows=model.gmm_max_rows,
                               max_categories=model.max_categories, seed=args.seed)
    encoder.transform(df, schema, seed=args.seed)
    preprocess = time.perf_counter() - t
    # Training: epoch times from the callback (the first epoch includes preprocessing again).
    stamps: list[float] = []
    t = time.perf_counter()
    synth = TabularSynthesizer(model, train).fit(df, condition, callback=lambda e, m: stamps.append(time.perf_counter()))
    fit = time.perf_counter() - t
    epoch = (fit - preprocess) / args.epochs
    synth.sample(1000, seed=1)  # warm-up
    t = time.perf_counter()
    synth.sample(args.speed_rows, seed=2)
    rows_per_s = args.speed_rows / (time.perf_counter() - t)
    sample = synth.sample(len(df), seed=3)  # training proportions, like ctgan's sample()
    return {"preprocess_s": preprocess, "epoch_s": epoch, "rows_per_s": rows_per_s}, sample


def run_ctgan(df: pd.DataFrame, discrete: list[str], args, tmp: Path) -> tuple[dict, pd.DataFrame]:
    src, out = tmp / "real.csv", tmp / "ctgan.csv"
    df.to_csv(src, index=False)
    cmd = [str(args.ctgan_python), "-c", CTGAN_SCRIPT, str(src), str(out), str(args.epochs),
           str(args.batch_size), str(args.speed_rows), str(args.seed), json.dumps(discrete)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"ctgan run failed:\n{done.stderr[-3000:]}")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    return stats, pd.read_csv(out)


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, categorical: list[str], seed: int) -> dict:
    synthetic = synthetic[list(real.columns)].astype({c: real[c].dtype for c in real.columns if c not in categorical})
    shapes = column_shapes(real, synthetic, categorical)
    auc = detection_auc(real, synthetic, categorical, folds=5, seed=seed)
    return {"shape_score": float(shapes["score"].mean()), "detection_auc": auc}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--condition", default="income")
    p.add_argument("--rows", type=int, default=None, help="first N rows only (default: all)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--speed-rows", type=int, default=200_000, help="rows drawn to time sampling")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ctgan-python", type=Path, default=CTGAN_PYTHON)
    p.add_argument("--skip-ctgan", action="store_true")
    args = p.parse_args(argv)

    df = read_table(args.data)
    if args.rows:
        df = df.iloc[: args.rows].reset_index(drop=True)
    schema = infer_schema(df, args.condition)
    categorical = [c.name for c in schema.columns if c.kind in DISCRETE_KINDS]
    print(f"{args.data.name}: {len(df)} rows x {df.shape[1]} columns, {args.epochs} epochs, "
          f"batch {args.batch_size}, condition {args.condition!r}", flush=True)

    results = {}
    stats, sample = run_synthgen(df, args.condition, args)
    results["synthgen"] = {**stats, **fidelity(df, sample, categorical, args.seed)}
    print("synthgen done", flush=True)
    if not args.skip_ctgan:
        if not args.ctgan_python.exists():
            sys.exit(f"{args.ctgan_python}: no ctgan venv (see this file's docstring), or --skip-ctgan")
        with tempfile.TemporaryDirectory() as tmp:
            stats, sample = run_ctgan(df, categorical, args, Path(tmp))
        results["ctgan"] = {**stats, **fidelity(df, sample, categorical, args.seed)}

    table = pd.DataFrame(results).T[["preprocess_s", "epoch_s", "rows_per_s", "shape_score", "detection_auc"]]
    print(table.to_string(float_format=lambda v: f"{v:,.3f}"))
    if "ctgan" in results:
        ours, theirs = results["synthgen"], results["ctgan"]
        print(f"speed-up: preprocessing {theirs['preprocess_s'] / ours['preprocess_s']:.1f}x, "
              f"epochs {theirs['epoch_s'] / ours['epoch_s']:.1f}x, "
              f"sampling {ours['rows_per_s'] / theirs['rows_per_s']:.1f}x")


if __name__ == "__main__":
    main()

"""Scale check: a 1,000,000-row table with a 10,000-category column, end to end, with memory.

The table is made on the fly (seeded) and written to a Parquet (or CSV) file, then goes through
the same calls ``synthgen fit`` / ``sample`` make: read -> schema inference -> encoder fit ->
encoder transform -> training (one epoch by default) -> sampling. Each stage prints its wall
time, its CPU time and the peak resident memory seen while it ran (a thread reads
``/proc/self/statm`` every 10 ms); the end prints the process peak (``ru_maxrss``).

    .venv/bin/python benchmarks/bench_large_table.py                      # 1M rows, 1 epoch
    .venv/bin/python benchmarks/bench_large_table.py --rows 200000 --epochs 1 --sample-rows 100000
    SYNTHGEN_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/bench_large_table.py

Columns: ``age`` (integer), ``bmi`` (continuous, two modes), ``crp`` (continuous, 8% missing),
``visit`` (datetime), ``code`` (10,000 categories, Zipf-like: a few common, a long rare tail),
``smoker`` (boolean), ``outcome`` (the condition: three classes, 85 / 12 / 3 %).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.data.tabular import category_codes, infer_schema, read_table, write_table
from synthgen.models.tabular.encoder import TableEncoder
from synthgen.models.tabular.synthesizer import TabularSynthesizer

_PAGE = os.sysconf("SC_PAGE_SIZE")


def make_table(rows: int, categories: int, seed: int) -> pd.DataFrame:
    """The synthetic patient table described in the module docstring (vectorized, seeded)."""
    rng = np.random.default_rng(seed)
    outcome = rng.choice(np.array(["none", "readmitted", "died"]), rows, p=[0.85, 0.12, 0.03])
    sick = outcome != "none"
    zipf = 1.0 / np.arange(1, categories + 1)
    code = rng.choice(categories, rows, p=zipf / zipf.sum())
    labels = np.char.add("D", np.char.zfill(np.arange(categories).astype(str), 5))
    crp = rng.lognormal(1.0 + sick, 0.8, rows)
    crp[rng.random(rows) < 0.08] = np.nan
    return pd.DataFrame(
        {
            "age": rng.integers(18, 95, rows) + 5 * sick,
            "bmi": np.where(rng.random(rows) < 0.7, rng.normal(24, 3, rows), rng.normal(33, 4, rows)),
            "crp": crp,
            "visit": pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, rows), unit="D"),
            "code": pd.Series(labels[code], dtype="str"),
            "smoker": rng.random(rows) < 0.25 + 0.2 * sick,
            "outcome": pd.Series(outcome, dtype="str"),
        }
    )


class MemoryWatch:
    """Peak RSS per stage, read from /proc/self/statm by a background thread."""

    def __init__(self, every_s: float = 0.01):
        self.every_s, self.peak, self._stop = every_s, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak = max(self.peak, self.rss())

    def reset(self) -> None:
        self.peak = self.rss()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def stage(name: str, watch: MemoryWatch, results: list):
    watch.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = max(watch.peak, watch.rss())
    results.append((name, wall, cpu, peak))
    print(f"{name:<18} {wall:8.2f} s wall {cpu:8.2f} s cpu   peak RSS {peak / 2**30:6.2f} GiB", flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--categories", type=int, default=10_000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--sample-rows", type=int, default=100_000)
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fit-rows", type=int, default=None,
                   help="train on the first N rows only (a quick look at the other stages)")
    args = p.parse_args(argv)

    model = TabularModelConfig()
    train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, device="cpu",
                        progress=False, checkpoint_every=0)
    watch, results = MemoryWatch(), []
    print(f"{args.rows:,} rows, {args.categories:,} categories, {args.epochs} epoch(s) at batch "
          f"{args.batch_size}, max_categories {model.max_categories}; RSS before: "
          f"{watch.rss() / 2**30:.2f} GiB", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"large.{args.format}"
        with stage("make + write", watch, results):
            write_table(make_table(args.rows, args.categories, args.seed), path)
        with stage("read", watch, results):
            df = read_table(path)
    with stage("infer schema", watch, results):
        schema = infer_schema(df, "outcome")
    with stage("encoder fit", watch, results):
        encoder = TableEncoder.fit(df, schema, max_modes=model.max_modes, gmm_max_rows=model.gmm_max_rows,
                                   max_categories=model.max_categories, seed=args.seed)
    with stage("encoder transform", watch, results):
        scalars, codes = encoder.transform(df, schema, seed=args.seed)
        category_codes(df["outcome"], schema["outcome"])
    print(f"  encoded: scalars {scalars.shape} {scalars.dtype}, codes {codes.shape} {codes.dtype} "
          f"({(scalars.nbytes + codes.nbytes) / 2**20:.0f} MiB); layout width {encoder.layout.dim}",
          flush=True)
    del scalars, codes
    fit_rows = args.fit_rows or args.rows
    steps = args.epochs * max(1, fit_rows // args.batch_size)
    with stage("fit (all of it)", watch, results):
        synth = TabularSynthesizer(model, train).fit(df.iloc[:fit_rows], "outcome", schema=schema)
    prep = sum(r[1] for r in results if r[0].startswith("encoder")) * fit_rows / args.rows
    print(f"  training alone ~{results[-1][1] - prep:.1f} s for {steps} steps "
          f"({(results[-1][1] - prep) / steps * 1000:.0f} ms/step)", flush=True)
    with stage(f"sample {args.sample_rows:,}", watch, results):
        out = synth.sample(args.sample_rows, balance="equal", seed=1)
    print(f"  {args.sample_rows / results[-1][1]:,.0f} rows/s; classes {out['outcome'].value_counts().to_dict()}; "
          f"distinct codes {out['code'].nunique():,}", flush=True)
    watch.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(f"process peak RSS (ru_maxrss): {peak / 2**30:.2f} GiB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

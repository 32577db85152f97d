"""One tabular training step: milliseconds, FLOPs, and its share of this machine's matmul rate.

    SYNTHGEN_THREADS=1 .venv/bin/python benchmarks/bench_tabular_step.py [--table adult] [--threads 1]

Fits the default model's encoder on a table of ``quality_tables.py``, builds the default GAN
exactly as ``fit`` does, then times ``--steps`` training steps (after a warm-up) at the batch the
budget rule gives that table. FLOPs per step are counted by torch's profiler over one step
(every matmul forward and backward, the gradient penalty's double backward included); the
machine's rate is fp32 ``mm`` at the step's largest layer shape on the same threads, so the share
says how much of the step is useful matmul work and how much is overhead (small kernels, random
numbers, Python).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_tables import TABLES  # noqa: E402

from synthgen.config import TabularModelConfig, TrainConfig, with_backend_defaults  # noqa: E402
from synthgen.data.schema import category_codes, infer_schema  # noqa: E402
from synthgen.models.tabular.encoder import TableEncoder  # noqa: E402
from synthgen.models.tabular.sampler import ConditionCoder, TrainingSampler  # noqa: E402
from synthgen.models.tabular.step import TrainingStep  # noqa: E402
from synthgen.models.tabular.trainer import RealRows, build_gan, plan_budget  # noqa: E402


def build_step(name: str, model: TabularModelConfig):
    df, condition = TABLES[name]()
    schema = infer_schema(df, condition)
    encoder = TableEncoder.fit(df, schema, max_modes=model.max_modes, gmm_max_rows=model.gmm_max_rows,
                               max_categories=model.max_categories, seed=0)
    scalars, codes = encoder.transform(df, schema, seed=0)
    classes = category_codes(df[condition], schema[condition])
    layout = encoder.layout
    coder = ConditionCoder(len(schema.labels), layout)
    real = RealRows(torch.from_numpy(scalars), torch.from_numpy(codes))
    sampler = TrainingSampler(torch.from_numpy(classes), real.codes, coder)
    train = with_backend_defaults(TrainConfig(device="cpu"), model)
    budget = plan_budget(len(df), model, train)
    parts = build_gan(layout, coder, model, torch.device("cpu"))
    rng = torch.Generator().manual_seed(0)
    return TrainingStep(parts, sampler, real, layout, model, budget.batch, rng), budget.batch, layout.dim


def matmul_gflops(m: int, k: int, n: int, seconds: float = 1.0) -> float:
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(5):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * m * k * n * count / (time.perf_counter() - start) / 1e9


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", default="adult", choices=list(TABLES))
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--set", dest="overrides", action="append", default=[], help="model option, e.g. aux_classifier=0")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    options = {k: float(v) for k, v in (o.split("=") for o in args.overrides)}
    model = TabularModelConfig(**options)
    step, batch, width = build_step(args.table, model)
    for _ in range(10):
        step()
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        step()
    flops = sum(e.flops for e in prof.key_averages() if e.flops)
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    ms = 1000 * float(np.median(times))
    peak = matmul_gflops(batch, max(model.generator_dims) * 2, width)
    achieved = flops / (ms / 1000) / 1e9
    print(f"{args.table}: batch {batch}, row width {width}, {args.threads} thread(s), options {options or 'default'}")
    print(f"  {ms:.2f} ms/step (median of {args.steps}), {flops / 1e6:.0f} MFLOP/step, "
          f"{achieved:.1f} GFLOP/s = {100 * achieved / peak:.0f}% of fp32 mm at the step's "
          f"largest layer shape ({peak:.1f} GFLOP/s)")


if __name__ == "__main__":
    main()

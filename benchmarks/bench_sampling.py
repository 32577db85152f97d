"""Sampling speed of the tabular synthesizer on UCI Adult, split into generator and decode time.

Fits the default model briefly (sampling speed does not depend on how well it is trained),
then times ``sample(n)`` end to end and the same work stage by stage:

- draw: conditions, noise and category uniforms (all randomness, on the CPU);
- network: ``SamplingGenerator`` (the folded generator) on those inputs;
- codes: tanh scalars and one category per block (``SpanLayout.sample_codes``);
- decode: inverse mode-specific normalization, pooled categories, dtype restoration (pandas).

It also times the plain ``Generator`` module on the dense one-hot input it was trained with
(what ``generate`` used to run), and this machine's fp32 matmul rate at the generator's shapes,
so the rows/s can be set against FLOPs per row. Wall and CPU seconds are both printed: on a
shared machine CPU time is the steadier measure of the work.

    .venv/bin/python benchmarks/bench_sampling.py [--rows 200000] [--threads 1] [--epochs 1]
    taskset -c 1 .venv/bin/python benchmarks/bench_sampling.py --threads 1
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from synthgen.config import TabularModelConfig, TrainConfig
from synthgen.data.schema import restore_decoded
from synthgen.data.tabular import read_table
from synthgen.models.tabular.networks import SamplingGenerator
from synthgen.models.tabular.sampler import GenerationConditions
from synthgen.models.tabular.synthesizer import COMPUTE_CHUNK, GENERATE_BATCH, TabularSynthesizer

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "adult.csv"


class Clock:
    """Accumulates wall and CPU seconds per named stage."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def time(self, name: str, fn, *args):
        w, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c
        return out


def staged_generate(synth: TabularSynthesizer, n: int, clock: Clock, seed: int = 2) -> None:
    """What ``generate`` does for ``n`` rows of the first class, each stage timed apart."""
    labels, layout, coder = synth.schema_.labels, synth.encoder_.layout, synth.coder_
    noise_dim = synth._configs()[0].embedding_dim
    network = SamplingGenerator(synth.generator_, noise_dim, len(labels))
    conditions = GenerationConditions(synth.class_value_counts_, coder)
    rng = torch.Generator().manual_seed(seed)
    class_idx = np.zeros(n, dtype=np.int64)
    scalars = torch.empty(n, layout.n_scalars)
    codes = torch.empty(n, len(layout.block_spans), dtype=torch.long)
    with torch.inference_mode():
        for start in range(0, n, GENERATE_BATCH):
            classes = torch.from_numpy(class_idx[start : start + GENERATE_BATCH])
            b = len(classes)

            def draw():
                cond = conditions.draw(classes, rng)
                z = torch.randn(b, noise_dim, generator=rng)
                return coder.positions(cond), z, torch.rand(b, len(layout.block_spans), generator=rng)

            positions, z, uniforms = clock.time("draw", draw)

            def run():
                raw = torch.empty(b, layout.dim)
                for a in range(0, b, COMPUTE_CHUNK):
                    raw[a : a + COMPUTE_CHUNK] = network(z[a : a + COMPUTE_CHUNK], positions[a : a + COMPUTE_CHUNK])
                return raw

            raw = clock.time("network", run)
            s, c = clock.time("codes", lambda: layout.sample_codes(raw, uniforms=uniforms))
            scalars[start : start + b], codes[start : start + b] = s, c

    def decode():
        columns = synth.encoder_.decode(scalars.numpy(), codes.numpy(), seed=seed)
        columns[synth.condition_] = class_idx
        return restore_decoded(columns, synth.schema_)

    clock.time("decode", decode)


def module_rows_per_s(synth: TabularSynthesizer, n: int) -> tuple[float, float]:
    """The plain Generator module on dense [noise | one-hot condition] rows (the training form)."""
    coder = synth.coder_
    dim = synth._configs()[0].embedding_dim + coder.dim
    x = torch.zeros(COMPUTE_CHUNK, dim)
    x[:, : dim - coder.dim] = torch.randn(COMPUTE_CHUNK, dim - coder.dim)
    x[:, dim - coder.dim] = 1.0
    clock = Clock()
    with torch.inference_mode():
        synth.generator_(x)
        for _ in range(0, n, COMPUTE_CHUNK):
            clock.time("module", synth.generator_, x)
    return n / clock.wall["module"], n / clock.cpu["module"]


def matmul_gflops(m: int, k: int, n: int, repeats: int = 30) -> tuple[float, float]:
    """fp32 matmul rate: (GFLOP per wall second, GFLOP per CPU second, i.e. per busy core)."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    a @ b
    w, c = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        a @ b
    flops = 2 * m * k * n * repeats / 1e9
    return flops / (time.perf_counter() - w), flops / (time.process_time() - c)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--condition", default="income")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    p.add_argument("--repeats", type=int, default=3, help="end-to-end runs; the best is reported")
    args = p.parse_args(argv)

    if args.threads:  # generate() applies it (configure_threads), as `synthgen sample` would
        os.environ["SYNTHGEN_THREADS"] = str(args.threads)
    df = read_table(args.data)
    train = TrainConfig(epochs=args.epochs, batch_size=500, seed=0, device="cpu", progress=False,
                        checkpoint_every=0)
    synth = TabularSynthesizer(TabularModelConfig(), train).fit(df, args.condition)
    threads = torch.get_num_threads()
    network = SamplingGenerator(synth.generator_, synth._configs()[0].embedding_dim, len(synth.schema_.labels))
    macs = network.noise.numel() + sum(w.numel() for w in network.hidden)
    dense_macs = sum(m.weight.numel() for m in synth.generator_.modules() if isinstance(m, torch.nn.Linear))
    print(f"{args.data.name}: {len(df):,} rows; layout width {synth.encoder_.layout.dim}, condition width "
          f"{synth.coder_.dim}; torch threads {threads}; load average {os.getloadavg()[0]:.1f}")
    print(f"generator FLOPs/row: {2 * dense_macs / 1e6:.3f} M as trained (dense one-hot input), "
          f"{2 * macs / 1e6:.3f} M folded (condition as row lookups)")

    synth.sample(1000, seed=1)  # warm-up
    best = None
    for _ in range(args.repeats):
        w, c = time.perf_counter(), time.process_time()
        synth.sample(args.rows, seed=2)
        w, c = time.perf_counter() - w, time.process_time() - c
        best = (w, c) if best is None or w < best[0] else best
    w, c = best
    print(f"sample({args.rows:,}) end to end: {args.rows / w:,.0f} rows/s wall ({w:.2f} s), "
          f"{args.rows / c:,.0f} rows per CPU-second ({c:.2f} s CPU)")

    clock = Clock()
    staged_generate(synth, args.rows, clock)
    for name in clock.wall:
        print(f"  {name:<8} {clock.wall[name]:6.3f} s wall {clock.cpu[name]:6.3f} s CPU"
              f"  = {clock.wall[name] / args.rows * 1e6:5.2f} us/row wall")
    gen = sum(clock.wall[k] for k in ("draw", "network", "codes"))
    print(f"  generator side (draw + network + codes) {args.rows / gen:,.0f} rows/s wall; "
          f"decode {args.rows / clock.wall['decode']:,.0f} rows/s wall")
    net_flops = 2 * macs * args.rows / clock.wall["network"] / 1e9
    print(f"  network alone: {args.rows / clock.wall['network']:,.0f} rows/s = {net_flops:.0f} GFLOP/s wall")
    mw, mc = module_rows_per_s(synth, args.rows)
    print(f"plain Generator module (dense one-hot input): {mw:,.0f} rows/s wall, {mc:,.0f} rows per CPU-second")
    shapes = [(COMPUTE_CHUNK, w.shape[0], w.shape[1]) for w in [network.noise, *network.hidden]]
    rates = [matmul_gflops(*s) for s in shapes]
    print("fp32 matmul at the folded generator's shapes (wall / per CPU-second): "
          + ", ".join(f"{m}x{k}x{n} {w:.0f} / {c:.0f} GFLOP/s" for (m, k, n), (w, c) in zip(shapes, rates)))
    for label, i in (("wall", 0), ("per CPU-second", 1)):
        mean = sum(2 * m * k * n for m, k, n in shapes) / sum(2 * m * k * n / r[i] for (m, k, n), r in zip(shapes, rates))
        print(f"network ceiling at those rates ({label}): {mean * 1e9 / (2 * macs):,.0f} rows/s")

if __name__ == "__main__":
    main()

"""Training throughput with 1 and N processes under torchrun (DDP): images/s and rows/s.

    .venv/bin/python benchmarks/bench_ddp.py [--procs 1 2] [--epochs 3] [--device cpu]

For each process count, ``torchrun --standalone --nproc_per_node=K`` runs this file in worker
mode, which fits
- the 2D image GAN on PneumoniaMNIST's official train split at 32 px (pipelines/pneumonia.yaml's
  model and batch), and
- the tabular GAN on Adult (all 32,561 rows, condition ``income``, configs/tabular.yaml),
timing each epoch with the training callback; rank 0 prints the median epoch after the first
(which includes warm-up). On the CPU each process takes cores / K threads, so this compares
one process using all cores against K processes splitting them; on a machine with K GPUs,
``--device cuda`` gives the multi-GPU figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def _timed_fit(fit, epochs: int) -> float:
    """Median seconds per epoch after the first, measured with the epoch callback."""
    stamps = [time.perf_counter()]
    fit(lambda epoch, losses: stamps.append(time.perf_counter()))
    laps = [b - a for a, b in zip(stamps[1:], stamps[2:])]
    return statistics.median(laps) if laps else stamps[-1] - stamps[0]


def worker(kind: str, epochs: int, device: str) -> None:
    import pandas as pd

    from synthgen import distributed
    from synthgen.config import ImageModelConfig, TabularModelConfig, TrainConfig

    info = distributed.setup(device)
    train = dict(epochs=epochs, seed=0, device=device, progress=False, checkpoint_every=0)
    if kind == "image":
        from synthgen.data.imaging import load_image_dataset
        from synthgen.models.imaging.synthesizer import ImageSynthesizer

        data = load_image_dataset(SHARED / "pneumoniamnist.npz", "label", image_size=32)
        data = data.subset([i for i, s in enumerate(data.source_split) if s == "train"])
        synth = ImageSynthesizer(ImageModelConfig(spatial_dims=2, image_size=32),
                                 TrainConfig(batch_size=64, **train))
        seconds = _timed_fit(lambda cb: synth.fit(data, callback=cb), epochs)
        n, unit = len(data), "images"
    else:
        from synthgen.models.tabular.synthesizer import TabularSynthesizer

        df = pd.read_csv(SHARED / "adult.csv")
        synth = TabularSynthesizer(TabularModelConfig(), TrainConfig(batch_size=500, **train))
        seconds = _timed_fit(lambda cb: synth.fit(df, "income", callback=cb), epochs)
        n, unit = len(df), "rows"
    if info.is_main:
        print(json.dumps({"kind": kind, "procs": info.world_size, "s_per_epoch": seconds,
                          "per_s": n / seconds, "unit": unit, "n": n}), flush=True)
    distributed.cleanup()


def run(kind: str, procs: int, epochs: int, device: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SYNTHGEN_THREADS", None)  # each process takes cores / processes
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}",
         __file__, "--worker", kind, "--epochs", str(epochs), "--device", device],
        env=env, capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} with {procs} process(es) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--kinds", nargs="+", default=["image", "table"])
    parser.add_argument("--worker", choices=["image", "table"])
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.epochs, args.device)

    print(f"{os.cpu_count()} cores; device {args.device}; load average {os.getloadavg()[0]:.2f}")
    for kind in args.kinds:
        base = None
        for procs in args.procs:
            r = run(kind, procs, args.epochs, args.device)
            base = base or r["per_s"]
            print(f"{kind:5s} x{procs}: {r['s_per_epoch']:.2f} s/epoch, {r['per_s']:,.0f} {r['unit']}/s "
                  f"({r['per_s'] / base:.2f}x of {args.procs[0]} process(es); {r['n']:,} {r['unit']})")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

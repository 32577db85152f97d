"""Wall time and figures of ``evaluate_images`` on the full PneumoniaMNIST train/test splits.

    python benchmarks/bench_evaluate_images.py [--synthetic test|noise|train] [--n 2500]
        [--seeds 5] [--report reports/bench-images]

The "synthetic" set is a stand-in with a known answer: real test images resampled to ``--n``
(looks real, so the FD is near the baseline by construction), uniform noise (must fail), or
training images (must be flagged as copies).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from synthgen.evaluation.images import evaluate_images
from synthgen.runtime import configure_threads

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pneumoniamnist.npz"


def load(split: str, d) -> tuple[np.ndarray, np.ndarray]:
    x = (d[f"{split}_images"].astype(np.float32) / 127.5 - 1)[:, None]
    y = np.where(d[f"{split}_labels"].ravel() == 1, "pneumonia", "normal")
    return x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--synthetic", choices=["test", "noise", "train"], default="test")
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--report", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch/BLAS threads (default: all cores; 1 when other jobs share them)")
    args = ap.parse_args()
    threads = configure_threads()
    if args.threads:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
        threads = args.threads
    d = np.load(args.data)
    (tx, ty), (ex, ey) = load("train", d), load("test", d)
    rng = np.random.default_rng(0)
    if args.synthetic == "noise":
        sx = rng.uniform(-1, 1, (args.n, *tx.shape[1:])).astype(np.float32)
        sy = np.array(["normal", "pneumonia"] * (args.n // 2))
    else:
        px, py = (ex, ey) if args.synthetic == "test" else (tx, ty)
        idx = rng.choice(len(px), args.n, replace=len(px) < args.n)
        sx, sy = px[idx], py[idx]
    start = time.perf_counter()
    result = evaluate_images(tx, ty, ex, ey, sx, sy, seeds=args.seeds,
                             progress=lambda m: print(f"[{time.perf_counter() - start:6.1f}s] {m}"))
    wall = time.perf_counter() - start
    print(f"threads {threads}; train {len(tx)}, test {len(ex)}, synthetic {len(sx)} "
          f"({args.synthetic}); wall {wall:.1f} s")
    print(json.dumps(result.meta["timings_s"]))
    for h in result.headline:
        print(f"{h.key:60s} {h.value:.4f}")
    for k, v in result.verdicts.items():
        print(f"{k}: {v}")
    for w in result.warnings:
        print("warning:", w)
    if args.report:
        from synthgen.report import write_report

        print(write_report(result, args.report))


if __name__ == "__main__":
    main()

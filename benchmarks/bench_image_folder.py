"""A new user's 2D NIfTI folder, timed: the default fit, a balanced sample and the default evaluation.

    .venv/bin/python benchmarks/bench_image_folder.py [--n 3166] [--keep DIR]

Writes ``--n`` real chest X-rays of PneumoniaMNIST (``../shared/data/pneumoniamnist.npz``: all
3,166 of its train, val and test images by default, 28 x 28) as one 2D NIfTI file each, with a ``labels.csv`` manifest (``image``,
``diagnosis``), into a fresh folder, then runs, each as its own CLI process with no options but
the data's:

    synthgen fit --data DIR --condition diagnosis --spatial-dims 2
    synthgen sample --n 1000 --balance
    synthgen evaluate

and prints each command's wall time and the report's verdicts (issue 13's bar: the fit within
20 minutes and the evaluation within 5 on 2 cores). MLflow is off (no server to time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pneumoniamnist.npz"
SYNTHGEN = [sys.executable, "-m", "synthgen.cli"]


def write_folder(folder: Path, n: int) -> dict[str, int]:
    d = np.load(DATA)
    splits = ("train", "val", "test")
    images = np.concatenate([d[f"{s}_images"] for s in splits])[:n]
    labels = np.concatenate([d[f"{s}_labels"].ravel() for s in splits])[:n]
    names = np.where(labels == 1, "pneumonia", "normal")
    rows = ["image,diagnosis"]
    for i, (img, name) in enumerate(zip(images, names)):
        file = f"xray_{i:05d}.nii.gz"
        nib.save(nib.Nifti1Image(img.astype(np.uint8).T[:, :, None], np.eye(4)), folder / file)
        rows.append(f"{file},{name}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return {str(c): int((names == c).sum()) for c in np.unique(names)}


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(SYNTHGEN + args + ["--no-tracking"], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"synthgen {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    print(f"synthgen {' '.join(args)}: {seconds:.0f} s", flush=True)
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3166)
    ap.add_argument("--keep", type=Path, help="work here (kept) instead of a temporary folder")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-image-folder-"))
    scans = work / "scans"
    scans.mkdir(parents=True, exist_ok=True)
    counts = write_folder(scans, args.n)
    print(f"{sum(counts.values())} images {counts} in {scans}", flush=True)
    times = {
        "fit": timed(["fit", "--data", str(scans), "--condition", "diagnosis", "--spatial-dims", "2"], work),
        "sample": timed(["sample", "--n", "1000", "--balance"], work),
        "evaluate": timed(["evaluate"], work),
    }
    model = json.loads((work / "runs" / "latest" / "model.json").read_text())
    steps = model["history"]["step"][-1] if model.get("history", {}).get("step") else None
    reports = sorted((work / "reports").glob("*/metrics.json"))
    verdicts = json.loads(reports[-1].read_text())["verdicts"] if reports else {}
    print(json.dumps({"seconds": {k: round(v) for k, v in times.items()}, "fit_steps": steps,
                      "image_size": model["metadata"]["model"]["image_size"],
                      "verdicts": {k: v.get("text", v) if isinstance(v, dict) else v
                                   for k, v in verdicts.items()}}, indent=2))


if __name__ == "__main__":
    main()

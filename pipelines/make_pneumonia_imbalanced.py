"""Make the imbalanced PneumoniaMNIST set the imaging pipeline trains on.

Keeps every normal X-ray and about a tenth of the pneumonia ones in the train and val splits,
and leaves the official test split untouched (balanced, never seen by any model):

    python pipelines/make_pneumonia_imbalanced.py            # -> examples/pneumonia_imbalanced.npz

The source is real data (MedMNIST v2, CC BY 4.0) shipped beside the repository in
../shared/data; nothing is downloaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "pneumoniamnist.npz"
PNEUMONIA = 1


def shrink(images: np.ndarray, labels: np.ndarray, keep: float, rng: np.random.Generator):
    minority = np.flatnonzero(labels[:, 0] == PNEUMONIA)
    kept = rng.choice(minority, size=max(1, round(keep * len(minority))), replace=False)
    index = np.sort(np.concatenate([np.flatnonzero(labels[:, 0] != PNEUMONIA), kept]))
    return images[index], labels[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=ROOT / "examples" / "pneumonia_imbalanced.npz")
    parser.add_argument("--keep", type=float, default=0.1, help="share of pneumonia images kept")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = dict(np.load(args.source))
    rng = np.random.default_rng(args.seed)
    for split in ("train", "val"):
        data[f"{split}_images"], data[f"{split}_labels"] = shrink(
            data[f"{split}_images"], data[f"{split}_labels"], args.keep, rng
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **data)
    tmp.replace(args.out)
    for split in ("train", "val", "test"):
        counts = np.bincount(data[f"{split}_labels"][:, 0], minlength=2)
        print(f"{split}: normal={counts[0]} pneumonia={counts[1]}")
    print(f"data: {args.out}")


if __name__ == "__main__":
    main()

"""A plain MONAI training loop whose batches mix real X-rays with synthetic ones.

    python pipelines/make_pneumonia_imbalanced.py
    synthgen fit --data examples/pneumonia_imbalanced.npz --condition label --image-size 32 --name pneumonia
    python pipelines/train_classifier_with_synthetic.py --model runs/pneumonia --share 1=0.8
    python pipelines/train_classifier_with_synthetic.py --model runs/pneumonia --share 0   # real only

Trains a small MONAI ``Classifier`` on the file's own train split plus synthetic images
(``--share 1=0.8``: 80 % of the pneumonia items are synthetic, drawn afresh each epoch), with
synthetic items weighted ``--synthetic-weight`` in the loss, and prints the balanced accuracy
on the file's untouched test split after each epoch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from monai.data import DataLoader
from monai.networks.nets import Classifier
from monai.transforms import Compose, RandAffined, RandFlipd
from sklearn.metrics import balanced_accuracy_score

import synthgen
from synthgen.data.imaging import load_image_dataset
from synthgen.data.mixing import MixedScanDataset
from synthgen.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def parse_share(text: str) -> float | dict[str, float]:
    """``0.5`` (every class) or ``1=0.8,0=0.1`` (per class label)."""
    if "=" not in text:
        return float(text)
    return {label: float(share) for label, share in (p.split("=", 1) for p in text.split(","))}


def split(data, name: str):
    return data.subset([i for i, s in enumerate(data.source_split) if s == name])


def evaluate(net: torch.nn.Module, test, classes: list[str]) -> float:
    with torch.no_grad():
        predicted = net.eval()(test.images).argmax(1).numpy()
    net.train()
    truth = np.array([classes.index(label) for label in test.labels])
    return balanced_accuracy_score(truth, predicted)


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    synth = synthgen.load(args.model)
    size = synth.model_config_.image_size
    data = load_image_dataset(args.data, synth.condition_, image_size=size)
    augment = Compose([RandFlipd(keys="image", prob=0.5, spatial_axis=1),
                       RandAffined(keys="image", prob=0.5, rotate_range=0.1, padding_mode="border")])  # fmt: skip
    augment.set_random_state(args.seed)
    ds = MixedScanDataset.from_image_dataset(split(data, "train"), synth, parse_share(args.share),
                                             transform=augment, seed=args.seed,
                                             redraw_each_epoch=True)  # fmt: skip
    print(f"train: {len(ds)} items, synthetic per class {ds.synthetic_counts}")
    net = Classifier(in_shape=(1, size, size), classes=len(ds.classes), channels=(16, 32, 64),
                     strides=(2, 2, 2))  # fmt: skip
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="none")
    loader = DataLoader(ds, batch_size=64, shuffle=True)
    test = split(data, "test")
    for epoch in range(args.epochs):
        ds.set_epoch(epoch)  # a fresh synthetic draw, seeded seed + epoch
        for batch in loader:
            weight = torch.where(batch["synthetic"], args.synthetic_weight, 1.0)
            loss = (loss_fn(net(batch["image"]), batch["label"]) * weight).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, "
              f"test balanced accuracy {evaluate(net, test, ds.classes):.3f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "runs" / "latest")
    parser.add_argument("--data", type=Path, default=ROOT / "examples" / "pneumonia_imbalanced.npz")
    parser.add_argument("--share", default="0.5", help="0.5, or per class: 1=0.8,0=0")
    parser.add_argument("--synthetic-weight", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        train(args)
    except (UserError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train and apply the small image classifier: one seeded loop for the encoder and every arm."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

# batch of images -> augmented batch of the same shape (seeded by whoever builds it)
Augment = Callable[[np.ndarray], np.ndarray]


def train_classifier(
    net: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    augment: Augment | None = None,
    class_weight: np.ndarray | None = None,
    device: str | torch.device = "cpu",
    stage: bool | None = None,
) -> list[float]:
    """Adam on cross-entropy; returns the mean loss of each epoch. ``y`` holds class indices.

    ``stage`` (default: on an accelerator): the images move to ``device`` once instead of per
    batch (not with ``augment``, which works on host arrays). The loss is summed on the device and read once per epoch, so no
    step waits for a sync.
    """
    device = torch.device(device)
    net.to(device).train()
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    weight = None if class_weight is None else torch.as_tensor(class_weight, dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=None if weight is None else weight.to(device))
    targets = torch.as_tensor(y, dtype=torch.long).to(device)
    # Staged on an accelerator; on the CPU each batch is copied out of ``x`` (a tensor indexed
    # in place can differ in the last bits, which would change a seed's numbers). Augmented
    # batches are made on the host, so they are never staged.
    if stage is None:
        stage = device.type != "cpu"
    images = torch.as_tensor(x, dtype=torch.float32).to(device) if stage and augment is None else None
    losses = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout draws
        for _ in range(epochs):
            order = rng.permutation(len(x))
            total = torch.zeros((), dtype=torch.float64, device=device)
            seen = 0
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                if len(idx) < 2:  # batch norm needs two samples
                    continue
                index = torch.as_tensor(idx, device=device)
                if images is None:
                    batch = x[idx] if augment is None else augment(x[idx])
                    xb = torch.as_tensor(batch, dtype=torch.float32, device=device)
                else:
                    xb = images[index]
                loss = loss_fn(net(xb), targets[index])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach().double() * len(idx)
                seen += len(idx)
            losses.append(float(total) / max(seen, 1))
    net.eval()
    return losses


@torch.no_grad()
def apply_in_batches(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: np.ndarray,
    *,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Run ``fn`` over ``x`` in batches; float64 numpy out (the statistics need the precision)."""
    out = []
    for start in range(0, len(x), batch_size):
        xb = torch.as_tensor(x[start : start + batch_size], dtype=torch.float32, device=device)
        out.append(fn(xb).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


def predict_proba(net: nn.Module, x: np.ndarray, device: str | torch.device = "cpu") -> np.ndarray:
    net.to(device).eval()
    return apply_in_batches(lambda b: torch.softmax(net(b), dim=1), x, device=device)

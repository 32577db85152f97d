"""Feature spaces for the image metrics, without downloading anything.

Inception, LPIPS and MedicalNet weights cannot be fetched offline and were never trained on
these scans anyway. Instead:

* ``encoder``: the small MONAI CNN trained on the real *train* split to predict the label; its
  penultimate layer is the embedding (it knows what separates the classes here);
* ``random``: the same architecture with fixed seeded random weights, never trained. Random
  convolutional features still capture texture and intensity statistics, so a result that
  holds in both spaces does not hinge on what one trained encoder happened to learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthgen.vision.classifier import ImageClassifier, build_classifier
from synthgen.vision.training import apply_in_batches, train_classifier


@dataclass
class FeatureSpace:
    name: str
    net: ImageClassifier
    losses: list[float] = field(default_factory=list)  # encoder training curve (empty: random)
    device: str = "cpu"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``(N, feature_dim)`` float64 embeddings."""
        self.net.to(self.device).eval()
        return apply_in_batches(self.net.embed, x, device=self.device)


def fit_encoder(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    epochs: int = 8,
    seed: int = 0,
    feature_dim: int = 128,
    device: str = "cpu",
) -> FeatureSpace:
    """Train the label classifier on real training images (``y``: class indices)."""
    net = build_classifier(x.shape[1:], n_classes, seed=seed, feature_dim=feature_dim)
    losses = train_classifier(net, x, y, epochs=epochs, seed=seed, device=device)
    return FeatureSpace("encoder", net, losses, device)


def random_encoder(
    image_shape: tuple[int, ...], *, seed: int = 0, feature_dim: int = 128, device: str = "cpu"
) -> FeatureSpace:
    """Fixed random weights; in eval mode batch norm is the identity, so features are stable."""
    net = build_classifier(image_shape, n_classes=2, seed=seed, feature_dim=feature_dim)
    for p in net.parameters():
        p.requires_grad_(False)
    return FeatureSpace("random", net.eval(), [], device)


def encoder_accuracy(space: FeatureSpace, x: np.ndarray, y: np.ndarray) -> float:
    """Balanced accuracy of the encoder on real test images: how meaningful its features are."""
    from sklearn.metrics import balanced_accuracy_score

    space.net.to(space.device).eval()
    logits = apply_in_batches(space.net, x, device=space.device)
    return float(balanced_accuracy_score(y, logits.argmax(1)))



def standardise(reference: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale every set by the reference (train) mean and std per feature.

    Random-weight features are tiny (~1e-3) and trained ones large; on a common unit scale the
    cubic KID kernel behaves and the numbers of the two spaces read alike. The map is one fixed
    affine transform for all sets, so synthetic and baseline figures stay comparable.
    """
    mu, sd = reference.mean(0), reference.std(0)
    sd = np.where(sd > 1e-12 * max(float(sd.max()), 1e-300), sd, 1.0)
    return [(x - mu) / sd for x in (reference, *others)]

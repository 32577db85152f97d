"""Adversarial losses written out (MONAI's PatchAdversarialLoss applies tanh to hinge logits)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator loss on raw logits for real and generated images."""
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()  # non-saturating (logistic)


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss on the discriminator's logits for generated images."""
    if kind == "hinge":
        return -fake.mean()
    return F.softplus(-fake).mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """Mean squared gradient norm of D at real images (Mescheder et al. 2018); times gamma/2."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def mode_seeking(fake: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Mode-seeking term (Mao et al. 2019, MSGAN) for pairs (first half, second half) drawn
    for the same classes: small when different latents give different images. Conditional
    generators here otherwise settled on one image per class."""
    half = len(fake) // 2
    image_gap = (fake[:half] - fake[half:2 * half]).abs().flatten(1).mean(1)
    latent_gap = (z[:half] - z[half:2 * half]).abs().mean(1)
    return 1.0 / ((image_gap / latent_gap).mean() + 1e-5)

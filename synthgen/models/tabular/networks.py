"""CTGAN's networks: a residual MLP generator and a PacGAN MLP critic, plus the WGAN-GP penalty."""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """Linear -> BatchNorm -> ReLU, concatenated with its input (the width grows each layer)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.fc = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    """noise + condition -> raw row logits (activations are the span layout's job)."""

    def __init__(self, in_dim: int, hidden: list[int], out_dim: int):
        super().__init__()
        layers, width = [], in_dim
        for h in hidden:
            layers.append(Residual(width, h))
            width += h
        layers.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Discriminator(nn.Module):
    """Scores packs of ``pac`` rows (PacGAN), which makes mode collapse visible to the critic."""

    def __init__(self, in_dim: int, hidden: list[int], pac: int):
        super().__init__()
        self.pac = pac
        layers, width = [], in_dim * pac
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, x.shape[1] * self.pac))


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, pac: int, generator: torch.Generator
) -> torch.Tensor:
    """WGAN-GP: (||grad critic(mix)|| - 1)^2 on random interpolates, one mix weight per pack."""
    packs = real.shape[0] // pac
    alpha = torch.rand(packs, 1, 1, generator=generator, device=real.device)
    alpha = alpha.expand(packs, pac, real.shape[1]).reshape(real.shape)
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    norm = grad.reshape(packs, -1).norm(2, dim=1)
    return ((norm - 1) ** 2).mean()

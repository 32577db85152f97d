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

    def __init__(self, in_dim: int, hidden: list[int], pac: int, dropout: float = 0.5):
        super().__init__()
        self.pac = pac
        layers, width = [], in_dim * pac
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)] + ([nn.Dropout(dropout)] if dropout else [])
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, x.shape[1] * self.pac))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations per pack (what the information loss matches)."""
        return self.net[:-1](x.reshape(-1, x.shape[1] * self.pac))


class Classifier(nn.Module):
    """Row -> class logits: the auxiliary classifier, trained on real rows only (CTAB-GAN+)."""

    def __init__(self, in_dim: int, hidden: list[int], n_classes: int):
        super().__init__()
        layers, width = [], in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, pac: int, generator: torch.Generator
) -> torch.Tensor:
    """WGAN-GP: (||grad critic(mix)|| - 1)^2 on random interpolates, one mix weight per pack."""
    packs = real.shape[0] // pac
    alpha = torch.rand(packs, 1, 1, generator=generator, device=real.device)
    alpha = alpha.expand(packs, pac, real.shape[1]).reshape(real.shape)
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).float().sum(), mix, create_graph=True)
    norm = grad.float().reshape(packs, -1).norm(2, dim=1)  # fp32 even under autocast
    return ((norm - 1) ** 2).mean()


class SamplingGenerator:
    """``Generator`` rewritten for sampling: the same function, about a third of the work.

    Every layer of the residual generator sees ``[r_k, ..., r_1, z, c]`` (its predecessors'
    outputs, the noise, the condition one-hot), so its weight splits into one block per source and
    ``W @ x == sum over sources of W_source @ source``. Three rewrites follow, none changing
    the maths (only float rounding order):

    - the condition is one-hot with exactly two ones (class, category slot), so its product
      with every layer's block is two weight rows, added by one ``embedding_bag`` lookup
      instead of a (rows x condition width) matmul that is mostly zeros;
    - each source multiplies the blocks of all the layers that read it in one matmul, written
      into a single accumulator, so nothing is concatenated;
    - eval-mode BatchNorm is folded into its Linear's weight and bias.
    """

    @torch.no_grad()
    def __init__(self, generator: Generator, noise_dim: int, n_classes: int):
        if generator.training:
            raise ValueError("SamplingGenerator folds eval-mode BatchNorm: call generator.eval() first")
        *blocks, last = list(generator.net)
        hidden = [b.fc.out_features for b in blocks]
        outs = hidden + [last.out_features]
        self.slices = [slice(a, a + n) for a, n in zip(_starts(outs), outs)]
        weights, biases = [], []
        for b in blocks:
            scale = b.bn.weight / torch.sqrt(b.bn.running_var + b.bn.eps)
            weights.append(b.fc.weight * scale[:, None])
            biases.append((b.fc.bias - b.bn.running_mean) * scale + b.bn.bias)
        weights.append(last.weight)
        biases.append(last.bias)
        # Column blocks of layer k's weight: r_{k-1}, ..., r_1 (newest first), then z, then c.
        def source(layer: int, start: int, width: int) -> torch.Tensor:
            return weights[layer][:, start : start + width]

        n_in = [w.shape[1] for w in weights]
        z_at = [n - n_in[0] for n in n_in]  # z starts after every hidden output before the layer
        self.noise = torch.cat([source(k, z_at[k], noise_dim) for k in range(len(weights))]).T.contiguous()
        c_dim = n_in[0] - noise_dim
        cond = torch.cat([source(k, z_at[k] + noise_dim, c_dim) for k in range(len(weights))]).T
        # Biases ride on the class rows (every row has exactly one class); a zero row last is
        # the "no category" slot's target.
        cond = torch.cat([cond, cond.new_zeros(1, cond.shape[1])])
        cond[:n_classes] += torch.cat(biases)
        self.cond = cond.contiguous()
        # r_j feeds every later layer: layers j+1.. are contiguous at the accumulator's end.
        self.hidden = []
        for j in range(len(blocks)):
            later = range(j + 1, len(weights))
            at = [z_at[k] - sum(hidden[: j + 1]) for k in later]  # newest first: r_j ends where r_{j-1} starts
            self.hidden.append(torch.cat([source(k, a, hidden[j]) for k, a in zip(later, at)]).T.contiguous())
        self.out_dim = outs[-1]

    def __call__(self, z: torch.Tensor, cond_rows: torch.Tensor) -> torch.Tensor:
        """Raw row logits from noise (B, noise_dim) and condition rows (B, 2): the class index
        and ``n_classes + category slot`` (or the last row of ``self.cond`` for none).
        The result is a strided view of the accumulator (rows are ``acc`` rows)."""
        acc = torch.nn.functional.embedding_bag(cond_rows, self.cond, mode="sum")
        acc.addmm_(z, self.noise)
        for j, weight in enumerate(self.hidden):
            r = acc[:, self.slices[j]].relu_()  # in place: BLAS reads the strided view as is
            acc[:, self.slices[j + 1].start :].addmm_(r, weight)
        return acc[:, self.slices[-1]]


def _starts(widths: list[int]) -> list[int]:
    out, at = [], 0
    for w in widths:
        out.append(at)
        at += w
    return out

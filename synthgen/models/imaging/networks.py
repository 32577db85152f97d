"""Class-conditional generator and projection discriminator for 2D or 3D images.

Generator (DCGAN-shaped): ``[z, embed(y)] -> linear -> s^d grid`` (s = 4 for powers of two,
3..8 else), or with ``latent_grid`` channels ``z`` already is that grid (i.i.d. normals, one
3^d conv to the first width; the class enters through the batch norms). Then transposed-conv
upsampling blocks, each preceded by class-conditional BatchNorm + ReLU; the last one goes
straight to one channel at ``image_size``, then tanh. Why this shape on CPU: a transposed
4^d/stride-2 conv costs 16 MACs per input/output channel pair and input voxel against 36 for
upsample + 3^d conv, and no wide activation ever exists at full resolution (element-wise
passes over such tensors are memory-bound and cost more than the convolutions here).

Discriminator (Miyato & Koyama 2018): strided 4^d convs with spectral norm and LeakyReLU down
to s^d and on (``discriminator_min_side``, default 2) until the grid is 2 a side or less, global
sum pooling to ``h``, output ``linear(h) + <embed(y), h>``. Stopping at s^d left a 28 px
discriminator two levels deep, each pooled feature seeing ~10 px: nothing judged a whole X-ray,
and the generator's large class drifted off the real images (Fréchet distance 3.3x the real
baseline; 0.13x with the extra levels, benchmarks/README.md). Before the last
conv, a minibatch-standard-deviation channel (Karras et al. 2018) lets D see how varied a
group of images is; without it the generator collapsed to one image per class on
PneumoniaMNIST.

Built from MONAI ``Convolution`` blocks and its ``Act``/``Norm`` factories; MONAI has no
class-conditional GAN. ``build_networks`` is the one place both are made (a DDP wrapper
would wrap what it returns).
"""

from __future__ import annotations

import math

import torch
from monai.networks.blocks import Convolution
from monai.networks.layers import Act, Norm
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from synthgen.config import ImageModelConfig
from synthgen.errors import UserError

MAX_MULT = 8  # widest layer = base_channels * MAX_MULT
START_SIDES = range(3, 9)  # the generator's first grid (= the discriminator's last): 3..8 a side


def supported_size(image_size: int) -> bool:
    """Sides the GAN can make without resampling: ``start * 2**n``, start 3..8, n >= 1
    (8, 16, 32, 64 ...; also 24 = 3*8 and 28 = 7*4, so MedMNIST and small patches keep their grid)."""
    return any(image_size % 2**n == 0 and image_size // 2**n in START_SIDES
               for n in range(1, int(math.log2(max(image_size, 1))) + 1))


def levels(image_size: int) -> int:
    """Number of 2x up/down steps: as many as leave a first grid of at least 3 a side
    (powers of two start at 4, as before)."""
    for n in range(int(math.log2(max(image_size, 1))), 0, -1):
        if image_size % 2**n == 0 and image_size // 2**n in START_SIDES:
            return n
    raise UserError(f"image_size must be a start side of 3-8 times a power of two (8, 16, 24, 28, "
                    f"32, 64, 128 ...) for the image GAN, got {image_size}")


def start_side(image_size: int) -> int:
    return image_size // 2 ** levels(image_size)


def widths(image_size: int, base: int) -> list[int]:
    """Channels from the 4^d grid to the half-size grid, e.g. 64 px, base 32: 256,128,64,32."""
    n = levels(image_size)
    return [base * min(MAX_MULT, 2 ** (n - 1 - i)) for i in range(n)]


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine; per-class gain and bias instead."""

    def __init__(self, spatial_dims: int, channels: int, num_classes: int):
        super().__init__()
        self.norm = Norm[Norm.BATCH, spatial_dims](channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)
        self.view = (-1, channels) + (1,) * spatial_dims

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.gain(y).view(self.view) + self.bias(y).view(self.view)


class UpBlock(nn.Module):
    """Conditional BN -> ReLU -> 2x transposed conv."""

    def __init__(self, spatial_dims: int, cin: int, cout: int, num_classes: int):
        super().__init__()
        self.norm = ConditionalBatchNorm(spatial_dims, cin, num_classes)
        self.act = Act[Act.RELU]()
        self.conv = Convolution(spatial_dims, cin, cout, strides=2, kernel_size=4, padding=1,
                                output_padding=0, is_transposed=True, conv_only=True)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.conv(self.act(self.norm(x, y)))


class RefineBlock(nn.Module):
    """Conditional BN -> ReLU -> 3^d conv at one resolution (depth without resampling)."""

    def __init__(self, spatial_dims: int, cin: int, cout: int, num_classes: int):
        super().__init__()
        self.norm = ConditionalBatchNorm(spatial_dims, cin, num_classes)
        self.act = Act[Act.RELU]()
        self.conv = Convolution(spatial_dims, cin, cout, kernel_size=3, padding=1, conv_only=True)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.conv(self.act(self.norm(x, y)))


class ConditionalGenerator(nn.Module):
    """With ``refine`` > 0, each upsampling is followed by ``refine`` 3^d conv blocks and the
    last one keeps its width, a 3^d conv making the single output channel: at 28 px (two
    levels) the plain network is only two transposed convs deep, too shallow for rib detail."""

    def __init__(self, spatial_dims: int, image_size: int, latent_dim: int, base_channels: int,
                 num_classes: int, refine: int = 0, latent_grid: int = 0):
        super().__init__()
        ch = widths(image_size, base_channels)
        self.spatial_dims = spatial_dims
        start = start_side(image_size)
        self.start_shape = (ch[0],) + (start,) * spatial_dims
        self.latent_shape = latent_shape(spatial_dims, image_size, latent_dim, latent_grid)
        if latent_grid:
            # A vector latent let the generator settle on one layout per class, varied only in
            # brightness (36-108 MRI patches a class); latents per grid cell vary every region.
            self.first = Convolution(spatial_dims, latent_grid, ch[0], kernel_size=3, padding=1,
                                     conv_only=True)
        else:
            self.embed = nn.Embedding(num_classes, latent_dim)
            self.fc = nn.Linear(2 * latent_dim, ch[0] * start**spatial_dims)
        self.latent_size = math.prod(self.latent_shape)  # z is drawn flat, (n, latent_size)
        ups = list(zip(ch, ch[1:])) + ([(ch[-1], ch[-1])] if refine else [])
        blocks: list[nn.Module] = []
        for a, b in ups:
            blocks.append(UpBlock(spatial_dims, a, b, num_classes))
            blocks.extend(RefineBlock(spatial_dims, b, b, num_classes) for _ in range(refine))
        self.blocks = nn.ModuleList(blocks)
        self.out = (RefineBlock if refine else UpBlock)(spatial_dims, ch[-1], 1, num_classes)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if len(self.latent_shape) > 1:
            x = self.first(z.view(-1, *self.latent_shape))
        else:
            x = self.fc(torch.cat([z, self.embed(y)], dim=1)).view(-1, *self.start_shape)
        for block in self.blocks:
            x = block(x, y)
        return torch.tanh(self.out(x, y))


class ProjectionDiscriminator(nn.Module):
    """With ``refine`` > 0, each strided conv but the last is followed by ``refine`` 3^d convs."""

    def __init__(self, spatial_dims: int, image_size: int, base_channels: int, num_classes: int,
                 refine: int = 0, min_side: int = 2):
        super().__init__()
        ch = [1] + widths(image_size, base_channels)[::-1]  # 1 -> base -> ... -> widest
        side = start_side(image_size)
        while side > min_side:  # extra levels: the last features see the whole image
            ch.append(min(2 * ch[-1], base_channels * MAX_MULT))
            side = (side - 2) // 2 + 1  # a 4-wide, stride-2, padding-1 conv
        act = ("leakyrelu", {"negative_slope": 0.2})
        convs: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(ch, ch[1:])):
            convs.append(_sn_conv(Convolution(spatial_dims, a + (i == len(ch) - 2), b, strides=2,
                                              kernel_size=4, padding=1, act=act, norm=None)))
            if i < len(ch) - 2:
                convs.extend(_sn_conv(Convolution(spatial_dims, b, b, kernel_size=3, padding=1, act=act,
                                                  norm=None)) for _ in range(refine))
        self.blocks, self.last = nn.Sequential(*convs[:-1]), convs[-1]
        self.spatial = tuple(range(2, 2 + spatial_dims))
        self.linear = spectral_norm(nn.Linear(ch[-1], 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, ch[-1]))

    def forward(self, x: torch.Tensor, y: torch.Tensor, group: int = 4) -> torch.Tensor:
        """Logits for images ``x`` of classes ``y``. Minibatch statistics are taken over
        consecutive groups of ``group`` images: keep real and fake in separate groups."""
        h = self.last(minibatch_stddev(self.blocks(x), group)).sum(dim=self.spatial)
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """Append one channel: the mean standard deviation of features within each group."""
    n = x.shape[0]
    group = max(g for g in range(1, min(group, n) + 1) if n % g == 0)
    if group == 1:
        return torch.cat([x, torch.zeros_like(x[:, :1])], dim=1)
    # sqrt(var + eps), not std: where a group is constant (clamped background) std's
    # gradient is 0/0, and R1's double backward turned that into NaN weights. The variance is
    # written out over a flat view: aten::var over a 4-long axis of a channels-last tensor took
    # 37% of a 28 px training step on CPU, this 1/9 of that.
    flat = x.reshape(n // group, group, -1)
    dev = flat - flat.mean(dim=1, keepdim=True)
    stats = ((dev * dev).mean(dim=1) + 1e-8).sqrt().mean(dim=1)  # (n // group,)
    stats = stats.repeat_interleave(group).view(n, *([1] * (x.ndim - 1))).expand(n, 1, *x.shape[2:])
    return torch.cat([x, stats.to(x.dtype)], dim=1)


def _sn_conv(block: Convolution) -> Convolution:
    spectral_norm(block.conv)
    return block


def build_networks(config: ImageModelConfig, num_classes: int) -> tuple[ConditionalGenerator, ProjectionDiscriminator]:
    """The generator and discriminator for ``config`` (sizes checked here)."""
    levels(config.image_size)
    g = build_generator(config, num_classes)  # first: the seeded stream initialises G, then D
    d = ProjectionDiscriminator(config.spatial_dims, config.image_size, config.base_channels, num_classes,
                                config.refine_blocks, config.discriminator_min_side)
    return g, d


def build_generator(config: ImageModelConfig, num_classes: int) -> ConditionalGenerator:
    levels(config.image_size)
    return ConditionalGenerator(config.spatial_dims, config.image_size, config.latent_dim,
                                config.base_channels, num_classes, config.refine_blocks,
                                config.latent_grid)


def latent_shape(spatial_dims: int, image_size: int, latent_dim: int,
                 latent_grid: int) -> tuple[int, ...]:
    """``(latent_dim,)``, or ``latent_grid`` channels on the generator's first grid."""
    if latent_grid:
        return (latent_grid,) + (start_side(image_size),) * spatial_dims
    return (latent_dim,)


def latent_size(config: ImageModelConfig) -> int:
    """Length of the flat latent each generated image is drawn from."""
    return math.prod(latent_shape(config.spatial_dims, config.image_size, config.latent_dim,
                                  config.latent_grid))

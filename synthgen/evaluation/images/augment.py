"""Classic augmentation, the baseline synthetic images have to beat.

Per image: a small random affine (rotation, scale, translation), a left-right flip, an intensity
shift and scale, and Gaussian noise: the chain of MONAI's ``RandAffine``, ``RandFlip``,
``RandShiftIntensity``, ``RandScaleIntensity`` and ``RandGaussianNoise``. Geometric and intensity
changes only; the scans are grayscale.

Why not those array transforms one image at a time: ``RandAffine`` costs ~1 ms per 28x28 image
here, ten times the classifier's own training step, so the baseline would dominate the runtime.
The parameters are drawn per image exactly as those transforms draw them, and the whole batch is
resampled at once with MONAI's ``AffineTransform`` layer. Seeded: the same seed replays the same
augmented batches.
"""

from __future__ import annotations

import numpy as np
import torch
from monai.networks.layers import AffineTransform


def _rotation(angles: np.ndarray) -> np.ndarray:
    """Rotation matrix from one angle (2D) or three angles about the axes (3D)."""
    if len(angles) == 1:
        c, s = np.cos(angles[0]), np.sin(angles[0])
        return np.array([[c, -s], [s, c]])
    r = np.eye(3)
    for axis, a in enumerate(angles):
        c, s = np.cos(a), np.sin(a)
        i, j = [k for k in range(3) if k != axis]
        m = np.eye(3)
        m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
        r = r @ m
    return r


class ClassicAugment:
    """Callable on a batch ``(B, C, *spatial)`` in [-1, 1]; returns the same shape, clipped."""

    def __init__(
        self,
        spatial_dims: int,
        seed: int = 0,
        *,
        affine_prob: float = 0.7,
        rotate: float = 0.15,  # radians (~9 degrees) about each axis
        scale: float = 0.1,
        translate: float = 2.0,  # pixels
        flip_prob: float = 0.5,
        flip_axis: int = -1,  # left-right: the last axis of a 2D picture, the first of RAS volumes
        intensity_prob: float = 0.5,
        shift: float = 0.1,
        scale_intensity: float = 0.1,
        noise_std: float = 0.03,
    ):
        self.dims, self.flip_axis = spatial_dims, flip_axis
        self.rng = np.random.default_rng(seed)
        self.opts = dict(affine_prob=affine_prob, rotate=rotate, scale=scale, translate=translate,
                         flip_prob=flip_prob, intensity_prob=intensity_prob, shift=shift,
                         scale_intensity=scale_intensity, noise_std=noise_std)
        self.resample = AffineTransform(normalized=True, padding_mode="border",
                                        align_corners=False, reverse_indexing=False)

    def _thetas(self, n: int, shape: tuple[int, ...]) -> torch.Tensor:
        """Per-image affine in normalised coordinates; identity where the affine is not drawn."""
        o, d, rng = self.opts, self.dims, self.rng
        thetas = np.zeros((n, d, d + 1))
        for k in range(n):
            thetas[k, :, :d] = np.eye(d)
            if rng.random() < o["affine_prob"]:
                angles = rng.uniform(-o["rotate"], o["rotate"], 1 if d == 2 else 3)
                zoom = np.diag(1 + rng.uniform(-o["scale"], o["scale"], d))
                thetas[k, :, :d] = _rotation(angles) @ zoom
                # pixels -> normalised units; theta's rows follow torch's (z,) y, x order reversed
                shift = rng.uniform(-o["translate"], o["translate"], d) * 2 / np.array(shape)
                thetas[k, :, d] = shift[::-1]
        return torch.as_tensor(thetas, dtype=torch.float32)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        o, rng, n = self.opts, self.rng, len(batch)
        x = torch.as_tensor(np.ascontiguousarray(batch), dtype=torch.float32)
        x = self.resample(x, self._thetas(n, tuple(batch.shape[2:])))
        flip = torch.as_tensor(rng.random(n) < o["flip_prob"])
        x[flip] = x[flip].flip(self.flip_axis)
        view = (n,) + (1,) * (x.ndim - 1)
        on = lambda: (rng.random(n) < o["intensity_prob"]).astype(np.float32)  # noqa: E731
        offset = on() * rng.uniform(-o["shift"], o["shift"], n)
        factor = 1 + on() * rng.uniform(-o["scale_intensity"], o["scale_intensity"], n)
        noisy = on()
        x = x * torch.as_tensor(factor, dtype=torch.float32).view(view)
        x = x + torch.as_tensor(offset, dtype=torch.float32).view(view)
        noise = rng.normal(0, o["noise_std"], x.shape).astype(np.float32)
        x = x + torch.as_tensor(noise) * torch.as_tensor(noisy).view(view)
        return x.clamp_(-1.0, 1.0).numpy()

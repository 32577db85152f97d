"""How ``load_image_dataset`` was asked to prepare images (dimensionality, side, spacing,
intensity percentiles, slicing), passed to the folder and .npz readers as one value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Picks the side from the inputs' shapes in model space (a volume's axial slice for 2D from
# 3D); gets an empty list when resampling (pixdim) makes them unknown beforehand.
SizeRule = Callable[[list[tuple[int, ...]]], int]


@dataclass(frozen=True)
class LoadOptions:
    spatial_dims: int | None
    image_size: int | SizeRule
    pixdim: list[float] | None
    percentiles: tuple[float, float]
    slice_min_foreground: float
    slice_range: tuple[float, float]

    def side(self, shapes: list[tuple[int, ...]]) -> int:
        """The image side: given, or picked by the size rule from the inputs' shapes."""
        return self.image_size if isinstance(self.image_size, int) else int(self.image_size(shapes))

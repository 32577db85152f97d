"""Check and normalise the image sets handed to the evaluation.

Every set arrives as an array ``(N, C, H, W)`` or ``(N, C, D, H, W)`` scaled to [-1, 1] with one
string label per image. What cannot be evaluated raises a one-line ``DataError``; what can be
evaluated with a caveat becomes a warning the report shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synthgen.errors import DataError

# Generators end in tanh; a little slack covers interpolation overshoot, more means a wrong scale.
_RANGE_SLACK = 0.05


@dataclass
class ImageSets:
    """The evaluated sets as float32 numpy arrays and string label arrays."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    synth_x: np.ndarray
    synth_y: np.ndarray
    holdout_x: np.ndarray | None = None
    holdout_y: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # A balanced draw from the model: TSTR's training set, and the per-class stand-in for
    # classes the sample lacks (a fill sample has no majority-class images).
    balanced_x: np.ndarray | None = None
    balanced_y: np.ndarray | None = None

    def attach_balanced(self, x: Any, y: Any) -> None:
        if x is None:
            return
        xa = _check_range(as_images(x, "balanced draw"), "balanced draw", self.warnings)
        if xa.shape[1:] != self.train_x.shape[1:]:
            raise DataError(f"balanced draw images are {_describe(xa.shape[1:])} but train "
                            f"images are {_describe(self.train_x.shape[1:])}")
        self.balanced_x, self.balanced_y = xa, as_labels(y, len(xa), "balanced draw")

    def per_class_synthetic(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The sample plus balanced-draw images of the classes it lacks, and those classes."""
        lacking = [c for c in self.classes if c not in set(self.synth_y)]
        if self.balanced_x is None or not lacking:
            return self.synth_x, self.synth_y, []
        keep = np.isin(self.balanced_y, lacking)
        return (np.concatenate([self.synth_x, self.balanced_x[keep]]),
                np.concatenate([self.synth_y, self.balanced_y[keep]]),
                [c for c in lacking if c in set(self.balanced_y)])

    @property
    def spatial_dims(self) -> int:
        return self.train_x.ndim - 2

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.train_x.shape[1:])


def as_images(x: Any, name: str) -> np.ndarray:
    """A float32 numpy array (torch tensors are detached and moved to the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim not in (4, 5):
        raise DataError(
            f"{name} images have shape {arr.shape}; expected (N, C, H, W) for 2D or "
            "(N, C, D, H, W) for 3D"
        )
    return arr


def as_labels(y: Any, n: int, name: str) -> np.ndarray:
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    arr = np.asarray(y).reshape(-1).astype(str)
    if len(arr) != n:
        raise DataError(f"{name} has {n} images but {len(arr)} labels")
    return arr


def _check_range(x: np.ndarray, name: str, warnings: list[str]) -> np.ndarray:
    if x.size == 0:
        return x
    if not np.isfinite(x).all():
        raise DataError(f"{name} images contain NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1 - _RANGE_SLACK or hi > 1 + _RANGE_SLACK:
        raise DataError(
            f"{name} images range over [{lo:.3g}, {hi:.3g}]; scale them to [-1, 1] first"
        )
    if lo < -1 or hi > 1:
        warnings.append(f"{name} images slightly exceed [-1, 1] ([{lo:.3g}, {hi:.3g}]); clipped")
        x = np.clip(x, -1.0, 1.0)
    return x


def _describe(shape: tuple[int, ...]) -> str:
    dims = "2D" if len(shape) == 3 else "3D"
    return f"{dims} {'x'.join(str(s) for s in shape[1:])} with {shape[0]} channel(s)"


def check_sets(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    synth_x: Any,
    synth_y: Any,
    holdout_x: Any = None,
    holdout_y: Any = None,
) -> ImageSets:
    """Validate shapes, ranges and classes; return the sets with the warnings found."""
    warnings: list[str] = []
    named = {"train": (train_x, train_y), "test": (test_x, test_y), "synthetic": (synth_x, synth_y)}
    if holdout_x is not None and len(holdout_x) > 0:
        named["holdout"] = (holdout_x, holdout_y)
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, (x, y) in named.items():
        xa = as_images(x, name)
        arrays[name] = (_check_range(xa, name, warnings), as_labels(y, len(xa), name))

    ref = arrays["train"][0].shape[1:]
    for name, (x, _) in arrays.items():
        if x.shape[1:] != ref:
            raise DataError(
                f"{name} images are {_describe(x.shape[1:])} but train images are {_describe(ref)}"
            )
    for name in ("train", "test", "synthetic"):
        if len(arrays[name][0]) == 0:
            raise DataError(f"the {name} set is empty; it is needed for the image evaluation")

    classes = sorted(str(v) for v in set(arrays["train"][1]))
    unknown = sorted(str(v) for v in set(arrays["synthetic"][1]) - set(classes))
    if unknown:
        raise DataError(f"synthetic labels {unknown} do not occur in the training labels")
    unknown = sorted(str(v) for v in set(arrays["test"][1]) - set(classes))
    if unknown:
        raise DataError(f"test labels {unknown} do not occur in the training labels")

    hold = arrays.get("holdout")
    return ImageSets(
        *arrays["train"], *arrays["test"], *arrays["synthetic"],
        holdout_x=hold[0] if hold else None, holdout_y=hold[1] if hold else None,
        classes=classes, warnings=warnings,
    )


def cap_indices(n: int, limit: int | None, seed: int) -> np.ndarray:
    """Sorted indices of at most ``limit`` of ``n`` images; a plain random draw keeps class shares."""
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))

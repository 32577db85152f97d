"""Evaluation of synthetic 2D and 3D images, on arrays: fidelity, diversity, memorization, gains.

Feature spaces need no download: a small MONAI CNN trained on the real train split, and the same
network with fixed random weights as a check. See ``evaluate.evaluate_images``.
"""

from synthgen.evaluation.images.evaluate import evaluate_images
from synthgen.evaluation.images.memorization import privacy_filter_images

__all__ = ["evaluate_images", "privacy_filter_images"]

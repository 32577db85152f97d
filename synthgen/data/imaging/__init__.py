"""Scans and 2D images in, preprocessed tensors out; synthetic images back in the input's format."""

from synthgen.data.imaging.dataset import ImageDataset, sort_labels
from synthgen.data.imaging.loading import load_image_dataset
from synthgen.data.imaging.writers import preview_grid, write_images

__all__ = ["ImageDataset", "load_image_dataset", "preview_grid", "sort_labels", "write_images"]

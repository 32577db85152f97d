"""Scans and 2D images in, preprocessed tensors out; synthetic images back in the input's format."""

from synthgen.data.imaging.dataset import ImageDataset, load_image_dataset, sort_labels
from synthgen.data.imaging.writers import preview_grid, write_images

__all__ = ["ImageDataset", "load_image_dataset", "preview_grid", "sort_labels", "write_images"]

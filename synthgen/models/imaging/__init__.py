"""Conditional GAN for 2D slices and 3D volumes (MONAI blocks, projection discriminator)."""

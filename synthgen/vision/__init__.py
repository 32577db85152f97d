"""Small image networks and feature-space measures that training and evaluation share.

The image GAN scores its snapshots (``synthgen.models.imaging.validation``) with the same kind
of trained encoder and the same Fréchet distance and coverage the evaluation reports, so what
selection optimises is what the report measures. This package imports nothing else of synthgen.
"""

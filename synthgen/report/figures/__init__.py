"""Figure specs drawn as PNG: one drawing per spec ``kind``, matplotlib without pyplot state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synthgen.evaluation.findings import FigureSpec
from synthgen.report.figures import curves, images, tables

DRAWINGS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "curves": curves.curves,
    "gain_intervals": curves.gain_intervals,
    "column_histograms": tables.column_histograms,
    "pair_heatmap": tables.pair_heatmap,
    "dcr_histograms": tables.dcr_histograms,
    "sample_grid": images.sample_grid,
    "intensity_histograms": images.intensity_histograms,
    "closest_pairs": images.closest_pairs,
    "similarity_distributions": images.similarity_distributions,
}


def draw(spec: FigureSpec, dpi: int = 90) -> bytes:
    """The PNG of ``spec``; an unknown kind is a programming error, not a user's.

    Kind ``png`` carries an already drawn picture (``data["png"]``: bytes), e.g. a figure
    kept from a stored report that is rendered again."""
    from synthgen.report.figures.png import to_png

    if spec.kind == "png":
        return spec.data["png"]
    return to_png(DRAWINGS[spec.kind](spec.data), dpi=dpi)

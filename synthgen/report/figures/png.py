"""A matplotlib figure as PNG bytes (``matplotlib.figure.Figure``: no pyplot, no backend)."""

from __future__ import annotations

import io

from matplotlib.figure import Figure

REAL, SYNTH, HOLD = "#34495e", "#e67e22", "#27ae60"


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height))


def to_png(fig: Figure, dpi: int = 90) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()

"""Report rendering: self-contained HTML, Markdown summary, plots (matplotlib, Agg)."""

from synthgen.report.html import render_html
from synthgen.report.summary import render_markdown

__all__ = ["render_html", "render_markdown"]

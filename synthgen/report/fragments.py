"""Cells, tables and notes as escaped HTML or Markdown text; how a number reads is decided by
its column kind (a count is never printed with decimals)."""

from __future__ import annotations

import html
import math
from typing import Any

from synthgen.evaluation.findings import Column, Note, Table


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _finite(v: Any) -> bool:
    try:
        return v is not None and not isinstance(v, (bool, str)) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def number(v: Any, kind: str = "number", digits: int = 3) -> str:
    """One value read as ``kind`` (count | number | share | signed); NaN and None as a dash."""
    if isinstance(v, (str, bool)):
        return str(v)
    if not _finite(v):
        return "—"
    v = v.item() if hasattr(v, "item") else v
    if kind == "count" or (isinstance(v, int) and kind == "number"):
        return f"{int(round(float(v))):,}"
    if kind == "share":
        return f"{float(v):.1%}"
    if kind == "signed":
        return f"{float(v):+.{digits}f}"
    return f"{float(v):.{digits}f}"


def cell(v: Any, column: Column) -> str:
    """A cell's text: ``mean_sd`` cells are (mean, sd), ``interval`` cells (gain, low, high)."""
    if column.kind == "text":
        return "" if v is None else str(v)
    if column.kind == "mean_sd":
        mean, sd = v
        text = number(mean, "number", column.digits)
        return text + (f" ± {number(sd, 'number', column.digits)}" if _finite(sd) else "")
    if column.kind == "interval":
        gain, low, high = v
        text = number(gain, "signed", column.digits)
        if _finite(low) and _finite(high):
            text += f" [{number(low, 'signed', column.digits)}, {number(high, 'signed', column.digits)}]"
        return text
    return number(v, column.kind, column.digits)


def html_table(table: Table) -> str:
    head = "".join(f"<th>{esc(c.name)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(
            f'<td{"" if c.kind == "text" else " class=num"}>{esc(cell(v, c))}</td>'
            for v, c in zip(row, table.columns)) + "</tr>"
        for row in table.rows)
    title = f"<h3>{esc(table.title)}</h3>" if table.title else ""
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_note(note: Note) -> str:
    kind = note.severity.value if note.severity else "note"
    return f'<p class="{kind}">{esc(note.text)}</p>'


def markdown_table(table: Table) -> list[str]:
    def clean(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(clean(c.name) for c in table.columns) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(clean(cell(v, c)) for v, c in zip(row, table.columns)) + " |"
              for row in table.rows]
    return lines

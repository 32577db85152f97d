"""Small escaped-HTML builders used by every report section (tables, notes, numbers)."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def fmt(value: Any, digits: int = 3) -> str:
    """A number for people: fixed digits, NaN as an em dash, ints as ints."""
    if value is None:
        return "—"
    if isinstance(value, (bool, str)):
        return str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "—"
    if v.is_integer() and abs(v) >= 1000:
        return f"{int(v):,}"
    return f"{v:.{digits}f}"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], digits: int = 3,
          cls: str = "") -> str:
    """An HTML table; numbers formatted with ``fmt``, everything escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for v in row:
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            cells.append(f'<td class="num">{esc(fmt(v, digits))}</td>' if num
                         else f"<td>{esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    klass = f' class="{esc(cls)}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def frame_table(df: Any, digits: int = 3, index: bool = False) -> str:
    """A pandas DataFrame as an escaped HTML table."""
    header = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    rows = []
    for idx, row in df.iterrows():
        vals = [v.item() if hasattr(v, "item") else v for v in row.tolist()]
        rows.append(([idx] if index else []) + vals)
    return table(header, rows, digits)


def note(text: str, kind: str = "note") -> str:
    """A paragraph; ``kind`` is note | good | warn | bad (colour only)."""
    return f'<p class="{esc(kind)}">{esc(text)}</p>'

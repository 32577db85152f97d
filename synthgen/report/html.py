"""One self-contained HTML file: inline CSS, figures as base64 PNG, no external references.

Order is what a reader needs first: warnings, verdicts, headline numbers, then the sections.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from synthgen.report.fragments import esc, fmt
from synthgen.report.labels import describe

if TYPE_CHECKING:
    from synthgen.evaluation.result import EvaluationResult, Figure, Section

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
 padding:0 1em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
.meta{color:#555;font-size:.92em}
.warnings{background:#fff4e5;border-left:5px solid #e67e22;padding:.6em 1em;margin:1em 0}
.warnings li{margin:.2em 0}
.verdicts{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.verdict{flex:1 1 300px;border:1px solid #ddd;border-radius:6px;padding:.6em .9em}
.verdict b{display:block;text-transform:capitalize;margin-bottom:.2em}
.v-good{border-left:6px solid #27ae60} .v-warn{border-left:6px solid #e67e22}
.v-bad{border-left:6px solid #c0392b} .v-neutral{border-left:6px solid #7f8c8d}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:left} th{background:#f4f4f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:.6em 1em .6em 0;vertical-align:top;max-width:100%}
figure img{max-width:100%;border:1px solid #eee} figcaption{font-size:.85em;color:#555;max-width:520px}
p.good{color:#1e7d45} p.warn{color:#a65a00} p.bad{color:#a93226;font-weight:600}
nav a{margin-right:1em}
"""


def _tone(text: str) -> str:
    """Colour a verdict by its wording; the words are chosen by the evaluation modules."""
    t = text.lower()
    if any(w in t for w in ("flag", "hurts", "poor", "copies", "risk")):
        return "v-bad"
    if any(w in t for w in ("no clear", "inconclusive", "smote does better", "weak", "moderate")):
        return "v-warn"
    if any(w in t for w in ("helps", "good", "no sign", "safe", "close")):
        return "v-good"
    return "v-neutral"


def _figure(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    cap = f"<figcaption><b>{esc(fig.title)}</b>"
    cap += f" — {esc(fig.caption)}</figcaption>" if fig.caption else "</figcaption>"
    return f'<figure><img alt="{esc(fig.title)}" src="data:image/png;base64,{data}">{cap}</figure>'


def _section(section: Section) -> str:
    figs = "".join(_figure(f) for f in section.figures)
    return (f'<section id="{esc(section.key)}"><h2>{esc(section.title)}</h2>'
            f"{section.html}{figs}</section>")


def _meta(meta: dict) -> str:
    items = [f"<b>{esc(k.replace('_', ' '))}</b>: {esc(v)}" for k, v in meta.items()
             if not isinstance(v, (dict, list))]
    return '<p class="meta">' + " · ".join(items) + "</p>"


def _class_counts(meta: dict) -> str:
    """Rows per class in each split: the first thing to check with imbalanced data."""
    counts = meta.get("class_counts")
    if not isinstance(counts, dict) or not counts:
        return ""
    splits = list(counts)
    classes = sorted({c for v in counts.values() for c in v})
    head = "".join(f"<th>{esc(s)}</th>" for s in splits)
    rows = "".join(
        f"<tr><td>{esc(c)}</td>"
        + "".join(f'<td class="num">{esc(counts[s].get(c, 0))}</td>' for s in splits)
        + "</tr>" for c in classes
    )
    label = esc(meta.get("condition", "class"))
    return f"<table><thead><tr><th>{label}</th>{head}</tr></thead><tbody>{rows}</tbody></table>"


def render_html(result: EvaluationResult) -> str:
    title = result.meta.get("dataset") or "synthetic data"
    parts = [f"<h1>Evaluation report: {esc(title)}</h1>", _meta(result.meta),
             _class_counts(result.meta)]
    if result.warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in result.warnings)
        parts.append(f'<div class="warnings" id="warnings"><b>Warnings</b><ul>{items}</ul></div>')
    if result.verdicts:
        cards = "".join(
            f'<div class="verdict {_tone(v)}"><b>{esc(k)}</b>{esc(v)}</div>'
            for k, v in result.verdicts.items()
        )
        parts.append(f'<h2 id="verdicts">Verdicts</h2><div class="verdicts">{cards}</div>')
    if result.headline:
        rows = "".join(
            f'<tr><td>{esc(describe(k))}</td><td class="num">{esc(fmt(result.metrics.get(k)))}'
            f"</td></tr>" for k in result.headline
        )
        parts.append('<h2 id="headline">Headline numbers</h2>'
                     f"<table><thead><tr><th>Measure</th><th>Value</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    if result.sections:
        nav = "".join(f'<a href="#{esc(s.key)}">{esc(s.title)}</a>' for s in result.sections)
        parts.append(f"<nav>{nav}</nav>")
    parts.extend(_section(s) for s in result.sections)
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>synthgen report: {esc(title)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )

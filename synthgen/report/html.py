"""One self-contained HTML file for every modality: inline CSS, figures as base64 PNG, no
external references, no scripts.

Order is what a reader needs first: class counts, warnings, verdicts, headline numbers, then the
sections. A verdict's colour is its severity, set by the evaluation that judged it.
"""

from __future__ import annotations

import base64

from synthgen.evaluation.findings import FigureSpec, Findings, Note, Section, Table
from synthgen.report.figures import draw
from synthgen.report.fragments import esc, html_note, html_table, number
from synthgen.report.tables import class_count_table, headline_table

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
.v-good{border-left:6px solid #27ae60} .v-caution{border-left:6px solid #e67e22}
.v-bad{border-left:6px solid #c0392b}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:left} th{background:#f4f4f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:.6em 1em .6em 0;vertical-align:top;max-width:100%}
figure img{max-width:100%;border:1px solid #eee} figcaption{font-size:.85em;color:#555;max-width:520px}
p.good{color:#1e7d45} p.caution{color:#a65a00} p.bad{color:#a93226;font-weight:600}
nav a{margin-right:1em}
"""


def _figure(spec: FigureSpec) -> str:
    data = base64.b64encode(draw(spec)).decode("ascii")
    cap = f"<figcaption><b>{esc(spec.title)}</b>"
    cap += f" — {esc(spec.caption)}</figcaption>" if spec.caption else "</figcaption>"
    return f'<figure><img alt="{esc(spec.title)}" src="data:image/png;base64,{data}">{cap}</figure>'


def _block(block) -> str:
    if isinstance(block, Note):
        return html_note(block)
    if isinstance(block, Table):
        return html_table(block)
    return _figure(block)


def _section(section: Section) -> str:
    # Text and tables first, then the figures side by side.
    text = "".join(_block(b) for b in section.blocks if not isinstance(b, FigureSpec))
    figs = "".join(_figure(f) for f in section.figures)
    return (f'<section id="{esc(section.key)}"><h2>{esc(section.title)}</h2>'
            f"{text}{figs}</section>")


def _meta(meta: dict) -> str:
    items = [f"<b>{esc(k.replace('_', ' '))}</b>: {esc(number(v) if not isinstance(v, str) else v)}"
             for k, v in meta.items() if not isinstance(v, (dict, list)) and v is not None]
    return '<p class="meta">' + " · ".join(items) + "</p>"


def _top(findings: Findings) -> list[str]:
    parts = [_meta(findings.meta)]
    counts = class_count_table(findings)
    if counts is not None:
        parts.append(f'<div id="class-counts">{html_table(counts)}</div>')
    if findings.warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in findings.warnings)
        parts.append(f'<div class="warnings" id="warnings"><b>Warnings</b><ul>{items}</ul></div>')
    if findings.verdicts:
        cards = "".join(f'<div class="verdict v-{v.severity.value}"><b>{esc(k)}</b>'
                        f"{esc(v.text)}</div>" for k, v in findings.verdicts.items())
        parts.append(f'<h2 id="verdicts">Verdicts</h2><div class="verdicts">{cards}</div>')
    if findings.headline:
        parts.append(f'<h2 id="headline">Headline numbers</h2>{html_table(headline_table(findings))}')
    return parts


def render_html(findings: Findings) -> str:
    title = findings.meta.get("dataset") or "synthetic data"
    parts = [f"<h1>Evaluation report: {esc(title)}</h1>", *_top(findings)]
    if findings.sections:
        nav = "".join(f'<a href="#{esc(s.key)}">{esc(s.title)}</a>' for s in findings.sections)
        parts.append(f"<nav>{nav}</nav>")
    parts.extend(_section(s) for s in findings.sections)
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>synthgen report: {esc(title)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )

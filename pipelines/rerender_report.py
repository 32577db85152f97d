"""Render a stored report folder again through today's renderer, without retraining anything.

    python pipelines/rerender_report.py reports/pneumonia [--noun images]

Reads the folder's ``metrics.json`` (every number, verdict texts, class counts) and its
``report.html`` (section notes, tables and the drawn figures, kept as pictures), and writes
``report.html``, ``metrics.json`` and ``summary.md`` back. Reports written before evaluations
returned typed findings carry no severities: this migration reads each verdict's leading word,
the word the judging code chose, through ``LEGACY_SEVERITY`` below (the same mapping those
evaluations now apply themselves). Class warnings are recomputed from the stored counts.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from synthgen.evaluation.classes import class_warnings
from synthgen.evaluation.findings import (
    Column, FigureSpec, Findings, Note, Section, Severity, Table, Verdict,
)
from synthgen.evaluation.names import headline
from synthgen.report import write_report

G, C, B = Severity.GOOD, Severity.CAUTION, Severity.BAD
LEGACY_SEVERITY = [  # (topic, leading words) -> severity, first match wins
    ("memorization", "no sign of memorization of the training rows, but", C),
    ("fidelity", "weak", B), ("diversity", "weak", C),
    ("", "good", G), ("", "close to real", G), ("", "no sign", G), ("", "helps", G),
    ("", "moderate", C), ("", "no clear effect", C), ("", "mixed", C), ("", "inconclusive", C),
    ("", "not assessed", C), ("", "poor", B), ("", "flag", B), ("", "hurts", B),
]
_NOTE_CLASS = {"good": G, "warn": C, "bad": B}
_OLD_CLASS_WARNINGS = re.compile(r"absent from the synthetic sample|has no synthetic|"
                                 r"test row\(s\) of class|test images \(<")


def legacy_verdict(topic: str, text: str) -> Verdict:
    for scope, words, severity in LEGACY_SEVERITY:
        if scope in ("", topic) and text.startswith(words):
            return Verdict(severity, text)
    raise ValueError(f"{topic}: no severity for the stored verdict {text[:60]!r}")


class _Sections(HTMLParser):
    """The old report's sections as blocks: notes, tables (text cells), figures (PNG bytes)."""

    def __init__(self):
        super().__init__()
        self.sections: list[Section] = []
        self.text, self.tag, self.attrs = "", None, {}
        self.rows, self.header, self.caption_title, self.h3 = [], [], "", ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(Section(attrs["id"], ""))
        elif tag in ("h2", "h3", "p", "td", "th", "b", "figcaption"):
            self.text, self.tag, self.attrs = "", tag, attrs
        elif tag == "table":
            self.rows, self.header = [], []
        elif tag == "tr":
            self.rows.append([])
        elif tag == "img" and self.sections:
            self.png = base64.b64decode(attrs["src"].split(",", 1)[1])

    def handle_data(self, data):
        self.text += data

    def handle_endtag(self, tag):
        if not self.sections:
            return
        s = self.sections[-1]
        if tag == "h2":
            s.title = self.text
        elif tag == "h3":
            self.h3 = self.text
        elif tag == "p":
            s.blocks.append(Note(self.text, _NOTE_CLASS.get(self.attrs.get("class"))))
        elif tag == "th":
            self.header.append(self.text.replace("_", " "))
        elif tag == "td":
            self.rows[-1].append(self.text)
        elif tag == "table":
            s.blocks.append(_table(self.header, [r for r in self.rows if r], self.h3))
            self.h3 = ""
        elif tag == "b" and self.tag == "b":
            self.caption_title = self.text
        elif tag == "figcaption":
            caption = self.text.removeprefix(self.caption_title).removeprefix(" — ")
            s.blocks.append(FigureSpec("png", self.caption_title, caption, {"png": self.png}))


def _table(header: list[str], rows: list[list[str]], title: str) -> Table:
    # Old tables printed counts with three decimals ("87.000"): counts read as counts again.
    counts = [i for i, h in enumerate(header) if h == "n" or h.startswith("n ")]
    rows = [[re.sub(r"^(\d+)\.000$", r"\1", v) if i in counts else v for i, v in enumerate(r)]
            for r in rows]
    return Table([Column(h, "text") for h in header], rows, title)


def rerender(folder: Path, noun: str) -> dict[str, Path]:
    stored = json.loads((folder / "metrics.json").read_text())
    meta = dict(stored["meta"])
    counts = meta.pop("class_counts", None) or meta.pop("counts", {})
    meta.pop("labels", None)
    parser = _Sections()
    parser.feed((folder / "report.html").read_text())
    warnings, notes = class_warnings(counts, noun)
    kept = [w for w in stored["warnings"] if not _OLD_CLASS_WARNINGS.search(w)]
    keys = [k for k in stored["headline"] if not re.search(r"_(low|high)$", k)]
    findings = Findings(
        metrics={k: (float("nan") if v is None else v) for k, v in stored["metrics"].items()},
        verdicts={k: legacy_verdict(k, v if isinstance(v, str) else v["text"])
                  for k, v in stored["verdicts"].items()},
        sections=parser.sections, warnings=kept + warnings,
        headline=headline(keys, stored["metrics"]), class_counts=counts, meta=meta)
    fidelity = findings.section("fidelity")
    if fidelity is not None:
        fidelity.blocks[:0] = [Note(n) for n in notes]
    return write_report(findings, folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--noun", default="rows", help="what one item is: rows or images")
    args = ap.parse_args()
    print(rerender(args.folder, args.noun))


if __name__ == "__main__":
    main()

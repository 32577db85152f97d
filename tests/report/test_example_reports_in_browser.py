"""Each committed example report, opened in a real headless Chromium as a reader would: no
console errors, every figure loads, and the text holds labels, not keys or floats for counts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from browser import Browser, chromium_path

REPORTS = sorted(Path(__file__).resolve().parents[2].joinpath("reports").glob("*/report.html"))
RAW_KEY = re.compile(r"\b(fidelity|diversity|memorization|utility|time)/\w")
INTERVAL_AS_ARM = re.compile(r"\w_(low|high)\b")
# Count cells: the class-count table and any column headed "n ..." or "points".
COUNT_CELLS = """Array.from(document.querySelectorAll('table')).flatMap(t => {
  const heads = Array.from(t.querySelectorAll('th')).map(h => h.textContent.trim());
  const counts = t.closest('#class-counts') !== null;
  return Array.from(t.querySelectorAll('tbody tr')).flatMap(r =>
    Array.from(r.cells).filter((c, i) => (counts && i > 0) ||
      /^(n|n .*|points)$/.test(heads[i] || '')).map(c => c.textContent.trim()));
})"""

pytestmark = pytest.mark.skipif(
    chromium_path() is None,
    reason="no chromium on PATH: `make test` installs Debian's chromium package (apt-get "
           "install -y chromium); it could not be installed here")


def test_there_are_example_reports():
    assert {p.parent.name for p in REPORTS} >= {"breast_cancer", "pneumonia", "mri_patches"}


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: p.parent.name)
def test_example_report_reads_cleanly_in_chromium(report):
    with Browser() as browser:
        browser.open(report)
        images = browser.evaluate(
            "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
        text = browser.evaluate("document.body.innerText")
        counts = browser.evaluate(COUNT_CELLS)
        severities = browser.evaluate(
            "Array.from(document.querySelectorAll('.verdict')).map(v => v.className)")
    assert browser.errors == [], browser.errors
    assert images and all(images), f"{images.count(False)} of {len(images)} images did not load"
    assert not RAW_KEY.search(text), RAW_KEY.search(text).group(0)
    assert not INTERVAL_AS_ARM.search(text), INTERVAL_AS_ARM.search(text).group(0)
    assert counts and all(re.fullmatch(r"\d[\d,]*", c) for c in counts), counts
    assert severities and all(re.fullmatch(r"verdict v-(good|caution|bad)", s) for s in severities)

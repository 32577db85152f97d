"""The one renderer, on findings built by hand: colours come from severities, counts read as
counts, labels replace keys, and every output names the same verdicts."""

import json

import numpy as np
import pytest

from synthgen.evaluation import (
    Column,
    FigureSpec,
    Findings,
    Note,
    Section,
    Severity,
    Table,
    Verdict,
)
from synthgen.evaluation.names import headline
from synthgen.report import render_html, render_markdown, write_report

METRICS = {
    "fidelity/detection_auc": 0.61,
    "memorization/dcr_share": float("nan"),
    "utility/cnn/balanced_accuracy/gain_real_plus_synth": -0.014,
    "utility/cnn/balanced_accuracy/gain_real_plus_synth_low": -0.022,
    "utility/cnn/balanced_accuracy/gain_real_plus_synth_high": -0.005,
    "fidelity/fd_random": 117.2,
}


def _findings() -> Findings:
    curve = FigureSpec("curves", "Training losses", "", {
        "series": {"generator": ([1, 2, 3], [2.0, 1.5, 1.2])}, "x_label": "epoch",
        "y_label": "loss"})
    table = Table([Column("class", "text"), Column("n", "count"), Column("share", "share")],
                  [["benign", 128, 0.25], ["malignant", np.int64(1234), 0.75]], "Per class")
    return Findings(
        metrics=dict(METRICS),
        verdicts={
            # Words that once coloured a card red ("copies"): the severity decides now.
            "memorization": Verdict(Severity.GOOD, "no sign of memorization: exact copies 0.0%"),
            "fidelity": Verdict(Severity.BAD, "poor <but escaped>"),
            "utility": Verdict(Severity.CAUTION, "no clear effect"),
        },
        sections=[Section("training", "Training", [Note("why", Severity.CAUTION), table, curve])],
        warnings=["class 'B' has no synthetic rows"],
        headline=headline(list(METRICS)[:1] + list(METRICS)[2:3] + ["fidelity/fd_random"],
                          METRICS),
        class_counts={"train": {"a": 128, "b": 12}, "synthetic": {"a": 0, "b": 116}},
        meta={"dataset": "demo", "condition": "diagnosis", "rows_train": 140},
    )


@pytest.fixture(scope="module")
def html():
    return render_html(_findings())


def test_verdict_colour_is_the_severity_not_the_wording(html):
    assert '<div class="verdict v-good"><b>memorization</b>no sign of memorization' in html
    assert '<div class="verdict v-bad"><b>fidelity</b>poor &lt;but escaped&gt;' in html
    assert '<div class="verdict v-caution"><b>utility</b>' in html
    assert '<p class="caution">why</p>' in html


def test_counts_read_as_whole_numbers(html):
    assert "<td class=num>128</td>" in html and "<td class=num>1,234</td>" in html
    assert "128.000" not in html and "<td class=num>25.0%</td>" in html
    # The class-count table sits at the top, labelled by the condition.
    assert html.index("<th>diagnosis</th>") < html.index('id="verdicts"')
    assert "<td class=num>116</td>" in html


def test_headline_shows_labels_and_the_interval_with_its_gain(html):
    assert "fidelity/" not in html.split('id="headline"')[1].split("</table>")[0]
    assert "Gain in balanced accuracy, real + all synthetic vs real only (CNN)" in html
    assert "-0.014 [-0.022, -0.005]" in html
    assert "_low" not in html and "_high" not in html
    assert "fixed random network" in html


def test_figure_specs_become_embedded_pngs(html):
    assert html.count("data:image/png;base64,iVBORw0KGgo") == 1


def test_write_report_gives_three_files_with_the_same_verdicts(tmp_path):
    paths = write_report(_findings(), tmp_path / "rep")
    assert sorted(p.name for p in paths.values()) == ["metrics.json", "report.html", "summary.md"]
    doc = json.loads(paths["metrics"].read_text())
    assert doc["verdicts"]["memorization"] == {
        "severity": "good", "text": "no sign of memorization: exact copies 0.0%"}
    assert doc["metrics"]["memorization/dcr_share"] is None  # NaN is not JSON
    assert doc["class_counts"]["train"] == {"a": 128, "b": 12}
    assert doc["headline"][1]["interval"] == [-0.022, -0.005]
    md = paths["summary"].read_text()
    assert "- **fidelity** (bad): poor <but escaped>" in md
    assert "| a | 128 | 0 |" in md


def test_headline_metrics_only_finite():
    f = _findings()
    f.headline = headline(["fidelity/detection_auc", "memorization/dcr_share"], METRICS)
    assert f.headline_metrics() == {"fidelity/detection_auc": 0.61}


def test_extend_merges_without_duplicate_warnings():
    a, b = _findings(), _findings()
    b.sections = [Section("extra", "Extra")]
    a.extend(b)
    assert [s.key for s in a.sections] == ["training", "extra"] and len(a.warnings) == 1
    assert len(a.headline) == 3


def test_markdown_without_findings_still_reads():
    assert render_markdown(Findings()).startswith("# Evaluation summary: synthetic data")

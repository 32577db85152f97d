import json

import matplotlib.pyplot as plt

from synthgen.evaluation.result import EvaluationResult, Figure, Section


def _result():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    return EvaluationResult(
        metrics={"fidelity/detection_auc": 0.61, "memorization/dcr_share": float("nan")},
        verdicts={"fidelity": "moderate <ok>"},
        sections=[Section("fidelity", "Fidelity", "<p>x</p>", [Figure.from_matplotlib(fig, "t")])],
        warnings=["class 'B' is absent"],
        headline=["fidelity/detection_auc", "memorization/dcr_share"],
        meta={"dataset": "toy"},
    )


def test_write_produces_three_files_and_valid_json(tmp_path):
    paths = _result().write(tmp_path / "rep")
    assert sorted(p.name for p in paths.values()) == ["metrics.json", "report.html", "summary.md"]
    doc = json.loads(paths["metrics"].read_text())
    assert doc["metrics"]["memorization/dcr_share"] is None  # NaN is not JSON
    assert doc["verdicts"]["fidelity"] == "moderate <ok>"
    assert "class 'B' is absent" in paths["summary"].read_text()
    assert not list((tmp_path / "rep").glob(".*"))  # no temporaries left


def test_headline_metrics_only_finite():
    assert _result().headline_metrics() == {"fidelity/detection_auc": 0.61}


def test_figure_is_png():
    assert _result().sections[0].figures[0].png[:8] == b"\x89PNG\r\n\x1a\n"


def test_extend_merges_without_duplicate_warnings():
    a, b = _result(), _result()
    b.sections = [Section("training", "Training")]
    a.extend(b)
    assert [s.key for s in a.sections] == ["fidelity", "training"] and len(a.warnings) == 1

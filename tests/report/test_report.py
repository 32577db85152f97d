import re

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from synthgen.config import EvalConfig
from synthgen.evaluation import Severity, evaluate_tables
from synthgen.report import write_report


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = load_breast_cancer(as_frame=True).frame
    d["diagnosis"] = np.where(d.pop("target") == 1, "benign", "malignant")
    d = d.iloc[:, [0, 1, 3, 8, 20, 30]].sample(frac=1, random_state=0).reset_index(drop=True)
    train, holdout, test = d.iloc[:190], d.iloc[190:380], d.iloc[380:]
    synthetic = holdout.sample(frac=1.0, replace=True, random_state=1).assign(extra=0)
    result = evaluate_tables(train, holdout, test, synthetic, "diagnosis",
                             config=EvalConfig(seeds=2, detection_folds=2),
                             history={"generator": [2.0, 1.5, 1.2], "discriminator": [0.9, 1.0, 1.1]},
                             dataset="breast cancer")
    folder = tmp_path_factory.mktemp("rep")
    return result, write_report(result, folder)


def test_html_has_headline_and_every_section(report):
    result, paths = report
    html = paths["report"].read_text()
    for anchor in ("verdicts", "headline", "warnings", "fidelity", "memorization", "utility",
                   "training"):
        assert f'id="{anchor}"' in html
    # Readers see the verdicts before any section.
    assert html.index('id="verdicts"') < html.index('<section id="fidelity"')
    assert "Detection AUC" in html and "SMOTE-NC" in html and "extra" in html
    # Each verdict card carries the severity its evaluation set.
    for topic, verdict in result.verdicts.items():
        assert f'<div class="verdict v-{verdict.severity.value}"><b>{topic}</b>' in html
    # The sample is resampled holdout rows: no copies of train, but sitting on the holdout
    # is what a leaked holdout looks like, so the judgement is a caution, not an all-clear.
    assert result.verdicts["memorization"].severity is Severity.CAUTION


def test_html_is_self_contained(report):
    html = report[1]["report"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html
    assert html.count("data:image/png;base64,") == 6  # histograms, heat map, DCR, 2 gains, losses


def test_summary_has_verdicts(report):
    result, paths = report
    md = paths["summary"].read_text()
    assert "## Verdicts" in md and "**memorization**" in md and "**utility**" in md

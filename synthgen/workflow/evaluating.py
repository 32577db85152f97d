"""``synthgen evaluate``: a sample against the fitted model's real splits; the report written
and logged."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.class_counts import resolve_class_counts
from synthgen.config import EvalConfig, TrackingConfig
from synthgen.modalities import get_modality
from synthgen.models.artifact import load_model
from synthgen.tracking import make_tracker
from synthgen.workflow.run_folder import (
    last_sample_path,
    load_splits,
    read_run_document,
    read_synthetic,
    resolve_model_dir,
)
from synthgen.workflow.say import say


@dataclass
class EvaluateResult:
    result: Any  # synthgen.evaluation.findings.Findings
    report_dir: Path
    files: dict[str, Path]
    run_id: str | None = None


def evaluate(
    model_dir: str | Path | None = None,
    synthetic: str | Path | None = None,
    *,
    report_dir: str | Path | None = None,
    config: EvalConfig | None = None,
    tracking: TrackingConfig | None = None,
    parent_run_id: str | None = None,
    tracker=None,
    data_path: str | Path | None = None,
) -> EvaluateResult:
    """Evaluate a sample against the fitted model's saved splits; write and log the report."""
    config = config or EvalConfig()
    model_dir = resolve_model_dir(model_dir)
    doc = read_run_document(model_dir)
    modality = get_modality(doc.kind)
    given = Path(synthetic) if synthetic else None
    synthetic = given or last_sample_path(model_dir)
    report_dir = Path(report_dir) if report_dir else Path("reports") / doc.name

    tracker = tracker or make_tracker(tracking or doc.tracking())
    tracker.check_reachable()
    with tracker.start_run(f"{doc.name}-evaluate", experiment=doc.experiment, run_type="evaluate", parent_run_id=parent_run_id) as run:
        tracker.log_params({"evaluate": config.model_dump(mode="json"), "synthetic": str(synthetic)})
        parts = load_splits(model_dir, doc, data_path)
        synth_payload = read_synthetic(model_dir, given, modality, doc)
        if modality.balanced_tstr and set(modality.labels_of(synth_payload, doc)) < set(doc.class_counts):
            parts["balanced"] = _balanced_draw(model_dir, len(modality.labels_of(parts["train"], doc)))
        result = modality.evaluate(parts | {"synthetic": synth_payload}, synth_payload, doc, config, say,
                                   cache_dir=evaluation_cache_dir(model_dir))
        for warning in doc.warnings:  # what the fit said about the data, repeated
            result.warn(warning)
        from synthgen.report import write_report  # matplotlib: loaded only to render

        files = write_report(result, report_dir)
        tracker.log_metrics({k: float(v) for k, v in result.metrics.items() if _is_number(v)})
        tracker.log_artifacts(report_dir, "report")
        say(f"report written to {files.get('html', report_dir)}")
    return EvaluateResult(result, report_dir, files, getattr(run, "run_id", None))


def evaluation_cache_dir(run_dir: Path) -> Path:
    """What evaluations of this run reuse (the trained image encoder, real-only arms' scores):
    beside the run folder, like the split cache, since the encoder learned from patient images
    and the run folder is logged, registered and shared."""
    return run_dir.parent / f".{run_dir.name}.evaluation-cache"


def _balanced_draw(model_dir: Path, n: int):
    """Equal counts per class from the model, seeded: the synthetic-only arm's training set."""
    synth, _ = load_model(model_dir)
    counts = resolve_class_counts(synth.class_counts_, n=max(n, 2), balance="equal")
    say(f"drawing a balanced sample of {sum(counts.values())} for synthetic-only (TSTR)")
    return synth.generate(counts, seed=0)


def _is_number(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False

"""``synthgen run pipeline.yaml``: fit -> sample -> evaluate -> report, nested under one
parent MLflow run."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.config import PipelineConfig, TrackingConfig
from synthgen.data_locations import public_config
from synthgen.tracking import make_tracker
from synthgen.workflow.evaluating import EvaluateResult, evaluate
from synthgen.workflow.fitting import FitResult, fit, together
from synthgen.workflow.sampling import SampleResult, sample
from synthgen.workflow.settings import experiment_name, resolve_fit_config


@dataclass
class PipelineResult:
    fit: FitResult
    sample: SampleResult
    evaluate: EvaluateResult


def run_pipeline(config: PipelineConfig) -> PipelineResult | None:
    """Fit, sample and evaluate under one parent MLflow run (``synthgen run pipeline.yaml``).

    Without ``torchrun`` this always returns a ``PipelineResult``. Under ``torchrun`` every
    process takes part in training, but only the main one opens the parent run, logs, samples
    and evaluates; the others return ``None`` as soon as ``fit`` is done. ``fit`` leaves the
    process group on every process once the model folder is written: the main one's logging,
    sampling and evaluation are not bound by a collective's timeout (NCCL's watchdog aborts a
    wait after 10 minutes) while the others wait for it to finish.
    """
    from synthgen import distributed

    fit_config = resolve_fit_config(config.fit)
    dist = distributed.setup(fit_config.train.device)
    if dist.distributed:  # the parent run and the model folder carry rank 0's time-stamped name
        name = distributed.broadcast_str(fit_config.name)
        fit_config = fit_config.model_copy(update={"name": name})
    tracker = make_tracker(fit_config.tracking if dist.is_main else TrackingConfig(enabled=False))
    experiment = experiment_name(fit_config.tracking, fit_config.data.path)
    with contextlib.ExitStack() as parent_run:
        parent_id = _start_pipeline_run(
            parent_run, tracker, f"{fit_config.name}-pipeline", experiment,
            {"pipeline": config.model_dump(mode="json") | {"fit": public_config(fit_config)}}, dist,
        )
        fitted = fit(fit_config, parent_run_id=parent_id, tracker=tracker)  # leaves the group
        if not fitted.main:
            return None
        sampled = sample(
            fitted.run_dir, config.sample, parent_run_id=parent_id, tracker=tracker,
            data_path=fit_config.data.path,
        )
        report_dir = config.report_dir or Path("reports") / fit_config.name
        evaluated = evaluate(
            fitted.run_dir, sampled.path, report_dir=report_dir, config=config.evaluate,
            parent_run_id=parent_id, tracker=tracker, data_path=fit_config.data.path,
        )
    return PipelineResult(fitted, sampled, evaluated)


def _start_pipeline_run(
    stack, tracker, name: str, experiment: str, params: Mapping[str, Any], dist
) -> str | None:
    """Open the parent run (on ``stack``) and log its params; every process learns if that worked."""
    opened = []

    def start() -> None:
        tracker.check_reachable()
        opened.append(stack.enter_context(tracker.start_run(name, experiment=experiment, run_type="pipeline")))
        tracker.log_params(params)

    together(start, dist, "the main process could not start the pipeline's MLflow run (see its error)")
    return getattr(opened[0], "run_id", None) if opened else None

"""fit / sample / evaluate / run: the one place that joins data, models, evaluation, reports
and tracking. The CLI and the Python API both call these functions.

One module per command (``fitting``, ``sampling``, ``evaluating``, ``pipeline``); what they
share about a fit's settings is in ``settings``, about the run folder on disk in
``run_folder``.
"""

from synthgen.workflow.evaluating import EvaluateResult, evaluate
from synthgen.workflow.fitting import FitResult, fit, relog
from synthgen.workflow.pipeline import PipelineResult, run_pipeline
from synthgen.workflow.run_folder import load_splits, read_run_document, resolve_model_dir
from synthgen.workflow.sampling import SampleResult, sample
from synthgen.workflow.settings import LATEST, checkpoint_dir, experiment_name, resolve_fit_config

__all__ = [
    "LATEST", "EvaluateResult", "FitResult", "PipelineResult", "SampleResult", "checkpoint_dir",
    "evaluate", "experiment_name", "fit", "load_splits", "read_run_document", "relog",
    "resolve_fit_config", "resolve_model_dir", "run_pipeline", "sample",
]

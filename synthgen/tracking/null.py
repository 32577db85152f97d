"""The tracker that logs nothing: ``tracking.enabled=false``, and DDP ranks other than 0."""

from __future__ import annotations

import contextlib

from synthgen.tracking.protocol import RunHandle


class NullTracker:
    """Does nothing, and says so by ``enabled = False``."""

    enabled = False
    uri = None

    def check_reachable(self) -> None:
        pass

    @contextlib.contextmanager
    def start_run(self, run_name, *, experiment, run_type, parent_run_id=None, tags=None):
        yield RunHandle(run_id="", experiment_id="", name=run_name)

    def log_params(self, params) -> None:
        pass

    def log_metrics(self, metrics, step=None) -> None:
        pass

    def set_tags(self, tags) -> None:
        pass

    def log_artifact(self, path, artifact_path=None) -> None:
        pass

    def log_artifacts(self, folder, artifact_path=None) -> None:
        pass

    def log_model(self, model_dir, *, registered_name=None, input_example=None) -> None:
        return None

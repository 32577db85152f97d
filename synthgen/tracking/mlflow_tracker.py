"""``MlflowTracker``: logs to an MLflow store (SQLite file, database or server).

See the package docstring for where the data goes and the failure policy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata as _pkg
from pathlib import Path
from typing import Any

from synthgen.errors import TrackingError
from synthgen.tracking.limits import (
    METRICS_PER_BATCH,
    PARAMS_PER_BATCH,
    TAG_VALUE_LENGTH,
    chunks,
    clean_key,
    flatten_params,
    is_connection_failure,
    reason,
)
from synthgen.tracking.protocol import RunHandle
from synthgen.tracking.pyfunc_model import log_pyfunc_model
from synthgen.tracking.store import artifact_location, check_scheme

log = logging.getLogger(__name__)

RUN_TYPE_TAG = "synthgen.run_type"
# MLflow retries a dead server for minutes by default (7 retries, backoff factor 2); when
# the user has not chosen, fail within seconds instead.
HTTP_RETRY_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


@dataclass
class _OpenRun:
    handle: RunHandle
    metrics: list = field(default_factory=list)  # mlflow.entities.Metric, not yet sent
    last_flush: float = field(default_factory=time.monotonic)
    retry_after: float = 0.0
    warned: bool = False
    dropped: int = 0


class MlflowTracker:
    """Logs to an MLflow store (SQLite file, database or server); see the package docstring."""

    enabled = True

    def __init__(
        self,
        uri: str,
        *,
        register_model: bool = True,
        flush_every: int = 100,
        flush_seconds: float = 5.0,
        retry_seconds: float = 30.0,
        max_buffered: int = 10_000,
    ):
        self.uri = uri
        self.register_model = register_model
        self.flush_every = flush_every
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self.max_buffered = max_buffered
        self._scheme = urllib.parse.urlparse(uri).scheme
        self._runs: list[_OpenRun] = []
        self._experiments: dict[str, str] = {}
        self._client_obj = None
        self._saved_uri: tuple[str | None, str | None] = (None, None)

    # -- connection -------------------------------------------------------------------------

    def _mlflow(self):
        import mlflow

        if self._scheme in ("http", "https"):
            for name, value in HTTP_RETRY_DEFAULTS.items():
                os.environ.setdefault(name, value)
        return mlflow

    def _point_mlflow_here(self) -> None:
        """While runs are open, MLflow's process-wide URI is ours (``log_model`` reads it).

        ``mlflow.set_tracking_uri`` also sets ``MLFLOW_TRACKING_URI``; both are put back when
        the outermost run ends, so a later tracker or the user's own MLflow calls are unaffected.
        The model registry follows the tracking URI unless ``MLFLOW_REGISTRY_URI`` says otherwise.
        """
        from mlflow.tracking._tracking_service import utils

        previous = getattr(utils, "_tracking_uri", None)
        self._saved_uri = (previous, os.environ.get("MLFLOW_TRACKING_URI"))
        self._mlflow().set_tracking_uri(self.uri)

    def _restore_mlflow_uri(self) -> None:
        previous, env = self._saved_uri
        self._mlflow().set_tracking_uri(previous)
        if env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = env

    def _client(self):
        if self._client_obj is None:
            mlflow = self._mlflow()
            self._client_obj = mlflow.MlflowClient(tracking_uri=self.uri)
        return self._client_obj

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Turn whatever MLflow raises into one ``TrackingError`` line naming the URI."""
        try:
            yield
        except TrackingError:
            raise
        except Exception as e:
            if is_connection_failure(e):
                msg = f"MLflow tracking server at {self.uri} is not reachable: {reason(e)}"
            else:
                msg = f"MLflow at {self.uri}: {what} failed: {reason(e)}"
            raise TrackingError(msg) from e
    def check_reachable(self) -> None:
        """Fail in seconds, before training, if the store cannot be used."""
        check_scheme(self.uri)
        with self._guard("opening the tracking store"):
            self._client().search_experiments(max_results=1)

    # -- experiments and runs ---------------------------------------------------------------

    def _experiment_id(self, name: str) -> str:
        if name in self._experiments:
            return self._experiments[name]
        client = self._client()
        with self._guard(f"opening experiment {name!r}"):
            exp = client.get_experiment_by_name(name)
            if exp is None:
                try:
                    location = artifact_location(self.uri, name)
                    exp_id = client.create_experiment(name, artifact_location=location)
                except Exception:  # created meanwhile by another process
                    exp = client.get_experiment_by_name(name)
                    if exp is None:
                        raise
                    exp_id = exp.experiment_id
            else:
                if exp.lifecycle_stage == "deleted":
                    raise TrackingError(
                        f"MLflow at {self.uri}: experiment {name!r} is deleted; restore it "
                        f"(`mlflow experiments restore --experiment-id {exp.experiment_id}`) "
                        "or choose another name"
                    )
                exp_id = exp.experiment_id
        self._experiments[name] = exp_id
        return exp_id

    @contextlib.contextmanager
    def start_run(
        self,
        run_name: str,
        *,
        experiment: str,
        run_type: str,
        parent_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Iterator[RunHandle]:
        """A run in ``experiment``; nested under ``parent_run_id`` (or the open run, if any).

        The run ends FINISHED, or FAILED (KILLED on Ctrl-C) when the block raises; the
        block's exception always propagates unchanged.
        """
        mlflow = self._mlflow()
        exp_id = self._experiment_id(experiment)
        all_tags = {RUN_TYPE_TAG: run_type, **_version_tag()}
        all_tags.update({k: str(v) for k, v in (tags or {}).items()})
        if not self._runs:
            self._point_mlflow_here()
        try:
            with self._guard(f"starting run {run_name!r}"):
                active = mlflow.start_run(
                    run_name=run_name,
                    experiment_id=exp_id,
                    parent_run_id=parent_run_id,
                    nested=True,
                    tags={clean_key(k): v[:TAG_VALUE_LENGTH] for k, v in all_tags.items()},
                    log_system_metrics=False,
                )
        except BaseException:
            if not self._runs:
                self._restore_mlflow_uri()
            raise
        run = _OpenRun(RunHandle(active.info.run_id, exp_id, run_name))
        self._runs.append(run)
        try:
            yield run.handle
        except BaseException as e:
            status = "KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED"
            self._end(run, status, raise_errors=False)
            raise
        else:
            self._end(run, "FINISHED", raise_errors=True)

    def _end(self, run: _OpenRun, status: str, *, raise_errors: bool) -> None:
        self._runs.remove(run)
        self._flush(run, final=True)
        if run.dropped or run.metrics:
            log.warning(
                "MLflow at %s: %d metric values of run %s were not logged "
                "(the history is in the model folder)",
                self.uri, run.dropped + len(run.metrics), run.handle.run_id,
            )
        import mlflow

        try:
            with self._guard(f"ending run {run.handle.name!r}"):
                active = mlflow.active_run()
                if active is not None and active.info.run_id == run.handle.run_id:
                    mlflow.end_run(status)  # pops MLflow's run stack even if the call fails
                else:
                    self._client().set_terminated(run.handle.run_id, status)
        except TrackingError as e:
            if raise_errors:
                raise
            log.warning("%s", e)  # never hide the exception that ended the run
        finally:
            if not self._runs:
                self._restore_mlflow_uri()

    def _current(self, what: str) -> _OpenRun:
        if not self._runs:
            raise RuntimeError(f"{what} called outside `with tracker.start_run(...)`")
        return self._runs[-1]

    # -- logging ----------------------------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Nested dicts (or pydantic models) flattened to ``a.b.c`` keys, ≤100 per request."""
        run = self._current("log_params")
        from mlflow.entities import Param
        from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

        flat = flatten_params(params, max_value_length=MAX_PARAM_VAL_LENGTH)
        items = [Param(k, v) for k, v in flat.items()]
        with self._guard("logging params"):
            for chunk in chunks(items, PARAMS_PER_BATCH):
                self._client().log_batch(run.handle.run_id, params=chunk, synchronous=True)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        run = self._current("set_tags")
        from mlflow.entities import RunTag

        items = [RunTag(clean_key(k), str(v)[:TAG_VALUE_LENGTH]) for k, v in tags.items()]
        with self._guard("setting tags"):
            for chunk in chunks(items, PARAMS_PER_BATCH):
                self._client().log_batch(run.handle.run_id, tags=chunk, synchronous=True)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Buffered; sent every ``flush_every`` values or ``flush_seconds``. Never raises."""
        run = self._current("log_metrics")
        from mlflow.entities import Metric

        now_ms = int(time.time() * 1000)
        for key, value in metrics.items():
            run.metrics.append(Metric(clean_key(key), float(value), now_ms, int(step or 0)))
        due = time.monotonic() - run.last_flush >= self.flush_seconds
        if len(run.metrics) >= self.flush_every or due:
            self._flush(run)

    def _flush(self, run: _OpenRun, *, final: bool = False) -> None:
        if not run.metrics or (not final and time.monotonic() < run.retry_after):
            return
        run.last_flush = time.monotonic()
        try:
            while run.metrics:
                chunk = run.metrics[:METRICS_PER_BATCH]
                self._client().log_batch(run.handle.run_id, metrics=chunk, synchronous=True)
                del run.metrics[: len(chunk)]
        except Exception as e:
            run.retry_after = time.monotonic() + self.retry_seconds
            if not run.warned:
                run.warned = True
                log.warning(
                    "MLflow at %s: cannot log metrics (%s); keeping up to %d values and retrying",
                    self.uri, reason(e), self.max_buffered,
                )
            excess = len(run.metrics) - self.max_buffered
            if excess > 0:
                del run.metrics[:excess]
                run.dropped += excess

    def log_artifact(self, path: str | os.PathLike, artifact_path: str | None = None) -> None:
        run = self._current("log_artifact")
        with self._guard(f"uploading {path}"):
            self._client().log_artifact(run.handle.run_id, str(path), artifact_path)

    def log_artifacts(self, folder: str | os.PathLike, artifact_path: str | None = None) -> None:
        run = self._current("log_artifacts")
        with self._guard(f"uploading {folder}"):
            self._client().log_artifacts(run.handle.run_id, str(folder), artifact_path)
    def log_model(
        self,
        model_dir: str | os.PathLike,
        *,
        registered_name: str | None = None,
        input_example: Any = None,
    ) -> str:
        """Log the model folder as a pyfunc (``serving.py``, a model from code: no pickle).

        Registers it as ``registered_name`` when given and ``register_model`` is on. Returns
        ``models:/<name>/<version>`` when registered, else the logged model's URI.
        """
        self._current("log_model")
        name = registered_name if registered_name and self.register_model else None
        with self._guard("logging the model"):
            info = log_pyfunc_model(self._mlflow(), Path(model_dir), name, input_example)
        if name:
            return f"models:/{name}/{info.registered_model_version}"
        return info.model_uri


def _version_tag() -> dict[str, str]:
    try:
        return {"synthgen.version": _pkg.version("synthgen")}
    except _pkg.PackageNotFoundError:
        return {}

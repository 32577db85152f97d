"""Experiment tracking: a ``Tracker`` protocol, an MLflow implementation and a null one.

``make_tracker(config)`` picks one. The MLflow tracker imports mlflow lazily (≈ 2 s), so a run
with tracking off never pays for it. Where the data goes:

- ``config.uri`` if set, else ``MLFLOW_TRACKING_URI``, else ``sqlite:///<cwd>/mlflow.db``;
- with a SQLite store each experiment's artifacts go to ``<db folder>/mlruns/<experiment>``
  (set explicitly: MLflow would otherwise put them under whatever the cwd happens to be);
- with a server, artifacts go wherever the server says (usually proxied through it).

Failure policy (the model folder is written before anything is logged, so nothing here can
lose the user's work):

- ``check_reachable()`` is called before training and fails within a few seconds;
- params, tags, artifacts, models and run start/end raise ``TrackingError`` (one line, with
  the URI) when the store refuses or cannot be reached;
- metrics never raise: they are buffered and sent with ``log_batch`` every ``flush_every``
  values or ``flush_seconds``; when a send fails the tracker warns once, keeps up to
  ``max_buffered`` values, retries every ``retry_seconds`` and at run end, and says at run end
  how many were lost (the per-epoch history is in ``model.json`` anyway).

Run lifecycle goes through MLflow's fluent API (so ``log_model`` attaches to the right run and
nested runs get their parent tag); everything else goes through an ``MlflowClient`` with an
explicit run id. While a run is open MLflow's process-wide tracking URI is this tracker's; the
previous one is restored when the outermost run ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata as _pkg
from pathlib import Path
from typing import Any, ContextManager, Protocol

from synthgen.config import TrackingConfig
from synthgen.errors import TrackingError

log = logging.getLogger(__name__)

RUN_TYPE_TAG = "synthgen.run_type"
MODEL_ARTIFACT = "generator"  # name of the logged pyfunc model inside a run
SERVING_FILE = Path(__file__).with_name("serving.py")

PARAMS_PER_BATCH = 100  # MLflow's MAX_PARAMS_TAGS_PER_BATCH
METRICS_PER_BATCH = 1000  # MLflow's MAX_METRICS_PER_BATCH
KEY_LENGTH = 250  # MLflow's MAX_ENTITY_KEY_LENGTH
TAG_VALUE_LENGTH = 8000
REACHABLE_TIMEOUT_S = 3.0
# MLflow retries a dead server for minutes by default (7 retries, backoff factor 2); when
# the user has not chosen, fail within seconds instead.
HTTP_RETRY_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


@dataclass(frozen=True)
class RunHandle:
    """What the caller gets from ``start_run``: ids to print, link or nest under."""

    run_id: str
    experiment_id: str
    name: str


class Tracker(Protocol):
    enabled: bool

    def check_reachable(self) -> None: ...

    def start_run(
        self,
        run_name: str,
        *,
        experiment: str,
        run_type: str,
        parent_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> ContextManager[RunHandle]: ...

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...

    def set_tags(self, tags: Mapping[str, Any]) -> None: ...

    def log_artifact(self, path: str | os.PathLike, artifact_path: str | None = None) -> None: ...

    def log_artifacts(
        self, folder: str | os.PathLike, artifact_path: str | None = None
    ) -> None: ...

    def log_model(
        self,
        model_dir: str | os.PathLike,
        *,
        registered_name: str | None = None,
        input_example: Any = None,
    ) -> str | None: ...


def make_tracker(config: TrackingConfig, *, cwd: str | os.PathLike | None = None) -> Tracker:
    """The tracker ``config`` asks for; ``cwd`` anchors the default SQLite store."""
    if not config.enabled:
        return NullTracker()
    return MlflowTracker(resolve_uri(config.uri, cwd=cwd), register_model=config.register_model)


def resolve_uri(uri: str | None, *, cwd: str | os.PathLike | None = None) -> str:
    """``uri`` > ``MLFLOW_TRACKING_URI`` > ``sqlite:///<cwd>/mlflow.db``; bare ``*.db``: SQLite."""
    base = Path(cwd if cwd is not None else os.getcwd()).resolve()
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or str(base / "mlflow.db")
    if "://" not in uri and uri.endswith(".db"):
        return f"sqlite:///{(base / uri).resolve()}"
    return uri


# --------------------------------------------------------------------------------------------
# Null tracker
# --------------------------------------------------------------------------------------------


class NullTracker:
    """Does nothing: ``tracking.enabled=false``, and DDP ranks other than 0."""

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


# --------------------------------------------------------------------------------------------
# Parameter and key shaping (pure functions, no mlflow)
# --------------------------------------------------------------------------------------------

_BAD_KEY_CHARS = re.compile(r"[^\w.\- :/]")


def clean_key(key: str) -> str:
    """A metric/param/tag key MLflow accepts: odd characters become ``_``, at most 250 chars."""
    return _BAD_KEY_CHARS.sub("_", str(key))[:KEY_LENGTH]


def flatten_params(params: Any, *, max_value_length: int = 6000) -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``; values as JSON-ish text, cut to the limit.

    Pydantic models are dumped first. Lists stay one value (``[256, 256]``); empty mappings
    are kept as ``{}`` so that the option shows up at all.
    """
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        if isinstance(value, Mapping) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
            return
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > max_value_length:
            text = text[: max_value_length - 1] + "…"
        out[clean_key(prefix)] = text

    walk("", params)
    return out


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _reason(e: BaseException) -> str:
    """One short line out of MLflow's multi-line, URL-laden exception texts."""
    text = str(e)
    for needle, short in (
        ("Connection refused", "connection refused"),
        ("timed out", "timed out"),
        ("Name or service not known", "unknown host"),
        ("Failed to establish a new connection", "cannot connect"),
    ):
        if needle in text:
            return short
    first = text.strip().splitlines()[0] if text.strip() else type(e).__name__
    return first[:300]


def _is_connection_failure(e: BaseException) -> bool:
    return _reason(e) in ("connection refused", "timed out", "unknown host", "cannot connect")


# --------------------------------------------------------------------------------------------
# MLflow tracker
# --------------------------------------------------------------------------------------------


@dataclass
class _OpenRun:
    handle: RunHandle
    metrics: list = field(default_factory=list)  # mlflow.entities.Metric, not yet sent
    last_flush: float = field(default_factory=time.monotonic)
    retry_after: float = 0.0
    warned: bool = False
    dropped: int = 0


class MlflowTracker:
    """Logs to an MLflow store (SQLite file, database or server); see the module docstring."""

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
            if _is_connection_failure(e):
                msg = f"MLflow tracking server at {self.uri} is not reachable: {_reason(e)}"
            else:
                msg = f"MLflow at {self.uri}: {what} failed: {_reason(e)}"
            raise TrackingError(msg) from e

    def check_reachable(self) -> None:
        """Fail in seconds, before training, if the store cannot be used."""
        if self._scheme in ("file", ""):
            # MLflow 3 keeps the file store only in maintenance mode; its own warning is a
            # cut-off paragraph. Say what works instead.
            raise TrackingError(
                f"tracking URI {self.uri!r} is a file store, which synthgen does not use; leave "
                "--tracking-uri unset for the default SQLite store (./mlflow.db), give "
                "sqlite:///path/to/mlflow.db, or a server (http://host:5000)"
            )
        if self._scheme in ("http", "https"):
            self._check_http()
        elif self._scheme == "sqlite":
            self._check_sqlite()
        with self._guard("opening the tracking store"):
            self._client().search_experiments(max_results=1)

    def _check_http(self) -> None:
        url = self.uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=REACHABLE_TIMEOUT_S) as response:
                response.read(64)
        except urllib.error.HTTPError as e:
            if e.code in (401, 403):
                raise TrackingError(
                    f"MLflow tracking server at {self.uri} refused access (HTTP {e.code}); "
                    "set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD"
                ) from None
            if e.code >= 500:
                raise TrackingError(
                    f"MLflow tracking server at {self.uri} is not healthy: HTTP {e.code}"
                ) from None
            # Any other answer (e.g. 404 behind a proxy) means something is listening; the
            # API call in check_reachable tells whether it is MLflow.
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise TrackingError(
                f"MLflow tracking server at {self.uri} is not reachable: {_reason(reason)}"
            ) from None

    def _check_sqlite(self) -> None:
        path = self._sqlite_path()
        if path is None:  # in-memory database
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TrackingError(
                f"MLflow store {self.uri}: cannot create folder {path.parent} ({e.strerror or e})"
            ) from None
        target = path if path.exists() else path.parent
        if not os.access(target, os.W_OK):
            raise TrackingError(f"MLflow store {self.uri}: {target} is not writable")

    def _sqlite_path(self) -> Path | None:
        rest = self.uri[len("sqlite://") :]
        if rest in ("", "/", "/:memory:"):
            return None
        return Path(rest[1:] if rest.startswith("/") else rest).resolve()

    # -- experiments and runs ---------------------------------------------------------------

    def _experiment_id(self, name: str) -> str:
        if name in self._experiments:
            return self._experiments[name]
        client = self._client()
        with self._guard(f"opening experiment {name!r}"):
            exp = client.get_experiment_by_name(name)
            if exp is None:
                try:
                    location = self._artifact_location(name)
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

    def _artifact_location(self, experiment: str) -> str | None:
        """SQLite: ``<db folder>/mlruns/<experiment>``; other stores decide for themselves."""
        if self._scheme != "sqlite":
            return None
        path = self._sqlite_path()
        base = path.parent if path is not None else Path.cwd()
        safe = re.sub(r"[^\w.\-]", "_", experiment)
        return (base / "mlruns" / safe).as_uri()

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
            for chunk in _chunks(items, PARAMS_PER_BATCH):
                self._client().log_batch(run.handle.run_id, params=chunk, synchronous=True)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        run = self._current("set_tags")
        from mlflow.entities import RunTag

        items = [RunTag(clean_key(k), str(v)[:TAG_VALUE_LENGTH]) for k, v in tags.items()]
        with self._guard("setting tags"):
            for chunk in _chunks(items, PARAMS_PER_BATCH):
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
                    self.uri, _reason(e), self.max_buffered,
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
        ``models:/<name>/<version>`` when registered, else the logged model's URI. The default
        input example asks for one sample of each class.
        """
        self._current("log_model")
        mlflow = self._mlflow()
        from synthgen.serving_contract import request_signature
        model_dir = Path(model_dir)
        if input_example is None:
            input_example = default_input_example(model_dir)
        name = registered_name if registered_name and self.register_model else None
        with self._guard("logging the model"), warnings.catch_warnings():
            # `count` is an integer column on purpose (it is never missing): skip that hint.
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=str(SERVING_FILE),
                artifacts={"model": str(model_dir)},
                input_example=(input_example, {"seed": 0}),
                # Declared, not inferred: optional columns and a double count let bad requests
                # reach serving.py, which answers them with one line (see serving_contract).
                signature=request_signature(),
                pip_requirements=serving_requirements(),  # skips MLflow's slow inference
                registered_model_name=name,
            )
        if name:
            return f"models:/{name}/{info.registered_model_version}"
        return info.model_uri


def default_input_example(model_dir: Path):
    """One sample of each class named in ``model.json`` (read as JSON: no model code runs)."""
    import pandas as pd

    try:
        classes = list(json.loads((Path(model_dir) / "model.json").read_text())["class_counts"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TrackingError(f"{model_dir}: cannot read the classes from model.json ({e})") from None
    return pd.DataFrame({"class": [str(c) for c in classes], "count": [1] * len(classes)})


def serving_requirements() -> list[str]:
    """synthgen and its installed dependencies, pinned, for the logged model's environment."""
    out = []
    try:
        out.append(f"synthgen=={_pkg.version('synthgen')}")
        specs = _pkg.requires("synthgen") or []
    except _pkg.PackageNotFoundError:
        specs = ["torch", "pandas", "numpy", "safetensors", "mlflow"]
    for spec in specs:
        if "extra ==" in spec or "extra==" in spec:
            continue
        name = re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]
        try:
            out.append(f"{name}=={_pkg.version(name)}")
        except _pkg.PackageNotFoundError:
            out.append(spec.split(";")[0].strip())
    return out


def _version_tag() -> dict[str, str]:
    try:
        return {"synthgen.version": _pkg.version("synthgen")}
    except _pkg.PackageNotFoundError:
        return {}

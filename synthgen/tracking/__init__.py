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

import os
from pathlib import Path

from synthgen.config import TrackingConfig
from synthgen.tracking.limits import clean_key, flatten_params
from synthgen.tracking.mlflow_tracker import RUN_TYPE_TAG, MlflowTracker
from synthgen.tracking.null import NullTracker
from synthgen.tracking.protocol import RunHandle, Tracker
from synthgen.tracking.pyfunc_model import MODEL_ARTIFACT, SERVING_FILE, default_input_example, serving_requirements

__all__ = [
    "MODEL_ARTIFACT", "RUN_TYPE_TAG", "SERVING_FILE", "MlflowTracker", "NullTracker", "RunHandle",
    "Tracker", "clean_key", "default_input_example", "flatten_params", "make_tracker",
    "resolve_uri", "serving_requirements",
]


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

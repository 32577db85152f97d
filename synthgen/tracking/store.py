"""Whether an MLflow store can be used, checked in seconds before training (no mlflow import
for HTTP and SQLite), and where a SQLite store's artifacts go."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from synthgen.errors import TrackingError
from synthgen.tracking.limits import reason

REACHABLE_TIMEOUT_S = 3.0


def check_scheme(uri: str) -> None:
    """A file store is refused; an HTTP server must answer; a SQLite file must be writable."""
    scheme = urllib.parse.urlparse(uri).scheme
    if scheme in ("file", ""):
        # MLflow 3 keeps the file store only in maintenance mode; its own warning is a
        # cut-off paragraph. Say what works instead.
        raise TrackingError(
            f"tracking URI {uri!r} is a file store, which synthgen does not use; leave "
            "--tracking-uri unset for the default SQLite store (./mlflow.db), give "
            "sqlite:///path/to/mlflow.db, or a server (http://host:5000)"
        )
    if scheme in ("http", "https"):
        _check_http(uri)
    elif scheme == "sqlite":
        _check_sqlite(uri)


def _check_http(uri: str) -> None:
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=REACHABLE_TIMEOUT_S) as response:
            response.read(64)
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            raise TrackingError(
                f"MLflow tracking server at {uri} refused access (HTTP {e.code}); "
                "set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD"
            ) from None
        if e.code >= 500:
            raise TrackingError(f"MLflow tracking server at {uri} is not healthy: HTTP {e.code}") from None
        # Any other answer (e.g. 404 behind a proxy) means something is listening; the
        # API call in check_reachable tells whether it is MLflow.
    except (urllib.error.URLError, OSError) as e:
        why = getattr(e, "reason", e)
        raise TrackingError(f"MLflow tracking server at {uri} is not reachable: {reason(why)}") from None


def _check_sqlite(uri: str) -> None:
    path = sqlite_path(uri)
    if path is None:  # in-memory database
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TrackingError(
            f"MLflow store {uri}: cannot create folder {path.parent} ({e.strerror or e})"
        ) from None
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise TrackingError(f"MLflow store {uri}: {target} is not writable")


def sqlite_path(uri: str) -> Path | None:
    rest = uri[len("sqlite://") :]
    if rest in ("", "/", "/:memory:"):
        return None
    return Path(rest[1:] if rest.startswith("/") else rest).resolve()


def artifact_location(uri: str, experiment: str) -> str | None:
    """SQLite: ``<db folder>/mlruns/<experiment>``; other stores decide for themselves."""
    if urllib.parse.urlparse(uri).scheme != "sqlite":
        return None
    path = sqlite_path(uri)
    base = path.parent if path is not None else Path.cwd()
    safe = re.sub(r"[^\w.\-]", "_", experiment)
    return (base / "mlruns" / safe).as_uri()

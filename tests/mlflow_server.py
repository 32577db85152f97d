"""A real ``mlflow server`` on a free 127.0.0.1 port for tests (≈ 11 s to start, ≈ 0.5 GB).

Usage in a test module::

    from mlflow_server import mlflow_server_fixture
    mlflow_server = mlflow_server_fixture()          # module-scoped fixture: an MlflowServer

or register it once for the whole suite in ``tests/conftest.py``::

    from mlflow_server import mlflow_server_fixture
    mlflow_server = mlflow_server_fixture(scope="session")

The server keeps its SQLite store and proxied artifacts in a temporary folder, runs without
the job-execution workers (2 processes instead of 10) and is stopped by its process group id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 90.0

SERVER_ENV = {
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


@dataclass
class MlflowServer:
    uri: str
    port: int
    root: Path
    process: subprocess.Popen

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, *, timeout: float = START_TIMEOUT_S) -> MlflowServer:
    """Start a server storing everything under ``root``; return once ``/health`` answers."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", (root / "artifacts").as_uri(),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    log = open(root / "server.log", "wb")
    process = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **SERVER_ENV},
        start_new_session=True,  # own process group: stop_server ends it and its workers
    )  # fmt: skip
    log.close()
    server = MlflowServer(uri=f"http://127.0.0.1:{port}", port=port, root=root, process=process)
    try:
        _wait_healthy(server, timeout)
    except BaseException:
        stop_server(server)
        raise
    return server


def _wait_healthy(server: MlflowServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise RuntimeError(f"mlflow server exited ({code}):\n{_tail(server)}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(server.uri + "/health", timeout=1) as r:
                if r.status == 200:
                    return
        time.sleep(0.25)
    raise RuntimeError(f"mlflow server not healthy after {timeout:.0f} s:\n{_tail(server)}")


def _tail(server: MlflowServer, n: int = 3000) -> str:
    with contextlib.suppress(OSError):
        return server.log_file.read_text(errors="replace")[-n:]
    return ""


def stop_server(server: MlflowServer, *, timeout: float = 10.0) -> None:
    """SIGTERM the server's process group (its id is the server's PID), SIGKILL if it lingers."""
    pgid = server.process.pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        try:
            server.process.wait(timeout=timeout)
            break
        except subprocess.TimeoutExpired:
            continue
    # Workers may outlive the main process for a moment; make sure the group is gone.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@contextlib.contextmanager
def running_server(root: Path) -> Iterator[MlflowServer]:
    server = start_server(root)
    try:
        yield server
    finally:
        stop_server(server)


def mlflow_server_fixture(scope: str = "module"):
    """A pytest fixture (of the given scope) yielding a running :class:`MlflowServer`."""
    import pytest

    @pytest.fixture(scope=scope)
    def mlflow_server(tmp_path_factory) -> Iterator[MlflowServer]:
        with running_server(tmp_path_factory.mktemp("mlflow-server")) as server:
            yield server

    return mlflow_server

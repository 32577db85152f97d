"""A real ``mlflow models serve`` process on a free 127.0.0.1 port (≈ 9 s to answer /ping).

    with serving(model_uri, tracking_uri, log=tmp / "serve.log") as url:
        status, body = post_json(url + "/invocations", {...})

The process gets its own session, so it is stopped by its PID (= its process-group id) with
its uvicorn worker; SIGKILL follows if SIGTERM does not end it within 10 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from mlflow_server import SERVER_ENV, free_port

START_TIMEOUT_S = 90.0


@contextlib.contextmanager
def serving(model_uri: str, tracking_uri: str, *, log: Path) -> Iterator[str]:
    """Serve ``model_uri`` (``--env-manager local``); yield its base URL; stop it by PID."""
    port = free_port()
    env = {**os.environ, **SERVER_ENV, "MLFLOW_TRACKING_URI": tracking_uri}
    # `mlflow models serve` starts `uvicorn` from PATH: this interpreter's bin folder first.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
           "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_ping(url, process, log)
        yield url
    finally:
        _stop(process)


def _wait_for_ping(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow models serve exited ({process.returncode}):\n{_tail(log)}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/ping", timeout=1) as r:
                if r.status == 200:
                    return
        time.sleep(0.25)
    raise RuntimeError(f"mlflow models serve not up after {START_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _tail(log: Path, n: int = 3000) -> str:
    return log.read_text(errors="replace")[-n:] if log.exists() else ""


def _stop(process: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # a worker that outlived its parent
        os.killpg(process.pid, signal.SIGKILL)


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict | str]:
    """POST ``body``; return the status and the JSON answer (text when it is not JSON)."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def ask(url: str, rows: list[list], *, seed: int | None = None, columns=("class", "count")):
    """POST a ``dataframe_split`` request for ``rows`` of (class, count) to /invocations."""
    payload: dict = {"dataframe_split": {"columns": list(columns), "data": rows}}
    if seed is not None:
        payload["params"] = {"seed": seed}
    return post(url + "/invocations", json.dumps(payload).encode())

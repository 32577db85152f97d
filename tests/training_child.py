"""A fit in a child process that prints each finished epoch, for kill -9 and SIGINT tests.

``start_fit(test_file, args)`` runs ``fit(*args, callback=report)`` from that test module in
a fresh interpreter, on one thread (as the parent's fits must be, for bit-identical sums).
After each epoch the child waits for a line on its stdin: the parent acts (kills it, or sends
SIGINT) while the child is known to stand between two epochs, however slow the machine is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import sys
    sys.path[:0] = {paths!r}
    from {module} import fit

    def report(epoch, _):
        print("epoch", epoch, flush=True)
        sys.stdin.readline()  # the parent's go-ahead

    fit(*{args!r}, callback=report)
    """
)


def start_fit(test_file: str | Path, args: tuple) -> subprocess.Popen:
    test_file = Path(test_file)
    paths = [str(Path(__file__).parent), str(test_file.parent)]
    code = CHILD.format(paths=paths, module=test_file.stem, args=tuple(args))
    env = {**os.environ, "PYTHONPATH": str(REPO), "SYNTHGEN_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def go_on(child: subprocess.Popen) -> None:
    child.stdin.write("\n")
    child.stdin.flush()


def wait_for_epoch(child: subprocess.Popen, epoch: int) -> None:
    """Let the child train until it reports ``epoch``; it then waits for ``go_on``."""
    for line in child.stdout:
        if line.split() == ["epoch", str(epoch)]:
            return
        if line.startswith("epoch "):
            go_on(child)
    raise AssertionError(f"the fit ended before epoch {epoch}: {child.stderr.read()[-2000:]}")


def kill_after_epoch(child: subprocess.Popen, epoch: int) -> int:
    """``kill -9`` the child once it reports ``epoch``; its exit status."""
    try:
        wait_for_epoch(child, epoch)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    return child.returncode


def interrupt_after_epoch(child: subprocess.Popen, epoch: int) -> tuple[int, str]:
    """Ctrl-C (SIGINT) the child during its report of ``epoch``; its exit status and stderr."""
    try:
        wait_for_epoch(child, epoch)
        child.send_signal(signal.SIGINT)  # while it waits: caught at the next step
        go_on(child)
        _, err = child.communicate(timeout=60)
    finally:
        child.kill()
    return child.returncode, err

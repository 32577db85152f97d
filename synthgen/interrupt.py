"""Ctrl-C as a request to stop at the next safe point, so a training loop can save its state.

Python's default SIGINT raises ``KeyboardInterrupt`` wherever the interpreter happens to be:
halfway through an optimizer step, leaving weights and optimizer moments out of step. Inside
``stop_requests()`` the first Ctrl-C (or a SIGTERM, which torchrun and batch schedulers send
before killing) only sets a flag; the loop checks it at a step boundary, writes a checkpoint
and raises ``KeyboardInterrupt`` itself. A second Ctrl-C interrupts at once, as usual.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """A flag set by a signal handler; ``requested`` is what the loop polls."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # asked twice: the user does not want to wait
        self.requested = True
        print(
            "\nstopping after this step to save a checkpoint (Ctrl-C again to abort at once)",
            file=sys.stderr,
            flush=True,
        )


@contextlib.contextmanager
def stop_requests(enabled: bool = True) -> Iterator[StopRequest]:
    """Route SIGINT/SIGTERM to a ``StopRequest`` for the block; the old handlers come back after.

    Signal handlers can only be installed from the main thread; elsewhere (or with
    ``enabled=False``) the request is never set and signals behave as they always do.
    """
    request = StopRequest()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    for s in _SIGNALS:
        signal.signal(s, request._handle)
    try:
        yield request
    finally:
        for s, handler in previous.items():
            # None: a handler installed outside Python; the default is the closest we can restore
            signal.signal(s, signal.SIG_DFL if handler is None else handler)

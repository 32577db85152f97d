"""What the commands tell the user as they go: one line on stderr each (stdout is for results)."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

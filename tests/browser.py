"""A headless Chromium driven over the DevTools protocol, with nothing but the standard library:
open a local page, collect console errors, evaluate JavaScript.

Chromium comes from Debian's ``chromium`` package (``make test`` installs it where missing).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class _WebSocket:
    """The client side of RFC 6455, text frames only: enough for DevTools."""

    def __init__(self, url: str, timeout: float = 60.0):
        host, port, path = re.match(r"ws://([^:/]+):(\d+)(/.*)", url).groups()
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.decode(errors="replace"))

    def send(self, text: str) -> None:
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        size = bytes([0x80 | n]) if n < 126 else (bytes([0x80 | 126]) + struct.pack(">H", n)
                                                  if n < 65536 else
                                                  bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.sock.sendall(b"\x81" + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            out += chunk
        return out

    def recv(self) -> str:
        message = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            n = struct.unpack(">H", self._exact(2))[0] if n == 126 else (
                struct.unpack(">Q", self._exact(8))[0] if n == 127 else n)
            message += self._exact(n)
            if b0 & 0x80:  # FIN: the message is complete
                return message.decode()


class Browser:
    """``with Browser() as b: b.open(path); b.evaluate("document.title")``."""

    def __enter__(self) -> Browser:
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        self.proc = subprocess.Popen(
            [chromium_path(), "--headless", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if found:
                break
        else:
            raise RuntimeError("chromium exited before DevTools listened")
        port = found.group(1)
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        self.ws, self.next_id, self.errors = _WebSocket(page["webSocketDebuggerUrl"]), 0, []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _note(self, event: dict) -> None:
        p = event.get("params", {})
        if event.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif event.get("method") == "Runtime.exceptionThrown":
            self.errors.append(p["exceptionDetails"].get("text", "exception"))
        elif event.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
            self.errors.append(p["entry"]["text"])

    def call(self, method: str, wait_for: str | None = None, **params) -> dict:
        """Send a command; return its result (after the event ``wait_for``, if given)."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        result, seen, deadline = None, wait_for is None, time.monotonic() + 60
        while result is None or not seen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method}: no answer from chromium")
            msg = json.loads(self.ws.recv())
            self._note(msg)
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result = msg["result"]
            seen = seen or msg.get("method") == wait_for
        return result

    def open(self, path: Path) -> None:
        self.call("Page.navigate", wait_for="Page.loadEventFired", url=Path(path).resolve().as_uri())

    def evaluate(self, expression: str):
        out = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return out["result"].get("value")

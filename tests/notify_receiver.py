"""A real local HTTP server that receives flip notifications, for the service tests.

It listens on a free loopback port (``http.server``, one thread per request), records every
request (headers and JSON body), and answers as the test scripts it: a status, or a delay
before answering (a slow receiver), taken in order, then 200. ``stop`` ends pending delays at
once, shuts the server down and joins its thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """``url`` to POST to; ``received`` holds what came in, ``script`` what to answer next."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: list[tuple[str, float]] = []  # ("status", 500) or ("delay", seconds)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                with receiver._lock:
                    action = receiver.script.pop(0) if receiver.script else ("status", 200)
                    receiver.received.append(
                        {"headers": dict(self.headers), "body": json.loads(raw), "answer": action}
                    )
                kind, value = action
                if kind == "delay":
                    receiver._stopping.wait(value)
                    status = 200
                else:
                    status = int(value)
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r["body"] for r in self.received]

    def wait_for(self, count: int, deadline_s: float = 30.0) -> list[dict[str, Any]]:
        """The first ``count`` requests, once they arrived (a deadline, never a fixed sleep)."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{count} notifications expected, got {len(self.received)}")


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()

"""Runs ``stakegate serve`` as a real process on a free loopback port, for end-to-end tests.

The werkzeug ``DevServerClient`` pattern, as in ``conftest.py``: reserve a free port, start the
process with its output sent to a log file, poll ``/health`` with a deadline while checking the
process is alive, show the log tail on failure, and stop it (``terminate`` + ``wait``) at the
end. Tests that SIGKILL it use ``--opa-url`` so that no private OPA is orphaned.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from stakegate.policy.runtime import free_port

STAKEGATE = [str(Path(sys.executable).parent / "stakegate")]


class ServiceProcess:
    """A running ``stakegate serve``; ``url`` is its base URL."""

    def __init__(
        self,
        args: list[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [*STAKEGATE, "serve", "--addr", f"127.0.0.1:{self.port}", *args],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            preexec_fn=preexec_fn,  # e.g. resource limits of the service process only
        )

    def wait_ready(self, deadline_s: float = 60.0) -> None:
        wait_healthy(f"{self.url}/health", self.proc, self.log_path, deadline_s)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@contextmanager
def serving(args: list[str], log_path: Path, **options: Any) -> Iterator[ServiceProcess]:
    server = ServiceProcess(args, log_path, **options)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def wait_healthy(
    health_url: str, proc: subprocess.Popen[bytes], log: Path, deadline_s: float = 30.0
) -> None:
    """Poll ``health_url`` until it answers 200, failing with the log tail if ``proc`` exits
    or the deadline passes (never a fixed sleep)."""

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"{health_url}: process exited {proc.returncode}:\n{log_tail(log)}"
            )
        try:
            if httpx.get(health_url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{health_url} not healthy in {deadline_s}s:\n{log_tail(log)}")


def log_tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

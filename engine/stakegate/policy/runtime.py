"""Starts and stops a private OPA server for one engine run.

The engine evaluates the policy in a real ``opa run --server`` bound to a free loopback port,
so that the CLI, the tests and production all exercise the same evaluator. The server is
ready only when ``/health?bundles`` answers 200 within a deadline; otherwise the run fails
(exit 1) with the tail of OPA's own log, never with a guess.

A bundle ``.tar.gz`` is admitted by the run's ``Trust`` first (``bundles.trust``: signature,
content, manifest, effective date, and when required its signed approvals); OPA then loads a
private copy of exactly the verified bytes and checks the signature again itself
(``--verification-key``). A policy directory is unsigned and meant for development; it is
refused when approval is required.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType

import requests

from stakegate import settings
from stakegate.bundles.signing import ALGORITHM, VerifiedBundle
from stakegate.bundles.trust import Trust, verify_for_loading
from stakegate.errors import InputError, OpaUnavailableError
from stakegate.logs import get_logger
from stakegate.opa_binary import find_opa_binary
from stakegate.policy.lifeline import spawn_tied

__all__ = ["LocalOpa", "free_port", "policy_revision"]

log = get_logger(__name__)

_POLICY_SUFFIXES = (".rego", ".json", ".yaml", ".yml")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def policy_revision(policy: Path) -> str:
    """Content hash of a policy directory or bundle file: what a decision was made under.

    A directory's hash covers the relative paths and bytes of its policy and data files, so
    an edit to any rule or parameter changes the revision that decisions report.
    """
    digest = hashlib.sha256()
    if policy.is_dir():
        for path in sorted(policy.rglob("*")):
            if path.is_file() and (path.suffix in _POLICY_SUFFIXES or path.name == ".manifest"):
                digest.update(path.relative_to(policy).as_posix().encode())
                digest.update(b"\0")
                digest.update(path.read_bytes())
                digest.update(b"\0")
    else:
        digest.update(policy.read_bytes())
    return f"sha256:{digest.hexdigest()}"


def _opa_environment() -> dict[str, str]:
    """The environment for an OPA the engine starts: ours, with ``GOGC`` and ``GOMEMLIMIT``
    defaulting to ``settings.OPA_GOGC`` and ``settings.OPA_GOMEMLIMIT`` (a caller's own win)."""
    env = dict(os.environ)
    env.setdefault("GOGC", settings.OPA_GOGC)
    env.setdefault("GOMEMLIMIT", settings.OPA_GOMEMLIMIT)
    return env


class LocalOpa:
    """``with LocalOpa(policy) as opa: opa.url`` runs OPA on ``policy`` for the block's duration."""

    __slots__ = (
        "_bundle_dir",
        "_log_file",
        "_untie",
        "bundle",
        "policy",
        "port",
        "proc",
        "revision",
        "trust",
    )

    def __init__(
        self,
        policy: Path,
        *,
        trust: Trust | None = None,
        as_of: date | None = None,
        preview: bool = False,
    ) -> None:
        """Admit ``policy`` under ``trust`` (default: ``Trust.from_settings()``, which trusts
        no key unless configured) for decisions ``as_of`` (default: today, UTC); ``preview``
        also admits a bundle whose effective date is later (``bundle diff`` only)."""
        if not policy.exists():
            raise InputError(f"{policy}: policy directory or bundle not found")
        if not (policy.is_dir() or policy.name.endswith((".tar.gz", ".tgz"))):
            raise InputError(f"{policy}: expected a directory or a bundle .tar.gz", param="policy")
        self.policy = policy
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._untie: Callable[[], None] | None = None
        self._log_file: tempfile._TemporaryFileWrapper[bytes] | None = None
        self._bundle_dir: tempfile.TemporaryDirectory[str] | None = None
        # Verified before OPA ever starts: a tampered or unsigned bundle is never evaluated.
        self.trust = trust if trust is not None else Trust.from_settings()
        day = None if preview else (as_of or datetime.now(UTC).date())
        self.bundle: VerifiedBundle | None = verify_for_loading(policy, self.trust, day)
        # Fallback revision (a bundle's OPA-reported revision wins): the content hash.
        self.revision = (
            f"sha256:{self.bundle.sha256}" if self.bundle is not None else policy_revision(policy)
        )

    def __repr__(self) -> str:
        return f"<LocalOpa policy={str(self.policy)!r} port={self.port}>"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalOpa:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        binary = find_opa_binary()
        self._log_file = tempfile.NamedTemporaryFile(prefix="stakegate-opa-", suffix=".log")
        self.port = free_port()
        cmd = [
            binary,
            "run",
            "--server",
            "--addr",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "error",
            *self._policy_args(),
        ]
        log.debug("Starting OPA", cmd=cmd)
        # Tied to this process: a killed engine (SIGKILL runs no cleanup) leaves no OPA behind.
        self.proc, self._untie = spawn_tied(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=_opa_environment(),
        )
        try:
            self._wait_healthy(settings.OPA_STARTUP_DEADLINE)
        except BaseException:
            self.stop()
            raise

    def _policy_args(self) -> list[str]:
        if self.bundle is None:
            return ["--bundle", str(self.policy)]
        # OPA loads a private copy of the verified bytes (no swap between check and load) and
        # verifies the signature again with the same key.
        self._bundle_dir = tempfile.TemporaryDirectory(prefix="stakegate-bundle-")
        copy = Path(self._bundle_dir.name) / self.policy.name
        copy.write_bytes(self.bundle.data)
        return [
            "--bundle",
            str(copy),
            "--verification-key",
            str(self.trust.public_key),
            "--signing-alg",
            ALGORITHM,
        ]

    def _log_tail(self, lines: int = 20) -> str:
        if self._log_file is None:
            return ""
        self._log_file.flush()
        text = Path(self._log_file.name).read_text(errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    def _wait_healthy(self, deadline_s: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + deadline_s
        delay = 0.02
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise OpaUnavailableError(
                    f"OPA exited with code {self.proc.returncode} while loading "
                    f"{self.policy}:\n{self._log_tail()}"
                )
            try:
                response = requests.get(f"{self.url}/health?bundles", timeout=1.0)
                if response.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        raise OpaUnavailableError(
            f"OPA did not become healthy within {deadline_s:g}s on {self.url}:\n{self._log_tail()}"
        )

    def stop(self) -> None:
        if self._untie is not None:
            self._untie()
            self._untie = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._bundle_dir is not None:
            self._bundle_dir.cleanup()
            self._bundle_dir = None

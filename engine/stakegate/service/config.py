"""What one ``stakegate serve`` runs with, checked before anything starts.

Auth follows the bind address: a service reachable beyond loopback refuses to start without
API keys unless ``allow_anonymous`` says so explicitly, so a misplaced ``--addr 0.0.0.0`` never
exposes an unauthenticated decision endpoint.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from stakegate import settings
from stakegate.bundles.trust import Trust, check_sources
from stakegate.errors import InputError
from stakegate.service.audit.keys import Signer
from stakegate.service.notify import check_notify_url

__all__ = ["ServiceConfig", "is_loopback", "parse_addr", "read_api_keys"]


def parse_addr(addr: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a host and a port."""
    host, sep, port = addr.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise InputError(f"{addr!r}: expected HOST:PORT, e.g. 127.0.0.1:8000", param="addr")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_api_keys(path: Path | None, env_value: str = "") -> frozenset[str]:
    """Keys from a file (one per line, ``#`` comments) and a comma-separated setting."""
    keys = {k.strip() for k in env_value.split(",") if k.strip()}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise InputError(f"{path}: cannot read the API key file: {err.strerror}") from err
        keys |= {line.strip() for line in text.splitlines() if line.strip() and line[:1] != "#"}
    short = [k for k in keys if len(k) < 16]
    if short:
        raise InputError("API keys must be at least 16 characters long")
    return frozenset(keys)


@dataclass(frozen=True)
class ServiceConfig:
    """Inputs of one service; paths are re-read on every reload."""

    registry: Path
    policy: Path | None = None
    opa_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    audit_log: Path | None = None
    api_keys: frozenset[str] = field(default_factory=frozenset)
    allow_anonymous: bool = False
    as_of: date | None = None
    trust: Trust = field(default_factory=Trust.from_settings)
    opa_deadline: float = field(default_factory=lambda: settings.SERVICE_OPA_DEADLINE)
    max_body: int = field(default_factory=lambda: settings.SERVICE_MAX_BODY)
    max_batch: int = field(default_factory=lambda: settings.SERVICE_MAX_BATCH)
    opa_chunk: int = field(default_factory=lambda: settings.SERVICE_OPA_CHUNK)
    # --- audit log (service/audit) and connection bounds (service/connections) ---
    audit_signer: Signer | None = None
    audit_rotate_bytes: int | None = None
    audit_rotate_daily: bool = False
    audit_input: str = "hash"  # "full": record each decision's facts, not only their hash
    header_timeout: float = field(default_factory=lambda: settings.SERVICE_HEADER_TIMEOUT)
    body_timeout: float = field(default_factory=lambda: settings.SERVICE_BODY_TIMEOUT)
    max_connections: int = field(default_factory=lambda: settings.SERVICE_MAX_CONNECTIONS)
    # Where each reload's flips are POSTed (service/notify.py); None: nowhere.
    notify_url: str | None = None
    # Regimes every decision is made under side by side (docs/regimes.md); None: the default.
    regimes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        settings.require_valid()
        check_sources(self.policy, self.opa_url, self.trust)
        if self.notify_url is not None:
            check_notify_url(self.notify_url)
        self._check_audit_and_limits()
        if not is_loopback(self.host) and not self.api_keys and not self.allow_anonymous:
            raise InputError(
                f"{self.host}:{self.port} is reachable beyond loopback: give API keys (a key "
                "file, or STAKEGATE_SERVICE_API_KEYS), or allow anonymous access explicitly",
                param="addr",
            )

    def _check_audit_and_limits(self) -> None:
        audit_options = (self.audit_signer, self.audit_rotate_bytes, self.audit_rotate_daily)
        if self.audit_log is None and any(audit_options):
            raise InputError("an audit key or rotation needs an audit log", param="audit_log")
        if self.audit_input not in ("hash", "full"):
            raise InputError(f"{self.audit_input!r}: expected hash or full", param="audit_input")
        if self.audit_rotate_bytes is not None and self.audit_rotate_bytes < 1:
            raise InputError("must be at least 1", param="audit_rotate_bytes")
        timeouts = (self.header_timeout, self.body_timeout)
        if not all(0 < t < 86400 for t in timeouts):  # also refuses nan and inf
            raise InputError(
                "STAKEGATE_SERVICE_HEADER_TIMEOUT and _BODY_TIMEOUT: seconds, above 0 and "
                "below a day"
            )
        if self.max_connections < 1:
            raise InputError("STAKEGATE_SERVICE_MAX_CONNECTIONS must be at least 1")

    @property
    def auth_required(self) -> bool:
        return bool(self.api_keys)

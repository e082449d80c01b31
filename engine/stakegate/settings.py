"""Typed, environment-overridable settings, in one place.

Every knob reads ``STAKEGATE_<NAME>`` from the environment once at import. Tests change them with
``monkeypatch.setattr(settings, ...)``, never by editing this file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"STAKEGATE_{name}", default)


# What could not be read from the environment. The setting keeps its default only so that the
# import succeeds; every entry point calls ``require_valid`` first and refuses to run (exit 2).
PROBLEMS: list[str] = []
_PLAIN_INT = re.compile(r"[0-9]+")
_PLAIN_FLOAT = re.compile(r"[0-9]+(\.[0-9]+)?")


def _int(name: str, default: str) -> int:
    """A whole number of at least 1, written plainly in decimal."""
    raw = _env(name, default)
    if not _PLAIN_INT.fullmatch(raw.strip()) or int(raw) < 1:
        PROBLEMS.append(f"STAKEGATE_{name}={raw!r}: expected a whole number of at least 1")
        return int(default)
    return int(raw)


def _float(name: str, default: str, *, at_most: float | None = None) -> float:
    """A number above 0 (at most ``at_most``), written plainly in decimal."""
    raw = _env(name, default)
    text = raw.strip()
    if (
        not _PLAIN_FLOAT.fullmatch(text)
        or float(text) <= 0
        or (at_most is not None and float(text) > at_most)
    ):
        bound = f" and at most {at_most:g}" if at_most is not None else ""
        PROBLEMS.append(f"STAKEGATE_{name}={raw!r}: expected a decimal number above 0{bound}")
        return float(default)
    return float(text)


def require_valid() -> None:
    """Refuse to run on a setting that could not be read (``InputError``, exit 2)."""
    if PROBLEMS:
        from stakegate.errors import InputError

        raise InputError("; ".join(PROBLEMS))


def _optional_path(name: str) -> Path | None:
    value = _env(name, "")
    return Path(value) if value else None


# Repository root when running from a checkout (editable install); used to find defaults.
_REPO_ROOT = Path(__file__).resolve().parents[2]
_PACKAGE_DIR = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[0]


# Policy directory used when --policy is not given: the shipped default policy.
DEFAULT_POLICY: Path = Path(
    _env("POLICY", str(_first_existing(_PACKAGE_DIR / "_policies", _REPO_ROOT / "policies")))
)
# JSON Schemas (registry input, OPA facts, decision output).
SCHEMA_DIR: Path = Path(
    _env("SCHEMA_DIR", str(_first_existing(_PACKAGE_DIR / "_schemas", _REPO_ROOT / "schemas")))
)
# OPA binary: the project-local one installed by scripts/setup.sh, else `opa` on PATH.
OPA_BINARY: str = _env(
    "OPA_BINARY",
    str(_REPO_ROOT / ".tools" / "bin" / "opa")
    if (_REPO_ROOT / ".tools" / "bin" / "opa").exists()
    else "opa",
)
# Command that installs OPA, named in errors when the binary is missing.
SETUP_COMMAND: str = "./scripts/setup.sh"
# URL of an already running OPA; empty means the engine starts its own.
OPA_URL: str = _env("OPA_URL", "")
# Seconds one OPA HTTP request may take before the decision fails (exit 1).
OPA_TIMEOUT: float = _float("OPA_TIMEOUT", "60")
# Seconds to wait for a locally started OPA to report its bundle healthy.
OPA_STARTUP_DEADLINE: float = _float("OPA_STARTUP_DEADLINE", "30")
# Go's GC target for the OPA the engine starts (GOGC), unless GOGC is already set: OPA allocates
# a lot per decision while parsing input, and at Go's default of 100 its collector took a third of
# its CPU under batch load (bench: 17.8k -> 25.6k decisions/s at 400, peak RSS 100 -> 215 MiB).
OPA_GOGC: str = _env("OPA_GOGC", "400")
# Go's soft memory limit for the OPA the engine starts (GOMEMLIMIT), unless GOMEMLIMIT is already
# set: with GOGC at 400 the heap may grow to five times what is live, and a batch of 2,000
# entities in review with cycle faults had OPA at 2.1 GB (100k-member ring); at 1GiB it stayed
# at 1.0 GB, no slower. A soft limit: OPA goes above it only when that much is live.
OPA_GOMEMLIMIT: str = _env("OPA_GOMEMLIMIT", "1GiB")
# Entities per OPA query when screening: one HTTP request decides this many.
BATCH_SIZE: int = _int("BATCH_SIZE", "2000")
# Evidence bounds: paths kept per method and entity, and nodes kept per path.
MAX_PATHS: int = _int("MAX_PATHS", "5")
MAX_PATH_NODES: int = _int("MAX_PATH_NODES", "32")
# Seconds between progress lines of a long run when stderr is not a terminal (--progress).
PROGRESS_INTERVAL: float = _float("PROGRESS_INTERVAL", "5")
# Emit log lines as JSON rather than key=value text.
LOG_JSON: bool = _env("LOG_JSON", "false").lower() in ("1", "true", "yes")
# Public key (PEM, RSA) that every policy bundle must be signed for; OPA started on a bundle
# verifies it too. No default: without it (or --key) every bundle is refused. Test keys live
# under tests/keys/ and are never a default.
BUNDLE_PUBLIC_KEY: Path | None = _optional_path("BUNDLE_PUBLIC_KEY")
# Private key used by `stakegate bundle build` without --signing-key: a PEM file path, or the
# PEM text itself (e.g. from a CI secret). Empty: --signing-key is required.
BUNDLE_SIGNING_KEY: str = _env("BUNDLE_SIGNING_KEY", "")
# Where `stakegate bundle build` writes stakegate-X.Y.Z.tar.gz when --out is not given.
BUNDLE_DIR: Path = Path(_env("BUNDLE_DIR", str(_REPO_ROOT / "bundles")))
# Load only bundles with enough valid, signed reviewer approvals (`stakegate bundle approve`);
# policy directories (unsigned, for development) are then refused.
REQUIRE_APPROVAL: bool = _env("REQUIRE_APPROVAL", "false").lower() in ("1", "true", "yes")
# Reviewer public keys (a PEM file with one or more keys, or a directory of *.pem) whose
# approvals count; no default.
REVIEWER_KEYS: Path | None = _optional_path("REVIEWER_KEYS")
# Pinned OPA capabilities that `opa check --strict` compiles the policy against (the build gate).
OPA_CAPABILITIES: Path = Path(
    _env(
        "OPA_CAPABILITIES",
        str(
            _first_existing(
                _PACKAGE_DIR / "_build" / "opa-capabilities.json",
                _REPO_ROOT / "build" / "opa-capabilities.json",
            )
        ),
    )
)
# Minimum Rego test coverage (percent) of the build gate and `make lint-rego`.
REGO_MIN_COVERAGE: float = _float("REGO_MIN_COVERAGE", "95", at_most=100)
# Bounds on reading a bundle file: its size, one member and all members once decompressed,
# and the number of members (a gzip bomb is refused before it is inflated).
BUNDLE_MAX_BYTES: int = _int("BUNDLE_MAX_BYTES", str(32 << 20))
BUNDLE_MAX_MEMBER_BYTES: int = _int("BUNDLE_MAX_MEMBER_BYTES", str(32 << 20))
BUNDLE_MAX_TOTAL_BYTES: int = _int("BUNDLE_MAX_TOTAL_BYTES", str(128 << 20))
BUNDLE_MAX_MEMBERS: int = _int("BUNDLE_MAX_MEMBERS", "10000")
# Headless Chromium that prints review reports to PDF (`--format pdf`), and the seconds one
# rendering may take before it is killed (exit 1).
CHROMIUM: str = _env("CHROMIUM", "/usr/bin/chromium")
PDF_TIMEOUT: float = _float("PDF_TIMEOUT", "120")
# Largest registry file `load_registry` reads, in bytes; a larger one is refused unread (exit 2).
REGISTRY_MAX_BYTES: int = _int("REGISTRY_MAX_BYTES", str(1 << 30))
# Deepest nesting of mappings and lists in a YAML registry (a registry needs 4); JSON is bounded
# by the interpreter's recursion limit.
REGISTRY_MAX_DEPTH: int = _int("REGISTRY_MAX_DEPTH", "32")
# Longest line (CSV, JSON lines) or record (XML, JSON array element) an importer reads, in
# bytes (characters for decoded text): memory stays a small multiple of it on any input.
IMPORT_MAX_RECORD: int = _int("IMPORT_MAX_RECORD", str(64 << 20))
# --- decision service (`stakegate serve`) ---
# Address the service binds when --addr is not given (loopback: no API key needed).
SERVICE_ADDR: str = _env("SERVICE_ADDR", "127.0.0.1:8000")
# Seconds one OPA query may take inside the service before the request fails with 503.
SERVICE_OPA_DEADLINE: float = _float("SERVICE_OPA_DEADLINE", "2")
# Largest request body accepted, in bytes; larger requests get 413.
SERVICE_MAX_BODY: int = _int("SERVICE_MAX_BODY", str(1 << 20))
# Most entities one batch request may name.
SERVICE_MAX_BATCH: int = _int("SERVICE_MAX_BATCH", "10000")
# Entities per OPA query when answering a batch (measured: 500 gives 7,000 decisions/s on two
# cores against 6,100 at 50; the policy's cost per entity no longer grows with the batch).
SERVICE_OPA_CHUNK: int = _int("SERVICE_OPA_CHUNK", "500")
# Comma-separated API keys (bearer tokens) the service accepts, besides --api-key-file.
SERVICE_API_KEYS: str = _env("SERVICE_API_KEYS", "")
# Seconds a client may take to send a request's headers: from connecting, or from the first byte
# of the next request on a kept-alive connection. Later: 408 and the connection is closed.
SERVICE_HEADER_TIMEOUT: float = _float("SERVICE_HEADER_TIMEOUT", "10")
# Seconds a client may take to send a request's body once its headers are in.
SERVICE_BODY_TIMEOUT: float = _float("SERVICE_BODY_TIMEOUT", "30")
# Most client connections open at once; a new one beyond it closes the oldest connection that
# is not being answered (idle, or still sending). Needs 2 file descriptors each, plus 256.
SERVICE_MAX_CONNECTIONS: int = _int("SERVICE_MAX_CONNECTIONS", "1024")
# Changes feed (GET /v1/changes): the newest changes kept in memory, by count and by encoded
# bytes; older ones are answered 410 (the audit log keeps them all).
SERVICE_CHANGES_MAX: int = _int("SERVICE_CHANGES_MAX", "100000")
SERVICE_CHANGES_MAX_BYTES: int = _int("SERVICE_CHANGES_MAX_BYTES", str(64 << 20))
# Flip notifications (serve --notify-url): the URL, documents waiting (the oldest waiting one is
# given up when full), attempts per document, seconds per attempt, the first retry's delay in
# seconds (doubled per attempt, at most 60), seconds after which a document is given up, and
# changes per document (a larger reload is sent in parts).
SERVICE_NOTIFY_URL: str = _env("SERVICE_NOTIFY_URL", "")
SERVICE_NOTIFY_QUEUE: int = _int("SERVICE_NOTIFY_QUEUE", "64")
SERVICE_NOTIFY_ATTEMPTS: int = _int("SERVICE_NOTIFY_ATTEMPTS", "10")
SERVICE_NOTIFY_TIMEOUT: float = _float("SERVICE_NOTIFY_TIMEOUT", "10")
SERVICE_NOTIFY_BACKOFF: float = _float("SERVICE_NOTIFY_BACKOFF", "1")
SERVICE_NOTIFY_GIVE_UP: float = _float("SERVICE_NOTIFY_GIVE_UP", "3600")
SERVICE_NOTIFY_MAX_CHANGES: int = _int("SERVICE_NOTIFY_MAX_CHANGES", "5000")
# Private key (Ed25519 or RSA, unencrypted PEM: a file path, or the PEM text) that signs the
# audit log's checkpoints (`serve --audit-key`). Empty: checkpoints are unsigned.
AUDIT_KEY: str = _env("AUDIT_KEY", "")
# Set by the test suite.
TESTING: bool = False

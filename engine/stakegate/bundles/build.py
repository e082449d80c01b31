"""Builds immutable, signed, versioned policy bundles, and records their approval.

Legal reviewers approve policy *versions*, not commits: ``build_bundle`` turns ``policies/``
into ``bundles/stakegate-X.Y.Z.tar.gz`` with ``opa build``, signed (RS256) and carrying a
manifest that says what it is (version, effective date, author, changelog entry, source commit).
The build is reproducible: only the policy files and these inputs go in, staged in a fresh
directory (so no path, mtime or stray file leaks in) and OPA writes tar entries with fixed
times, so the same source gives the same bytes. A version, once built, never changes: a second
build of the same version must produce the same bytes or it is refused. ``approve_bundle`` writes
``stakegate-X.Y.Z.approval.json`` beside the bundle, pinning its sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stakegate import settings
from stakegate.bundles.signing import (
    ALGORITHM,
    MANIFEST,
    VerifiedBundle,
    approval_path,
    key_fingerprint,
    verify_bundle,
)
from stakegate.errors import InputError
from stakegate.logs import get_logger
from stakegate.opa_binary import find_opa_binary

__all__ = ["approve_bundle", "build_bundle", "bundle_sources", "default_bundle_path"]

log = get_logger(__name__)

ROOTS = ["stakegate"]
_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_BUILD_TIMEOUT_S = 120


def default_bundle_path(version: str) -> Path:
    return settings.BUNDLE_DIR / f"stakegate-{version}.tar.gz"


def bundle_sources(policy: Path) -> dict[str, bytes]:
    """The files of ``policy`` that go into a bundle: rules and data, never tests or docs."""
    if not policy.is_dir():
        raise InputError(f"{policy}: --policy must be a policy directory to build a bundle")
    files: dict[str, bytes] = {}
    for path in sorted(policy.rglob("*")):
        rel = path.relative_to(policy).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in rel.split("/")):
            continue
        if path.name in ("data.yaml", "data.yml"):
            raise InputError(f"{path}: bundles take data.json only; convert it to JSON")
        if (path.suffix == ".rego" and not path.name.endswith("_test.rego")) or (
            path.name == "data.json"
        ):
            files[rel] = path.read_bytes()
    if not any(name.endswith(".rego") for name in files):
        raise InputError(f"{policy}: no .rego files to bundle")
    return files


def _content_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def _git(policy: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(policy), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source_commit(policy: Path) -> str | None:
    """Last commit that touched ``policy``, ``-dirty`` when it has uncommitted changes."""
    commit = _git(policy, "log", "-1", "--format=%H", "--", ".")
    if not commit:
        return None
    return f"{commit}-dirty" if _git(policy, "status", "--porcelain", "--", ".") else commit


def _default_effective_date() -> date:
    # SOURCE_DATE_EPOCH (reproducible-builds.org) pins the date for reproducible rebuilds.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), UTC).date()
    return datetime.now(UTC).date()


def _signing_key_pem(signing_key: Path | None) -> bytes:
    if signing_key is not None:
        try:
            return signing_key.read_bytes()
        except OSError as err:
            raise InputError(f"--signing-key {signing_key}: {err.strerror or err}") from None
    configured = settings.BUNDLE_SIGNING_KEY.strip()
    if configured.startswith("-----BEGIN"):
        return configured.encode() + b"\n"
    if configured:
        return _signing_key_pem(Path(configured))
    raise InputError(
        "no signing key: pass --signing-key PATH or set STAKEGATE_BUNDLE_SIGNING_KEY "
        "(a PEM path or the PEM itself); keys/test-only/ has a key for tests"
    )


def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as err:
        raise InputError(f"signing key: not an unencrypted PEM private key ({err})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InputError(f"signing key: not an RSA key ({ALGORITHM} needs RSA)")
    return key


def build_bundle(
    version: str,
    *,
    changelog: str,
    policy: Path | None = None,
    signing_key: Path | None = None,
    out: Path | None = None,
    author: str | None = None,
    effective_date: date | None = None,
) -> VerifiedBundle:
    """Build, sign and verify ``stakegate-<version>.tar.gz``; refuse to change an existing one."""
    if not _VERSION.match(version):
        raise InputError(f"--version {version!r}: expected X.Y.Z (e.g. 1.2.0)")
    policy = policy or settings.DEFAULT_POLICY
    files = bundle_sources(policy)
    key = _private_key(_signing_key_pem(signing_key))
    content = _content_hash(files)
    manifest = {
        "revision": f"{version}+{content[:12]}",
        "roots": ROOTS,
        "rego_version": 1,
        "metadata": {
            "version": version,
            "effective_date": (effective_date or _default_effective_date()).isoformat(),
            "author": author or _git(policy, "config", "user.name") or "unknown",
            "changelog": changelog,
            "source_commit": source_commit(policy),
            "content_sha256": content,
            "signing_key": key_fingerprint(key.public_key()),
        },
    }
    target = out or default_bundle_path(version)
    with tempfile.TemporaryDirectory(prefix="stakegate-bundle-") as tmp:
        staging = Path(tmp) / "src"
        for name, data in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
        (staging / MANIFEST).write_text(json.dumps(manifest, sort_keys=True) + "\n")
        key_file = Path(tmp) / "signing-key.pem"  # outside staging: never bundled
        key_file.touch(mode=0o600)
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        built = Path(tmp) / "bundle.tar.gz"
        _opa_build(staging, key_file, built)
        data = built.read_bytes()
        verified = verify_bundle(built, key.public_key())  # what we wrote is what we meant
    _write_once(target, data)
    log.info("Bundle built", bundle=str(target), revision=verified.revision, sha256=verified.sha256)
    return VerifiedBundle(
        path=target,
        sha256=verified.sha256,
        data=data,
        manifest=verified.manifest,
        files=verified.files,
        key_id=verified.key_id,
    )


def _opa_build(staging: Path, key_file: Path, output: Path) -> None:
    cmd = [find_opa_binary(), "build", "--bundle", "."]
    cmd += ["--signing-key", str(key_file), "--signing-alg", ALGORITHM, "--output", str(output)]
    try:
        done = subprocess.run(
            cmd, cwd=staging, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"opa build did not finish within {_BUILD_TIMEOUT_S}s") from None
    if done.returncode != 0:
        raise InputError(f"opa build failed:\n{(done.stderr or done.stdout).strip()}")


def _write_once(target: Path, data: bytes) -> None:
    """Bundles are immutable: write a new one, accept an identical rebuild, refuse a change."""
    if target.exists():
        if target.read_bytes() == data:
            return
        raise InputError(
            f"{target} already exists with other content; a released version never changes: "
            "build a new version"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.partial-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def approve_bundle(
    bundle: Path,
    reviewer: str,
    *,
    on: date | None = None,
    note: str = "",
    public_key: Path | None = None,
) -> dict[str, Any]:
    """Verify ``bundle`` and add ``reviewer``'s approval to its record; return the record."""
    if not reviewer.strip():
        raise InputError("--reviewer must name the person approving")
    verified = verify_bundle(bundle, public_key or settings.BUNDLE_PUBLIC_KEY)
    record_path = approval_path(bundle)
    record: dict[str, Any] = {
        "bundle": bundle.name,
        "version": verified.version,
        "revision": verified.revision,
        "sha256": verified.sha256,
        "signing_key": verified.key_id,
        "approvals": [],
    }
    if record_path.exists():
        try:
            existing = json.loads(record_path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise InputError(f"{record_path}: not JSON ({err})") from None
        if existing.get("sha256") != verified.sha256:
            raise InputError(
                f"{record_path} approves other bytes (sha256 {existing.get('sha256')}); "
                "a released version never changes"
            )
        record["approvals"] = list(existing.get("approvals", []))
    if any(a.get("reviewer") == reviewer for a in record["approvals"]):
        raise InputError(f"{bundle.name} is already approved by {reviewer!r}")
    approval = {"reviewer": reviewer, "date": (on or datetime.now(UTC).date()).isoformat()}
    if note:
        approval["note"] = note
    record["approvals"].append(approval)
    record_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info("Bundle approved", bundle=str(bundle), reviewer=reviewer, sha256=verified.sha256)
    return record

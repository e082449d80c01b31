"""Builds immutable, signed, versioned policy bundles, and only from a policy that passes the gate.

Legal reviewers approve policy *versions*, not commits: ``build_bundle`` runs the build gate
(``gate``: fmt, strict check, tests with coverage, parameter validation) and only then turns the
policy directory into ``bundles/stakegate-X.Y.Z.tar.gz`` with ``opa build``, signed (RS256) and
carrying a manifest that says what it is: version, effective date, author, changelog entry,
source commit (``uncommitted`` outside a clean git checkout), the gate's test count and coverage,
and a digest of the content that the revision is derived from. The build is reproducible: only
the policy files and these inputs go in, staged in a fresh directory, and OPA writes tar entries
with fixed times. A version, once built, never changes: a second build of the same version must
produce the same bytes or it is refused. Approvals are separate (``approvals``).
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
from stakegate.bundles.archive import open_archive
from stakegate.bundles.gate import Echo, GateReport, run_gate
from stakegate.bundles.signing import (
    ALGORITHM,
    MANIFEST,
    VerifiedBundle,
    content_digest,
    key_fingerprint,
    pem_key,
    verify_bundle,
)
from stakegate.errors import InputError
from stakegate.logs import get_logger
from stakegate.opa_binary import find_opa_binary

__all__ = [
    "UNCOMMITTED",
    "build_bundle",
    "bundle_output",
    "bundle_sources",
    "default_bundle_path",
    "pack_bundle",
    "source_commit",
]

log = get_logger(__name__)

ROOTS = ["stakegate"]
_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_BUILD_TIMEOUT_S = 120


# source_commit of a build outside a clean git checkout.
UNCOMMITTED = "uncommitted"


def default_bundle_path(version: str) -> Path:
    return settings.BUNDLE_DIR / f"stakegate-{version}.tar.gz"


def bundle_output(out: Path | str | None, version: str) -> Path:
    """Where ``--out`` means the bundle to go: a path ending in ``/`` or naming an existing
    directory is a directory (created if missing) that gets ``stakegate-<version>.tar.gz``."""
    if out is None or str(out) == "":
        return default_bundle_path(version)
    text = str(out)
    target = Path(text)
    if text.endswith(("/", os.sep)) or target.is_dir():
        return target / f"stakegate-{version}.tar.gz"
    return target


def bundle_sources(policy: Path) -> dict[str, bytes]:
    """The files of ``policy`` that go into a bundle: rules and data, never tests or docs."""
    if not policy.is_dir():
        raise InputError(f"{policy}: a bundle is built from a policy directory", param="policy")
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


def source_commit(policy: Path) -> str:
    """Last commit that touched ``policy``; ``uncommitted`` when ``policy`` is not in git or
    has changes (edited, added or untracked files) that no commit holds."""
    commit = _git(policy, "log", "-1", "--format=%H", "--", ".")
    status = _git(policy, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if not commit or status is None or status:
        return UNCOMMITTED
    return commit


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
            raise InputError(f"{signing_key}: {err.strerror or err}", param="signing_key") from None
    configured = settings.BUNDLE_SIGNING_KEY.strip()
    if configured.startswith("-----BEGIN"):
        return configured.encode() + b"\n"
    if configured:
        return _signing_key_pem(Path(configured))
    raise InputError(
        "no signing key: give one (a PEM file), or set STAKEGATE_BUNDLE_SIGNING_KEY to a PEM "
        "path or the PEM itself",
        param="signing_key",
    )


def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key: rsa.RSAPrivateKey = pem_key(
        pem,
        "signing key",
        private=True,
        accepted=rsa.RSAPrivateKey,
        kinds=f"an RSA key ({ALGORITHM} needs RSA)",
        refuse=InputError,
    )
    return key


def build_bundle(
    version: str,
    *,
    changelog: str,
    policy: Path | None = None,
    signing_key: Path | None = None,
    out: Path | str | None = None,
    author: str | None = None,
    effective_date: date | None = None,
    notice: str | None = None,
    echo: Echo | None = None,
) -> VerifiedBundle:
    """Gate, build, sign and verify ``stakegate-<version>.tar.gz``; nothing is written unless
    every gate step passes, and an existing version is never changed."""
    if not _VERSION.match(version):
        raise InputError(f"{version!r}: expected X.Y.Z (e.g. 1.2.0)", param="version")
    if not changelog.strip():
        raise InputError("must say what this version changes", param="changelog")
    policy = policy or settings.DEFAULT_POLICY
    target = bundle_output(out, version)
    files = bundle_sources(policy)
    key = _private_key(_signing_key_pem(signing_key))
    report = run_gate(policy, echo)
    commit = source_commit(policy)
    if commit == UNCOMMITTED:
        log.warning("Policy not committed", policy=str(policy), source_commit=UNCOMMITTED)
    metadata: dict[str, Any] = {
        "version": version,
        "effective_date": (effective_date or _default_effective_date()).isoformat(),
        "author": author or _git(policy, "config", "user.name") or "unknown",
        "changelog": changelog,
        "source_commit": commit,
    }
    if notice:
        metadata["notice"] = notice
    data = pack_bundle(files, key, metadata, report)
    _write_once(target, data)
    verified = verify_bundle(target, key.public_key())
    log.info("Bundle built", bundle=str(target), revision=verified.revision, sha256=verified.sha256)
    return verified


def pack_bundle(
    files: dict[str, bytes],
    key: rsa.RSAPrivateKey,
    metadata: dict[str, Any],
    gate: GateReport,
) -> bytes:
    """The signed bundle of exactly ``files`` (as ``bundle_sources`` gives them), with
    ``metadata`` plus the gate report, the content digest and the key's fingerprint.

    It checks nothing about the policy: ``build_bundle`` runs the gate first. Holding the
    private key lets anyone sign anything (OPA's own ``opa build`` does); what protects a
    deployment is the verification key and the reviewers' approvals.
    """
    version = str(metadata["version"])
    with tempfile.TemporaryDirectory(prefix="stakegate-bundle-") as tmp:
        staging = Path(tmp) / "src"
        for name, content in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(content)
        # First pass, unsigned: the files as OPA writes them, which the content digest covers.
        draft = Path(tmp) / "draft.tar.gz"
        _opa_build(staging, None, draft)
        archive = open_archive(draft)
        digest = content_digest(archive.read_members(frozenset(archive.sizes)))
        manifest = {
            "revision": f"{version}+{digest[:12]}",
            "roots": ROOTS,
            "rego_version": 1,
            "metadata": {
                **metadata,
                "tests": gate.tests,
                "coverage": gate.coverage,
                "content_sha256": digest,
                "signing_key": key_fingerprint(key.public_key()),
            },
        }
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
        verify_bundle(built, key.public_key())  # what we wrote is what we meant
        return built.read_bytes()


def _opa_build(staging: Path, key_file: Path | None, output: Path) -> None:
    cmd = [find_opa_binary(), "build", "--bundle", ".", "--output", str(output)]
    if key_file is not None:
        cmd += ["--signing-key", str(key_file), "--signing-alg", ALGORITHM]
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
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.partial-", dir=target.parent)
    except OSError as err:
        raise InputError(
            f"{target}: cannot write there ({err.strerror or err})", param="out"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise

"""Signed reviewer approvals of a bundle, and the check that enough trusted ones exist.

An approval is a JWS (compact, RFC 7515, via PyJWT) signed with the reviewer's own private key
(Ed25519 as ``EdDSA``, or RSA as ``RS256``). Its claims pin exactly what was reviewed: the
bundle file's sha256, version and revision, the reviewer, the date and the note. The approval
file beside the bundle (``stakegate-X.Y.Z.approval.json``) lists them with the same claims in
clear, for people; the check trusts only the signed claims and refuses an entry whose clear
fields differ from them (an edit). An approval counts only when its key is one of the
configured reviewer keys, it is not signed by the bundle's own signing key (no self-approval,
even if that key is listed as a reviewer), and its reviewer is not the bundle's author.
Approvals count once per reviewer key.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from stakegate.bundles.signing import VerifiedBundle, key_fingerprint, pem_key
from stakegate.errors import BundleVerificationError, InputError
from stakegate.logs import get_logger

__all__ = [
    "APPROVAL_SUFFIX",
    "ReviewerKey",
    "approval_path",
    "approve_bundle",
    "load_reviewer_keys",
    "valid_approvals",
]

log = get_logger(__name__)

APPROVAL_SUFFIX = ".approval.json"
FORMAT = "stakegate-approvals/1"
_PURPOSE = "stakegate bundle approval"
_CLAIMS = ("bundle_sha256", "version", "revision", "reviewer", "date", "note", "reviewer_key")
_MAX_RECORD_BYTES = 1 << 20

ReviewerKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def _algorithm(key: ReviewerKey | PrivateKey) -> str:
    """Fixed by the key type, never read from a token (no "none", no HMAC with a public key)."""
    return (
        "EdDSA"
        if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey)
        else ("RS256")
    )


def approval_path(bundle: Path) -> Path:
    """``bundles/stakegate-1.0.0.tar.gz`` → ``bundles/stakegate-1.0.0.approval.json``."""
    stem = bundle.name.removesuffix(".tar.gz").removesuffix(".tgz")
    return bundle.with_name(stem + APPROVAL_SUFFIX)


def _pem_blocks(text: str, source: Path) -> list[bytes]:
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("-----BEGIN "):
            current = [line]
        elif current is not None:
            current.append(line)
            if line.startswith("-----END "):
                blocks.append("\n".join(current).encode() + b"\n")
                current = None
    if not blocks:
        raise InputError(f"{source}: no PEM public key in it", param="reviewer_keys")
    return blocks


def load_reviewer_keys(path: Path | None) -> dict[str, ReviewerKey]:
    """Trusted reviewer keys by fingerprint: from a PEM file holding one or more public keys,
    or from every ``*.pem`` in a directory."""
    if path is None:
        raise InputError(
            "approvals are required but no reviewer keys are configured (a PEM file or a "
            "directory of them; setting STAKEGATE_REVIEWER_KEYS)",
            param="reviewer_keys",
        )
    files = sorted(path.glob("*.pem")) if path.is_dir() else [path]
    keys: dict[str, ReviewerKey] = {}
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"{file}: cannot read ({err})", param="reviewer_keys") from None
        for block in _pem_blocks(text, file):
            key: ReviewerKey = pem_key(
                block,
                str(file),
                private=False,
                accepted=ed25519.Ed25519PublicKey | rsa.RSAPublicKey,
                kinds="an Ed25519 or RSA key (the only kinds accepted)",
                refuse=lambda message: InputError(message, param="reviewer_keys"),
            )
            keys[key_fingerprint(key)] = key
    if not keys:
        raise InputError(f"{path}: no *.pem public keys in the directory", param="reviewer_keys")
    return keys


def _load_private_key(path: Path) -> PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: {err.strerror or err}", param="reviewer_key") from None
    key: PrivateKey = pem_key(
        data,
        str(path),
        private=True,
        accepted=ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey,
        kinds="an Ed25519 or RSA key (the only kinds that sign approvals)",
        refuse=lambda message: InputError(message, param="reviewer_key"),
    )
    return key


def _read_record(path: Path) -> list[Any]:
    """The approval entries of a record file ([] when there is none); the shape is strict."""
    try:
        if path.stat().st_size > _MAX_RECORD_BYTES:
            raise BundleVerificationError(f"{path}: refused: larger than {_MAX_RECORD_BYTES} bytes")
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as err:
        raise BundleVerificationError(
            f"{path}: refused: unreadable approval record ({err})"
        ) from None
    if (
        not isinstance(record, dict)
        or record.get("format") != FORMAT
        or not isinstance(record.get("approvals"), list)
        or set(record) - {"format", "bundle", "approvals"}
    ):
        raise BundleVerificationError(
            f"{path}: refused: not a signed approval record ({FORMAT}: an object with "
            "'format', 'bundle' and a list of signed 'approvals'); approve with "
            "`stakegate bundle approve ... --reviewer-key KEY.pem`"
        )
    return list(record["approvals"])


def approve_bundle(
    bundle: VerifiedBundle,
    reviewer: str,
    reviewer_key: Path,
    *,
    on: date | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Sign ``reviewer``'s approval of ``bundle`` with ``reviewer_key`` and add it to the record
    beside the bundle; return the new entry."""
    if not reviewer.strip():
        raise InputError("must name the person approving", param="reviewer")
    if reviewer.strip().casefold() == str(bundle.metadata.get("author", "")).strip().casefold():
        raise InputError(f"{reviewer!r} is the bundle's author: no self-approval", param="reviewer")
    key = _load_private_key(reviewer_key)
    fingerprint = key_fingerprint(key.public_key())
    if fingerprint == bundle.key_id:
        raise InputError(
            f"{reviewer_key} is the key that signed the bundle: no self-approval",
            param="reviewer_key",
        )
    record_path = approval_path(bundle.path)
    entries = _read_record(record_path)
    for entry in entries:
        if isinstance(entry, dict) and entry.get("bundle_sha256") != bundle.sha256:
            raise InputError(
                f"{record_path} approves other bytes (sha256 {entry.get('bundle_sha256')}); "
                "a released version never changes"
            )
        if isinstance(entry, dict) and entry.get("reviewer_key") == fingerprint:
            raise InputError(f"{bundle.path.name} is already approved with {fingerprint}")
    claims = {
        "bundle_sha256": bundle.sha256,
        "version": bundle.version,
        "revision": bundle.revision,
        "reviewer": reviewer.strip(),
        "date": (on or datetime.now(UTC).date()).isoformat(),
        "note": note,
        "reviewer_key": fingerprint,
    }
    token = jwt.encode(
        {"purpose": _PURPOSE, **claims},
        key,
        algorithm=_algorithm(key),
        headers={"kid": fingerprint, "typ": "JWT"},
    )
    entry = {**claims, "signature": token}
    record = {"format": FORMAT, "bundle": bundle.path.name, "approvals": [*entries, entry]}
    _write_atomic(record_path, json.dumps(record, indent=2) + "\n")
    log.info("Bundle approved", bundle=str(bundle.path), reviewer=reviewer, key=fingerprint)
    return entry


def _write_atomic(target: Path, text: str) -> None:
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.partial-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _why_invalid(
    entry: object, bundle: VerifiedBundle, trusted: dict[str, ReviewerKey]
) -> tuple[str | None, str]:
    """(None, fingerprint) for a valid approval, else (the reason, what it claims to be)."""
    if not isinstance(entry, dict) or set(entry) != {*_CLAIMS, "signature"}:
        return "malformed entry", "?"
    token, kid = entry["signature"], entry["reviewer_key"]
    label = f"{entry.get('reviewer')!r} ({kid})"
    if not isinstance(token, str):
        return "malformed signature", label
    if kid == bundle.key_id:
        return "signed by the bundle's own signing key (no self-approval)", label
    key = trusted.get(kid) if isinstance(kid, str) else None
    if key is None:
        return "signed by a key that is not a trusted reviewer key", label
    try:
        claims = jwt.decode(
            token, key, algorithms=[_algorithm(key)], options={"require": ["purpose", *_CLAIMS]}
        )
    except jwt.PyJWTError as err:
        return f"signature does not verify ({err})", label
    if claims != {"purpose": _PURPOSE, **{k: entry[k] for k in _CLAIMS}}:
        return "edited after signing (its fields differ from the signed claims)", label
    if claims["bundle_sha256"] != bundle.sha256:
        return f"approves other bytes (sha256 {claims['bundle_sha256']})", label
    if (claims["version"], claims["revision"]) != (bundle.version, bundle.revision):
        return f"approves {claims['version']} {claims['revision']}", label
    author = str(bundle.metadata.get("author", "")).strip().casefold()
    if str(claims["reviewer"]).strip().casefold() == author:
        return "the reviewer is the bundle's author (no self-approval)", label
    return None, kid


def valid_approvals(
    bundle: VerifiedBundle, trusted: dict[str, ReviewerKey], minimum: int
) -> list[dict[str, Any]]:
    """The valid approvals of ``bundle`` (one per reviewer key), or ``BundleVerificationError``
    when there are fewer than ``minimum``, naming why each other one was refused."""
    record_path = approval_path(bundle.path)
    entries = _read_record(record_path)
    valid: dict[str, dict[str, Any]] = {}
    refused: list[str] = []
    for entry in entries:
        reason, who = _why_invalid(entry, bundle, trusted)
        if reason is None:
            assert isinstance(entry, dict)
            valid.setdefault(who, entry)
        else:
            refused.append(f"{who}: {reason}")
    if len(valid) < minimum:
        found = "no approval record" if not record_path.exists() else f"{len(entries)} approvals"
        details = "".join(f"\n  - refused {line}" for line in refused)
        raise BundleVerificationError(
            f"{bundle.path}: refused: not approved: {len(valid)} valid approval(s) from trusted "
            f"reviewer keys, {minimum} required ({record_path.name}: {found}); approve with "
            f"`stakegate bundle approve {bundle.path} --reviewer NAME --reviewer-key KEY.pem "
            f"--key PUB.pem`{details}"
        )
    return list(valid.values())

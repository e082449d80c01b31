"""Checks a policy bundle's signature, manifest and approval in Python, before OPA sees it.

OPA verifies bundles too (the engine always starts it with ``--verification-key``), but checking
here first gives one clear ``BundleVerificationError`` (exit 1) instead of an OPA start-up
failure, lets ``stakegate bundle verify`` work without OPA, and pins the exact bytes a reviewer
approved. The signature format is OPA's: ``.signatures.json`` holds one RS256 JWT whose payload
lists every file with its hash. Hashes follow OPA's ``bundle/hash.go``: raw bytes for policy
files; for ``data.json`` and ``.manifest`` a canonical walk of the parsed JSON (keys sorted,
numbers as written), so the check does not depend on whitespace.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from stakegate.errors import BundleVerificationError, InputError

__all__ = [
    "APPROVAL_SUFFIX",
    "VerifiedBundle",
    "approval_path",
    "key_fingerprint",
    "load_public_key",
    "opa_file_hash",
    "read_bundle",
    "require_approval",
    "verify_bundle",
]

SIGNATURES = ".signatures.json"
MANIFEST = ".manifest"
APPROVAL_SUFFIX = ".approval.json"
ALGORITHM = "RS256"
# Files OPA hashes as parsed JSON rather than bytes (bundle.IsStructuredDoc).
_STRUCTURED = frozenset({"data.json", MANIFEST, "patch.json", SIGNATURES})
_HASHES: dict[str, Callable[[], Any]] = {
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}
_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_NAMED = re.compile(r"^stakegate-(.+)\.(tar\.gz|tgz)$")


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    """A bundle whose signature, file hashes and manifest checked out against ``key_id``."""

    path: Path
    sha256: str  # of the bundle file's bytes: what an approval pins
    data: bytes  # the exact bytes that were verified; the engine hands these to OPA
    manifest: dict[str, Any]
    files: dict[str, bytes]
    key_id: str

    @property
    def revision(self) -> str:
        return str(self.manifest["revision"])

    @property
    def version(self) -> str:
        return str(self.manifest["metadata"]["version"])

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.manifest["metadata"])


def key_fingerprint(key: rsa.RSAPublicKey) -> str:
    """``sha256:<hex>`` of the DER public key: names the key that signed a bundle."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"sha256:{hashlib.sha256(der).hexdigest()}"


def load_public_key(path: Path) -> rsa.RSAPublicKey:
    """The RSA public key in a PEM file, or an error that names the setting."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as err:
        raise BundleVerificationError(
            f"bundle public key {path}: {err.strerror or err}; set STAKEGATE_BUNDLE_PUBLIC_KEY "
            "or pass --key"
        ) from None
    except ValueError as err:
        raise BundleVerificationError(
            f"bundle public key {path}: not a PEM public key: {err}"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise BundleVerificationError(f"bundle public key {path}: not an RSA key ({ALGORITHM})")
    return key


def read_bundle(path: Path) -> tuple[bytes, dict[str, bytes]]:
    """The bundle's bytes and its regular files by name (leading ``/`` removed)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: bundle not found") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read bundle ({err.strerror or err})") from None
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                if member.isdir():
                    continue
                name = member.name.lstrip("/")
                if not member.isfile() or ".." in name.split("/") or name in files:
                    raise BundleVerificationError(
                        f"{path}: refused: unexpected tar entry {member.name!r}"
                    )
                handle = tar.extractfile(member)
                assert handle is not None  # a regular file always has content
                files[name] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise BundleVerificationError(f"{path}: refused: not a gzipped tar bundle ({err})") from err
    return data, files


def verify_bundle(path: Path, public_key: Path | rsa.RSAPublicKey) -> VerifiedBundle:
    """Check signature, every file's hash and the manifest; refuse the bundle on any doubt."""
    key = load_public_key(public_key) if isinstance(public_key, Path) else public_key
    data, files = read_bundle(path)
    if SIGNATURES not in files:
        raise BundleVerificationError(
            f"{path}: refused: unsigned bundle (no {SIGNATURES}); build it with "
            "`stakegate bundle build --signing-key ...`"
        )
    signed = _verified_payload(path, files[SIGNATURES], key)
    listed: dict[str, dict[str, Any]] = {}
    for entry in signed.get("files", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BundleVerificationError(f"{path}: refused: malformed signed file entry {entry!r}")
        listed[entry["name"].lstrip("/")] = entry
    present = set(files) - {SIGNATURES}
    if unsigned := sorted(present - set(listed)):
        raise BundleVerificationError(
            f"{path}: refused: file(s) not covered by the signature: {', '.join(unsigned)}"
        )
    if missing := sorted(set(listed) - present):
        raise BundleVerificationError(
            f"{path}: refused: signed file(s) missing from the bundle: {', '.join(missing)}"
        )
    for name in sorted(present):
        entry = listed[name]
        algorithm = entry.get("algorithm")
        if algorithm not in _HASHES:
            raise BundleVerificationError(f"{path}: refused: {name}: hash algorithm {algorithm!r}")
        digest = opa_file_hash(name, files[name], _HASHES[algorithm])
        if digest != entry.get("hash"):
            raise BundleVerificationError(
                f"{path}: refused: {name} was modified after signing (digest mismatch)"
            )
    manifest = _checked_manifest(path, files)
    return VerifiedBundle(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        manifest=manifest,
        files=files,
        key_id=key_fingerprint(key),
    )


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verified_payload(path: Path, raw: bytes, key: rsa.RSAPublicKey) -> dict[str, Any]:
    try:
        tokens = json.loads(raw)["signatures"]
        if not isinstance(tokens, list) or len(tokens) != 1 or not isinstance(tokens[0], str):
            raise ValueError("expected exactly one JWT")
        header_b64, payload_b64, signature_b64 = tokens[0].split(".")
        header = json.loads(_b64url(header_b64))
        payload = json.loads(_b64url(payload_b64))
        signature = _b64url(signature_b64)
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise BundleVerificationError(f"{path}: refused: malformed {SIGNATURES} ({err})") from None
    # The algorithm is fixed by us, never taken from the token (no "none", no HS256 with the
    # public key as secret).
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        alg = header.get("alg") if isinstance(header, dict) else None
        raise BundleVerificationError(f"{path}: refused: signed with {alg!r}, expected RS256")
    try:
        key.verify(
            signature,
            f"{header_b64}.{payload_b64}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, UnicodeEncodeError):
        raise BundleVerificationError(
            f"{path}: refused: bad signature (tampered, or signed with another key than "
            f"{key_fingerprint(key)})"
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("files"), list):
        raise BundleVerificationError(f"{path}: refused: signature payload lists no files")
    if payload.get("scope"):
        raise BundleVerificationError(f"{path}: refused: unexpected signature scope")
    return payload


def _checked_manifest(path: Path, files: dict[str, bytes]) -> dict[str, Any]:
    def refuse(why: str) -> BundleVerificationError:
        return BundleVerificationError(f"{path}: refused: manifest {why}")

    if MANIFEST not in files:
        raise refuse("missing")
    try:
        manifest = json.loads(files[MANIFEST])
    except ValueError as err:
        raise refuse(f"is not JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise refuse("is not an object")
    roots = manifest.get("roots")
    if not isinstance(roots, list) or not roots or not all(isinstance(r, str) for r in roots):
        raise refuse("declares no roots")
    if manifest.get("rego_version") != 1:
        raise refuse(f"rego_version is {manifest.get('rego_version')!r}, expected 1")
    metadata = manifest.get("metadata")
    version = metadata.get("version") if isinstance(metadata, dict) else None
    if not isinstance(version, str) or not _VERSION.match(version):
        raise refuse(f"metadata.version {version!r} is not X.Y.Z")
    revision = manifest.get("revision")
    if not isinstance(revision, str) or not revision.startswith(f"{version}+"):
        raise refuse(f"revision {revision!r} does not start with version {version}+")
    named = _NAMED.match(path.name)
    if named and named.group(1) != version:
        raise refuse(f"says version {version}, but the file is named for {named.group(1)}")
    for name in files:
        if name.endswith(".rego") and not any(name.startswith(f"{r}/") for r in roots):
            raise refuse(f"roots {roots} do not cover {name}")
    if "data.json" in files:
        top = json.loads(files["data.json"])
        outside = sorted(k for k in top if k not in roots) if isinstance(top, dict) else ["?"]
        if outside:
            raise refuse(f"roots {roots} do not cover data {', '.join(outside)}")
    return manifest


class _Number(str):
    """A JSON number kept as written, as Go's json.Number is (so 1e-9 hashes as 1e-9)."""


def opa_file_hash(name: str, content: bytes, new_hash: Callable[[], Any] = hashlib.sha256) -> str:
    """Hex digest of one bundle file, computed exactly as OPA does for signatures."""
    digest = new_hash()
    if name.rsplit("/", 1)[-1] in _STRUCTURED:
        try:
            value = json.loads(content, parse_float=_Number, parse_int=_Number)
        except ValueError as err:
            raise BundleVerificationError(f"{name}: not JSON ({err})") from None
        _walk(value, digest.update)
    else:
        digest.update(content)
    return str(digest.hexdigest())


def _walk(value: object, write: Callable[[bytes], object]) -> None:
    if isinstance(value, dict):
        write(b"{")
        for i, key in enumerate(sorted(value)):
            if i:
                write(b",")
            write(_go_string(key))
            write(b":")
            _walk(value[key], write)
        write(b"}")
    elif isinstance(value, list):
        write(b"[")
        for i, item in enumerate(value):
            if i:
                write(b",")
            _walk(item, write)
        write(b"]")
    elif isinstance(value, _Number):
        write(value.encode())
    elif isinstance(value, str):
        write(_go_string(value))
    else:  # true, false, null: Python's JSON spelling is Go's
        write(json.dumps(value).encode())


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n"}
_SHORT_ESCAPES |= {"\r": "\\r", "\t": "\\t", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_string(text: str) -> bytes:
    """A string as Go's encoding/json writes it with HTML escaping off."""
    out = ['"']
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        elif "\ud800" <= char <= "\udfff":  # a lone surrogate decodes to U+FFFD in Go
            out.append("\ufffd")
        else:
            out.append(char)
    out.append('"')
    return "".join(out).encode("utf-8")


def approval_path(bundle: Path) -> Path:
    """``bundles/stakegate-1.0.0.tar.gz`` → ``bundles/stakegate-1.0.0.approval.json``."""
    stem = bundle.name.removesuffix(".tar.gz").removesuffix(".tgz")
    return bundle.with_name(stem + APPROVAL_SUFFIX)


def require_approval(bundle: VerifiedBundle) -> dict[str, Any]:
    """The approval record for exactly these bytes, or an error saying how to get one."""
    record_path = approval_path(bundle.path)
    hint = f"run `stakegate bundle approve {bundle.path} --reviewer NAME` after review"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleVerificationError(
            f"{bundle.path}: refused: not approved (no {record_path.name}); {hint}"
        ) from None
    except (OSError, ValueError) as err:
        raise BundleVerificationError(f"{record_path}: unreadable approval record ({err})") from err
    if not isinstance(record, dict) or record.get("sha256") != bundle.sha256:
        raise BundleVerificationError(
            f"{bundle.path}: refused: {record_path.name} approves other bytes "
            f"(sha256 {record.get('sha256') if isinstance(record, dict) else None}, "
            f"bundle has {bundle.sha256})"
        )
    if not record.get("approvals"):
        raise BundleVerificationError(f"{bundle.path}: refused: {record_path.name} is empty")
    return record

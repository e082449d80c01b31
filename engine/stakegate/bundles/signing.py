"""Checks a policy bundle's signature, content and manifest in Python, before OPA sees it.

OPA verifies bundles too (the engine always starts it with ``--verification-key``), but checking
here first gives one clear ``BundleVerificationError`` (exit 1) instead of an OPA start-up
failure, lets ``stakegate bundle verify`` work without OPA, and pins the exact bytes a reviewer
approved. The signature format is OPA's: ``.signatures.json`` holds one RS256 JWT whose payload
lists every file with its hash. Hashes follow OPA's ``bundle/hash.go``: raw bytes for policy
files; for ``data.json`` and ``.manifest`` a canonical walk of the parsed JSON (keys sorted,
numbers as written), so the check does not depend on whitespace. The bundle is read through
``archive`` (bounded, two passes): the signature is checked, and every member is known to be
signed, before any policy or data file is read. The revision is checked against the content
(``content_digest``), never taken on the manifest's word. Approvals live in ``approvals``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import UnionType
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from stakegate.bundles.archive import MANIFEST, SIGNATURES, open_archive
from stakegate.errors import BundleVerificationError

__all__ = [
    "MANIFEST",
    "SIGNATURES",
    "VerifiedBundle",
    "content_digest",
    "key_fingerprint",
    "load_public_key",
    "opa_file_hash",
    "pem_key",
    "verify_bundle",
]

ALGORITHM = "RS256"
# Files OPA hashes as parsed JSON rather than bytes (bundle.IsStructuredDoc).
_STRUCTURED = frozenset({"data.json", MANIFEST, "patch.json", SIGNATURES})
_HASHES: dict[str, Callable[[], Any]] = {
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}
_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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

    @property
    def effective_date(self) -> str:
        return str(self.manifest["metadata"]["effective_date"])


def key_fingerprint(key: PublicKeyTypes) -> str:
    """``sha256:<hex>`` of the DER public key: names the key that signed a bundle or approval."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"sha256:{hashlib.sha256(der).hexdigest()}"


def pem_key(
    data: bytes,
    source: str,
    *,
    private: bool,
    accepted: type | UnionType,
    kinds: str,
    refuse: Callable[[str], Exception],
) -> Any:
    """The one reading of a PEM key (bundle signing, approvals, audit checkpoints): ``data`` as
    an unencrypted private key (``private``) or a public key, and one of ``accepted``.

    Anything else raises ``refuse(message)``, the caller's own error, with a message that
    starts with ``source`` and names the accepted ``kinds`` ("an RSA key").
    """
    try:
        if private:
            key: object = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        form = "an unencrypted PEM private key" if private else "a PEM public key"
        raise refuse(f"{source}: not {form} ({kinds}): {err}") from None
    if not isinstance(key, accepted):
        raise refuse(f"{source}: not {kinds}")
    return key


def load_public_key(path: Path) -> rsa.RSAPublicKey:
    """The RSA public key in a PEM file, or an error that names the setting."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise BundleVerificationError(
            f"bundle public key {path}: {err.strerror or err} (setting STAKEGATE_BUNDLE_PUBLIC_KEY)"
        ) from None
    key: rsa.RSAPublicKey = pem_key(
        data,
        f"bundle public key {path}",
        private=False,
        accepted=rsa.RSAPublicKey,
        kinds=f"an RSA key ({ALGORITHM})",
        refuse=BundleVerificationError,
    )
    return key


def content_digest(files: dict[str, bytes]) -> str:
    """SHA-256 over every policy and data file of a bundle (name and OPA file hash), so the
    manifest's ``revision`` and ``content_sha256`` can be checked against what is inside."""
    digest = hashlib.sha256()
    for name in sorted(set(files) - {MANIFEST, SIGNATURES}):
        digest.update(f"{name}\0{opa_file_hash(name, files[name])}\0".encode())
    return digest.hexdigest()


def verify_bundle(path: Path, public_key: Path | rsa.RSAPublicKey) -> VerifiedBundle:
    """Check signature, every file's hash, the manifest and the revision; refuse on any doubt."""
    key = load_public_key(public_key) if isinstance(public_key, Path) else public_key
    archive = open_archive(path)
    if SIGNATURES not in archive.control:
        raise BundleVerificationError(
            f"{path}: refused: unsigned bundle (no {SIGNATURES}); build it with "
            "`stakegate bundle build --signing-key ...`"
        )
    signed = _verified_payload(path, archive.control[SIGNATURES], key)
    listed: dict[str, dict[str, Any]] = {}
    for entry in signed.get("files", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BundleVerificationError(f"{path}: refused: malformed signed file entry {entry!r}")
        listed[entry["name"].lstrip("/")] = entry
    present = set(archive.sizes) - {SIGNATURES}
    # Names are checked against the signature before any policy or data file is read.
    if unsigned := sorted(present - set(listed)):
        raise BundleVerificationError(
            f"{path}: refused: file(s) not covered by the signature: {', '.join(unsigned)}"
        )
    if missing := sorted(set(listed) - present):
        raise BundleVerificationError(
            f"{path}: refused: signed file(s) missing from the bundle: {', '.join(missing)}"
        )
    files = archive.read_members(frozenset(present - set(archive.control)))
    files.update(archive.control)
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
        sha256=hashlib.sha256(archive.data).hexdigest(),
        data=archive.data,
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
    if not isinstance(metadata, dict):
        raise refuse("has no metadata object")
    version = metadata.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise refuse(f"metadata.version {version!r} is not X.Y.Z")
    content = content_digest(files)
    if metadata.get("content_sha256") != content:
        raise refuse(
            f"content_sha256 {metadata.get('content_sha256')!r} is not the content's {content}"
        )
    revision = manifest.get("revision")
    if revision != f"{version}+{content[:12]}":
        raise refuse(f"revision {revision!r} is not {version}+{content[:12]} (version+content)")
    effective = metadata.get("effective_date")
    try:
        date.fromisoformat(
            effective if isinstance(effective, str) and _DATE.match(effective) else ""
        )
    except ValueError:
        raise refuse(f"metadata.effective_date {effective!r} is not a date YYYY-MM-DD") from None
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

"""Keys that sign audit checkpoints (private, the service) and check them (public, anyone).

Ed25519 (``EdDSA``) or RSA (``RS256``: PKCS#1 v1.5 with SHA-256, at least 2048 bits). A key is
named by its ``key_id``, ``sha256:`` and the hex SHA-256 of its public key in DER
(SubjectPublicKeyInfo), so a checkpoint says which key signed it and a verifier can tell a wrong
key from a forged signature. There is no default key: one must be given.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from stakegate.bundles.signing import key_fingerprint, pem_key
from stakegate.errors import InputError

__all__ = ["Signer", "Verifier", "load_signer", "load_verifiers"]

_MIN_RSA_BITS = 2048
PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def _algorithm(key: PublicKey | PrivateKey, source: str) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < _MIN_RSA_BITS:
            raise InputError(f"{source}: RSA key of {key.key_size} bits; at least 2048")
        return "RS256"
    raise InputError(f"{source}: not an Ed25519 or RSA key")


@dataclass(frozen=True)
class Signer:
    """A private key that signs checkpoints."""

    key: PrivateKey
    alg: str
    key_id: str

    def sign(self, message: bytes) -> str:
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            raw = self.key.sign(message)
        else:
            raw = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode()

    def verifier(self) -> Verifier:
        public = self.key.public_key()
        return Verifier(public, self.alg, self.key_id)


@dataclass(frozen=True)
class Verifier:
    """A public key that checks checkpoint signatures."""

    key: PublicKey
    alg: str
    key_id: str

    def verify(self, message: bytes, signature: str) -> bool:
        try:
            raw = base64.b64decode(signature, validate=True)
            if isinstance(self.key, ed25519.Ed25519PublicKey):
                self.key.verify(raw, message)
            else:
                self.key.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def _read(spec: str, what: str) -> tuple[bytes, str]:
    """PEM bytes from a path, or from the PEM text itself (an environment variable)."""
    if spec.lstrip().startswith("-----BEGIN"):
        return spec.encode(), f"{what} (PEM text)"
    try:
        return Path(spec).read_bytes(), spec
    except OSError as err:
        raise InputError(f"{spec}: cannot read the {what}: {err.strerror}") from err


def load_signer(spec: str) -> Signer:
    """The private key in ``spec`` (a PEM file path or PEM text), unencrypted."""
    data, source = _read(spec, "audit signing key")
    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey = pem_key(
        data,
        source,
        private=True,
        accepted=ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey,
        kinds="an Ed25519 or RSA private key",
        refuse=InputError,
    )
    alg = _algorithm(key, source)
    return Signer(key, alg, key_fingerprint(key.public_key()))


def load_verifiers(paths: Iterable[Path]) -> list[Verifier]:
    """Public keys (PEM files) trusted to have signed checkpoints."""
    verifiers = []
    for path in paths:
        data, source = _read(str(path), "audit public key")
        key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey = pem_key(
            data,
            source,
            private=False,
            accepted=ed25519.Ed25519PublicKey | rsa.RSAPublicKey,
            kinds="an Ed25519 or RSA public key",
            refuse=lambda message: InputError(
                f"{message}; verify with the public key, not the private one"
            ),
        )
        verifiers.append(Verifier(key, _algorithm(key, source), key_fingerprint(key)))
    return verifiers

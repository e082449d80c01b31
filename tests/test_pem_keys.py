"""The one PEM key reading (``bundles.signing.pem_key``) behind every place that loads a key.

Bundle signing and its verification take RSA only, approvals and audit checkpoints Ed25519 or
RSA; every place refuses garbage, the wrong kind of key, a public key where a private one is
needed (and the reverse) and an encrypted private key with its own error, naming the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from stakegate.bundles import approvals, build, signing
from stakegate.errors import BundleVerificationError, EngineError, InputError
from stakegate.service.audit import keys

PRIVATE = serialization.PrivateFormat.PKCS8
PUBLIC = serialization.PublicFormat.SubjectPublicKeyInfo
PEM = serialization.Encoding.PEM


def _pems() -> dict[str, bytes]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    plain = serialization.NoEncryption()
    return {
        "rsa-private": rsa_key.private_bytes(PEM, PRIVATE, plain),
        "rsa-public": rsa_key.public_key().public_bytes(PEM, PUBLIC),
        "ed25519-private": ed_key.private_bytes(PEM, PRIVATE, plain),
        "ed25519-public": ed_key.public_key().public_bytes(PEM, PUBLIC),
        "ec-private": ec_key.private_bytes(PEM, PRIVATE, plain),
        "ec-public": ec_key.public_key().public_bytes(PEM, PUBLIC),
        "encrypted": rsa_key.private_bytes(
            PEM, PRIVATE, serialization.BestAvailableEncryption(b"secret")
        ),
        "garbage": b"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
    }


PEMS = _pems()

# Each place that reads a key: how to call it on a file, its error, what it accepts.
SITES: dict[str, tuple[Callable[[Path], object], type[EngineError], set[str]]] = {
    "bundle public key": (signing.load_public_key, BundleVerificationError, {"rsa-public"}),
    "bundle signing key": (
        lambda p: build._private_key(p.read_bytes()),
        InputError,
        {"rsa-private"},
    ),
    "reviewer keys": (
        approvals.load_reviewer_keys,
        InputError,
        {"rsa-public", "ed25519-public"},
    ),
    "reviewer key": (
        approvals._load_private_key,
        InputError,
        {"rsa-private", "ed25519-private"},
    ),
    "audit key": (
        lambda p: keys.load_signer(str(p)),
        InputError,
        {"rsa-private", "ed25519-private"},
    ),
    "audit public key": (
        lambda p: keys.load_verifiers([p]),
        InputError,
        {"rsa-public", "ed25519-public"},
    ),
}


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("pem", PEMS)
def test_every_place_reads_keys_one_way(site: str, pem: str, tmp_path: Path) -> None:
    load, error, accepted = SITES[site]
    path = tmp_path / f"{pem}.pem"
    path.write_bytes(PEMS[pem])
    if pem in accepted:
        assert load(path)
        return
    with pytest.raises(error) as caught:
        load(path)
    message = str(caught.value)
    assert (str(path) in message) or ("signing key:" in message), message
    assert "not " in message and "key" in message, message

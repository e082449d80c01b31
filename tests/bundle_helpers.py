"""Keys and bundle makers shared by the bundle, trust and approval tests.

The keys under ``tests/keys/`` are published test keys (see its README): the bundle signing
pair, and two reviewer pairs (Ed25519 and RSA) whose public halves are in ``reviewers/``.
Nothing in the engine defaults to any of them; every test passes them explicitly.

``sign_policy`` signs a policy with ``pack_bundle`` and no gate, as anyone holding a signing key
can (``opa build --signing-key`` does the same): tests of trust and review need bundles of
parameter variants, and the gate is tested on its own. ``opa_sign`` goes further and signs a
hand-made manifest with OPA itself, the way a tamperer with the key would.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from stakegate.bundles.build import bundle_sources, pack_bundle
from stakegate.bundles.gate import GateReport
from stakegate.cli.main import cli
from stakegate.opa_binary import find_opa_binary

KEYS = Path(__file__).resolve().parent / "keys"
PRIVATE = KEYS / "stakegate-test-only.key.pem"
PUBLIC = KEYS / "stakegate-test-only.pub.pem"
REVIEWER_ED25519 = KEYS / "reviewer-ed25519.key.pem"
REVIEWER_RSA = KEYS / "reviewer-rsa.key.pem"
REVIEWERS = KEYS / "reviewers"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)


def sign_policy(
    policy: Path,
    out: Path,
    version: str = "1.0.0",
    *,
    key: Path = PRIVATE,
    effective_date: str = "2026-01-01",
    author: str = "tests",
    changelog: str = "test bundle",
) -> Path:
    """``policy`` as a signed bundle at ``out``, without the gate (see the module docstring)."""
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    metadata = {
        "version": version,
        "effective_date": effective_date,
        "author": author,
        "changelog": changelog,
        "source_commit": "uncommitted",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(
        pack_bundle(bundle_sources(policy), private, metadata, GateReport(tests=0, coverage=0.0))
    )
    return out


def opa_sign(files: dict[str, bytes], manifest: dict[str, Any], out: Path, key: Path) -> Path:
    """Sign ``files`` and ``manifest`` exactly as given with ``opa build`` (a tamperer's tool)."""
    staging = out.parent / f"{out.name}.src"
    for name, data in files.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    (staging / ".manifest").write_text(json.dumps(manifest))
    cmd = [find_opa_binary(), "build", "--bundle", ".", "--signing-key", str(key.resolve())]
    cmd += ["--signing-alg", "RS256", "--output", str(out.resolve())]
    subprocess.run(cmd, cwd=staging, check=True, capture_output=True, timeout=120)
    return out


def rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """Repack ``src`` with ``change`` applied to its files: what a tamperer would do."""
    with tarfile.open(src, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    change(files)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    dst.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return dst


def write_keypair(directory: Path, name: str, kind: str = "rsa") -> tuple[Path, Path]:
    """A fresh (private, public) PEM pair: ``rsa`` or ``ed25519``."""
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ed25519.Ed25519PrivateKey.generate()
    )
    private, public = directory / f"{name}.key.pem", directory / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public

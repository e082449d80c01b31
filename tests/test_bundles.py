"""Signed bundles: build (reproducible), verify (four ways to fail), approve, and load in OPA.

Every bundle here is built by the real ``opa build`` and loaded by a real ``opa run``; tampered
bundles are made by rewriting the tar the way an attacker would, never by mocking a check.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stakegate import settings
from stakegate.bundles.build import approve_bundle, build_bundle, bundle_sources, source_commit
from stakegate.bundles.signing import approval_path, key_fingerprint, load_public_key, verify_bundle
from stakegate.cli.main import cli
from stakegate.errors import BundleVerificationError, InputError
from stakegate.opa_binary import find_opa_binary
from stakegate.policy.client import PolicyClient
from stakegate.policy.pipeline import Connection
from stakegate.policy.runtime import LocalOpa

from .conftest import FIXTURES, POLICIES, REPO, policy_with_config

pytestmark = pytest.mark.integration

KEYS = REPO / "keys" / "test-only"
PRIVATE = KEYS / "stakegate-test-only.key.pem"
PUBLIC = KEYS / "stakegate-test-only.pub.pem"
SHIPPED = REPO / "bundles" / "stakegate-1.0.0.tar.gz"
SMALL = FIXTURES / "cli" / "small.yaml"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def build(policy: Path, out: Path, version: str = "1.0.0", **kwargs) -> Path:
    kwargs.setdefault("changelog", "test build")
    kwargs.setdefault("author", "tests")
    kwargs.setdefault("effective_date", None)
    build_bundle(version, policy=policy, signing_key=PRIVATE, out=out, **kwargs)
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


def other_key(tmp_path: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = tmp_path / "other.key.pem", tmp_path / "other.pub.pem"
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


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policy as a signed 1.0.0 bundle."""
    return build(POLICIES, tmp_path_factory.mktemp("signed") / "stakegate-1.0.0.tar.gz")


def test_build_manifest_and_contents(signed: Path):
    verified = verify_bundle(signed, PUBLIC)
    sources = bundle_sources(POLICIES)
    content = hashlib.sha256(
        b"".join(name.encode() + b"\0" + sources[name] + b"\0" for name in sorted(sources))
    ).hexdigest()
    assert verified.manifest == {
        "revision": f"1.0.0+{content[:12]}",
        "roots": ["stakegate"],
        "rego_version": 1,
        "metadata": {
            "version": "1.0.0",
            "effective_date": verified.manifest["metadata"]["effective_date"],
            "author": "tests",
            "changelog": "test build",
            "source_commit": source_commit(POLICIES),
            "content_sha256": content,
            "signing_key": key_fingerprint(load_public_key(PUBLIC)),
        },
    }
    rego = sorted(
        p.relative_to(POLICIES).as_posix()
        for p in POLICIES.rglob("*.rego")
        if not p.name.endswith("_test.rego")
    )
    assert sorted(verified.files) == sorted([".manifest", ".signatures.json", "data.json", *rego])
    assert json.loads(verified.files["data.json"]) == {
        "stakegate": {
            name: json.loads((POLICIES / f"stakegate/{name}/data.json").read_text())
            for name in ("config", "iso3166")
        }
    }


def test_build_is_reproducible(tmp_path: Path):
    outputs = []
    for name, mtime in (("a", 1_000_000_000), ("b", 1_700_000_000)):
        copy = policy_with_config(tmp_path / name, {})
        for path in copy.rglob("*"):
            os.utime(path, (mtime, mtime))
        out = build(copy, tmp_path / name / "out.tar.gz", effective_date=None)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_effective_date_from_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    out = build(POLICIES, tmp_path / "b.tar.gz")
    assert verify_bundle(out, PUBLIC).metadata["effective_date"] == "2026-01-01"


def test_versions_are_immutable(tmp_path: Path, signed: Path):
    target = tmp_path / "stakegate-1.0.0.tar.gz"
    target.write_bytes(signed.read_bytes())
    build(POLICIES, target)  # the same source again: accepted, and nothing changes
    assert target.read_bytes() == signed.read_bytes()


def test_rebuild_with_other_content_is_refused(tmp_path: Path):
    target = tmp_path / "stakegate-1.0.0.tar.gz"
    build(POLICIES, target)
    before = target.read_bytes()
    changed = policy_with_config(tmp_path / "changed", {"ownership_threshold": 60})
    with pytest.raises(InputError, match="never changes: build a new version"):
        build(changed, target)
    assert target.read_bytes() == before


def test_signing_key_from_environment_pem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "BUNDLE_SIGNING_KEY", PRIVATE.read_text())
    build_bundle("2.0.0", changelog="env key", out=tmp_path / "b.tar.gz")
    assert verify_bundle(tmp_path / "b.tar.gz", PUBLIC).version == "2.0.0"


def test_build_without_key_is_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "BUNDLE_SIGNING_KEY", "")
    out = tmp_path / "b.tar.gz"
    result = run("bundle", "build", "--version", "1.0.0", "--changelog", "x", "--out", str(out))
    assert result.exit_code == 2
    assert "no signing key" in result.stderr
    assert not out.exists()


def test_build_cli_and_bad_version(tmp_path: Path):
    out = tmp_path / "stakegate-1.2.3.tar.gz"
    args = ["bundle", "build", "--signing-key", str(PRIVATE), "--changelog", "c", "--out", str(out)]
    assert run(*args, "--version", "1.2").exit_code == 2
    result = run(*args, "--version", "1.2.3")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"built {out} revision 1.2.3+")


def test_go_json_escapes_hash_like_opa(tmp_path: Path):
    """Strings with HTML characters, control characters and U+2028 hash as OPA hashes them."""
    reason = 'licence <GL-25> & "quotes"\u2028line\ttab é \x01'
    entry = {"entity": "x", "reason": reason, "approver": "a", "expires": "2099-01-01"}
    policy = policy_with_config(tmp_path, {"exceptions": [entry], "percent_tolerance": 1e-9})
    out = build(policy, tmp_path / "b.tar.gz")
    assert verify_bundle(out, PUBLIC).version == "1.0.0"
    with LocalOpa(out) as opa:  # and OPA agrees
        client = PolicyClient(opa.url)
        assert Connection(client, opa.revision).view.params.threshold == 50
        client.close()


def _bad_signature(files: dict[str, bytes]) -> None:
    token = json.loads(files["/.signatures.json"])["signatures"][0]
    head, payload, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[10] ^= 0xFF
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    files["/.signatures.json"] = json.dumps({"signatures": [f"{head}.{payload}.{forged}"]}).encode()


def _modified_rule(files: dict[str, bytes]) -> None:
    name = "/stakegate/params/params.rego"
    files[name] = files[name].replace(b'"either": reported_methods', b'"either": ["control"]')


def _modified_data(files: dict[str, bytes]) -> None:
    data = json.loads(files["/data.json"])
    data["stakegate"]["config"]["ownership_threshold"] = 99
    files["/data.json"] = json.dumps(data).encode()


def _unsigned(files: dict[str, bytes]) -> None:
    del files["/.signatures.json"]


def _extra_file(files: dict[str, bytes]) -> None:
    files["/stakegate/backdoor/backdoor.rego"] = b"package stakegate.backdoor\n\nallow := true\n"


TAMPERING = {
    "bad_signature": (_bad_signature, "bad signature"),
    "modified_rule": (_modified_rule, "params/params.rego was modified after signing"),
    "modified_data": (_modified_data, "data.json was modified after signing"),
    "missing_signature": (_unsigned, "unsigned bundle (no .signatures.json)"),
    "unsigned_extra_file": (_extra_file, "not covered by the signature: stakegate/backdoor"),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampered_bundle_is_refused_everywhere(case: str, signed: Path, tmp_path: Path):
    change, message = TAMPERING[case]
    bad = rewrite(signed, tmp_path / "stakegate-1.0.0.tar.gz", change)
    with pytest.raises(BundleVerificationError, match=re.escape(message)):
        verify_bundle(bad, PUBLIC)
    result = run("bundle", "verify", str(bad), "--key", str(PUBLIC))
    assert result.exit_code == 1
    assert message in result.stderr
    # The engine refuses it before any OPA process starts: never evaluated.
    result = run("check", "sg-sub", "--registry", str(SMALL), "--policy", str(bad))
    assert (result.exit_code, result.stdout) == (1, "")
    assert "refused" in result.stderr
    # And OPA itself, started as the engine starts it, refuses it too.
    done = subprocess.run(
        [find_opa_binary(), "eval", "--bundle", str(bad), "--verification-key", str(PUBLIC)]
        + ["--signing-alg", "RS256", "data.stakegate.params.effective"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0


def test_wrong_key_is_refused(signed: Path, tmp_path: Path):
    _, wrong_public = other_key(tmp_path)
    with pytest.raises(BundleVerificationError, match="bad signature"):
        verify_bundle(signed, wrong_public)
    result = run("bundle", "verify", str(signed), "--key", str(wrong_public))
    assert result.exit_code == 1
    assert "signed with another key" in result.stderr


def test_bundle_signed_by_other_key_is_refused_by_engine(tmp_path: Path):
    wrong_private, _ = other_key(tmp_path)
    out = tmp_path / "stakegate-1.0.0.tar.gz"
    build_bundle("1.0.0", changelog="x", signing_key=wrong_private, out=out)
    with pytest.raises(BundleVerificationError, match="bad signature"):
        LocalOpa(out)


def test_renamed_bundle_is_refused(signed: Path, tmp_path: Path):
    renamed = tmp_path / "stakegate-2.0.0.tar.gz"
    renamed.write_bytes(signed.read_bytes())
    with pytest.raises(BundleVerificationError, match="named for 2.0.0"):
        verify_bundle(renamed, PUBLIC)


def test_verify_cli_prints_manifest(signed: Path):
    result = run("bundle", "verify", str(signed), "--key", str(PUBLIC))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verified"] is True
    assert report["manifest"] == verify_bundle(signed, PUBLIC).manifest


def test_engine_starts_opa_with_verification_and_reports_revision(signed: Path):
    with LocalOpa(signed) as opa:
        assert opa.proc is not None
        args = list(opa.proc.args)  # type: ignore[arg-type]
        assert args[args.index("--verification-key") + 1] == str(settings.BUNDLE_PUBLIC_KEY)
        assert args[args.index("--signing-alg") + 1] == "RS256"
        client = PolicyClient(opa.url)
        view = Connection(client, opa.revision).view
        assert view.revision == verify_bundle(signed, PUBLIC).revision
        client.close()
    result = run("check", "sg-sub", "--registry", str(SMALL), "--policy", str(signed))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["policy"]["revision"].startswith("1.0.0+")


def test_approve_records_reviewer_date_and_digest(signed: Path, tmp_path: Path):
    bundle = tmp_path / signed.name
    bundle.write_bytes(signed.read_bytes())
    verified = verify_bundle(bundle, PUBLIC)
    result = run(
        "bundle", "approve", str(bundle), "--reviewer", "legal@example.com", "--date", "2026-11-27"
    )
    assert result.exit_code == 0, result.output
    expected = {
        "bundle": "stakegate-1.0.0.tar.gz",
        "version": "1.0.0",
        "revision": verified.revision,
        "sha256": verified.sha256,
        "signing_key": verified.key_id,
        "approvals": [{"reviewer": "legal@example.com", "date": "2026-11-27"}],
    }
    assert json.loads(approval_path(bundle).read_text()) == expected
    assert approval_path(bundle).name == "stakegate-1.0.0.approval.json"
    approve_bundle(bundle, "cfo@example.com", note="ticket LEG-1")
    record = json.loads(approval_path(bundle).read_text())
    assert [a["reviewer"] for a in record["approvals"]] == ["legal@example.com", "cfo@example.com"]
    with pytest.raises(InputError, match="already approved"):
        approve_bundle(bundle, "cfo@example.com")


def test_approving_a_tampered_bundle_is_refused(signed: Path, tmp_path: Path):
    bad = rewrite(signed, tmp_path / signed.name, _modified_data)
    result = run("bundle", "approve", str(bad), "--reviewer", "r")
    assert result.exit_code == 1
    assert not approval_path(bad).exists()


def test_approved_only(signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "REQUIRE_APPROVAL", True)
    bundle = tmp_path / signed.name
    bundle.write_bytes(signed.read_bytes())
    args = ["check", "sg-sub", "--registry", str(SMALL), "--policy"]
    result = run(*args, str(bundle))
    assert result.exit_code == 1
    assert "not approved (no stakegate-1.0.0.approval.json)" in result.stderr
    result = run(*args, str(POLICIES))
    assert result.exit_code == 1
    assert "only approved bundles" in result.stderr
    approve_bundle(bundle, "legal@example.com")
    result = run(*args, str(bundle))
    assert result.exit_code == 0, result.output
    # An approval pins bytes: a different, validly signed build of the same name is refused.
    other = policy_with_config(tmp_path / "other", {"ownership_threshold": 60})
    bundle.unlink()
    build(other, bundle)
    result = run(*args, str(bundle))
    assert result.exit_code == 1
    assert "approves other bytes" in result.stderr


def test_shipped_bundle_is_signed_approved_and_loads(monkeypatch: pytest.MonkeyPatch):
    verified = verify_bundle(SHIPPED, PUBLIC)
    assert verified.version == "1.0.0"
    assert verified.manifest["roots"] == ["stakegate"]
    assert verified.manifest["rego_version"] == 1
    record = json.loads(approval_path(SHIPPED).read_text())
    assert record["sha256"] == verified.sha256
    assert record["approvals"]
    monkeypatch.setattr(settings, "REQUIRE_APPROVAL", True)
    result = run("check", "sg-sub", "--registry", str(SMALL), "--policy", str(SHIPPED))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["policy"]["revision"] == verified.revision

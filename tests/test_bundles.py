"""Signed bundles: build (gated, reproducible), verify (every way to fail), and load in OPA.

Every bundle here is built by the real ``opa build`` and loaded by a real ``opa run``; tampered
bundles are made by rewriting the tar the way an attacker would, never by mocking a check.
Approvals are in test_approvals.py, the gate in test_bundle_gate.py, trust in test_trust.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from stakegate import settings
from stakegate.bundles.build import build_bundle, source_commit
from stakegate.bundles.signing import (
    content_digest,
    key_fingerprint,
    load_public_key,
    verify_bundle,
)
from stakegate.bundles.trust import Trust
from stakegate.errors import BundleVerificationError, InputError
from stakegate.opa_binary import find_opa_binary
from stakegate.policy.client import PolicyClient
from stakegate.policy.pipeline import Connection
from stakegate.policy.runtime import LocalOpa

from .bundle_helpers import PRIVATE, PUBLIC, rewrite, run, sign_policy, write_keypair
from .conftest import FIXTURES, POLICIES, policy_with_config

pytestmark = pytest.mark.integration

SMALL = FIXTURES / "cli" / "small.yaml"
TRUST = Trust(public_key=PUBLIC)


def build(policy: Path, out: Path, version: str = "1.0.0", **kwargs) -> Path:
    kwargs.setdefault("changelog", "test build")
    kwargs.setdefault("author", "tests")
    kwargs.setdefault("effective_date", None)
    build_bundle(version, policy=policy, signing_key=PRIVATE, out=out, **kwargs)
    return out


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped policy as a signed 1.0.0 bundle."""
    return build(POLICIES, tmp_path_factory.mktemp("signed") / "stakegate-1.0.0.tar.gz")


def test_build_manifest_and_contents(signed: Path):
    verified = verify_bundle(signed, PUBLIC)
    content = content_digest(verified.files)
    # The gate's per-test timeout (bundles/gate.py): under OPA's default 5 s, a slow test under
    # coverage errored on a loaded CI machine, and this read an empty report.
    tests = subprocess.run(
        [find_opa_binary(), "test", str(POLICIES), "--format", "json", "--timeout", "60s"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    coverage = subprocess.run(
        [find_opa_binary(), "test", str(POLICIES), "--coverage", "--timeout", "60s"],
        capture_output=True,
        text=True,
        timeout=300,
    )
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
            "tests": len(json.loads(tests.stdout)),
            "coverage": round(json.loads(coverage.stdout)["coverage"], 2),
            "content_sha256": content,
            "signing_key": key_fingerprint(load_public_key(PUBLIC)),
        },
    }
    assert verified.manifest["metadata"]["tests"] > 0
    assert verified.revision == f"1.0.0+{content[:12]}"
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
    changed = policy_with_config(tmp_path / "changed", {"ownership_threshold": 60})
    before = sign_policy(changed, target).read_bytes()
    with pytest.raises(InputError, match="never changes: build a new version"):
        build(POLICIES, target)
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
    out = sign_policy(policy, tmp_path / "b.tar.gz")
    assert verify_bundle(out, PUBLIC).version == "1.0.0"
    with LocalOpa(out, trust=TRUST) as opa:  # and OPA agrees
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
    result = run(
        "check", "sg-sub", "--registry", str(SMALL), "--policy", str(bad), "--key", str(PUBLIC)
    )
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
    _, wrong_public = write_keypair(tmp_path, "other")
    with pytest.raises(BundleVerificationError, match="bad signature"):
        verify_bundle(signed, wrong_public)
    result = run("bundle", "verify", str(signed), "--key", str(wrong_public))
    assert result.exit_code == 1
    assert "signed with another key" in result.stderr


def test_bundle_signed_by_other_key_is_refused_by_engine(tmp_path: Path):
    wrong_private, _ = write_keypair(tmp_path, "other")
    out = tmp_path / "stakegate-1.0.0.tar.gz"
    build_bundle("1.0.0", changelog="x", signing_key=wrong_private, out=out)
    with pytest.raises(BundleVerificationError, match="bad signature"):
        LocalOpa(out, trust=TRUST)


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


def test_engine_starts_opa_with_verification_and_reports_revision(
    signed: Path, monkeypatch: pytest.MonkeyPatch
):
    with LocalOpa(signed, trust=TRUST) as opa:
        assert opa.proc is not None
        args = list(opa.proc.args)  # type: ignore[arg-type]
        assert args[args.index("--verification-key") + 1] == str(PUBLIC)
        assert args[args.index("--signing-alg") + 1] == "RS256"
        client = PolicyClient(opa.url)
        view = Connection(client, opa.revision).view
        assert view.revision == verify_bundle(signed, PUBLIC).revision
        client.close()
    args = ["check", "sg-sub", "--registry", str(SMALL), "--policy", str(signed)]
    monkeypatch.setattr(settings, "BUNDLE_PUBLIC_KEY", PUBLIC)  # the setting stands for --key
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["policy"]["revision"].startswith("1.0.0+")

"""Each trust failure found from outside (issue 13 "What was found", and issue 11's bundle bomb
and ``-o dir/``), replayed through the command line exactly as it was found.

Self-contained on purpose: it uses only the CLI, the settings and OPA, so it also runs against
the code from before the fix, where every test here fails (the other bundle tests use newer
APIs and say more about each case).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from stakegate import settings
from stakegate.cli.main import cli
from stakegate.opa_binary import find_opa_binary

from .conftest import FIXTURES, POLICIES, policy_with_config

pytestmark = pytest.mark.integration

KEYS = Path(__file__).resolve().parent / "keys"
PRIVATE = KEYS / "stakegate-test-only.key.pem"
PUBLIC = KEYS / "stakegate-test-only.pub.pem"
SMALL = FIXTURES / "cli" / "small.yaml"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def nothing_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "REQUIRE_APPROVAL", False)


def trust_test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator who configured the test key (STAKEGATE_BUNDLE_PUBLIC_KEY)."""
    monkeypatch.setattr(settings, "BUNDLE_PUBLIC_KEY", PUBLIC)


def build(policy: Path, out: Path | str, *extra: str) -> Result:
    args = ["bundle", "build", "--version", "1.0.0", "--policy", str(policy)]
    args += ["--signing-key", str(PRIVATE), "--changelog", "c", "--author", "Pat Author"]
    return run(*args, "--out", str(out), *extra)


def decide(entity: str, *extra: str) -> Result:
    return run("check", entity, "--registry", str(SMALL), *extra)


def opa_signed(tmp_path: Path, overrides: dict, revision: str) -> Path:
    """A policy variant signed with the published test key, manifest written by hand."""
    policy = policy_with_config(tmp_path / "src", overrides)
    for test in policy.rglob("*_test.rego"):
        test.unlink()
    (policy / ".manifest").write_text(
        json.dumps(
            {
                "revision": revision,
                "roots": ["stakegate"],
                "rego_version": 1,
                "metadata": {"version": "1.0.0", "effective_date": "2026-01-01"},
            }
        )
    )
    for extra in policy.rglob("README.md"):
        extra.unlink()
    out = tmp_path / "stakegate-1.0.0.tar.gz"
    cmd = [find_opa_binary(), "build", "--bundle", ".", "--signing-key", str(PRIVATE)]
    subprocess.run([*cmd, "--output", str(out)], cwd=policy, check=True, capture_output=True)
    return out


def test_build_refuses_a_policy_whose_tests_fail(tmp_path: Path):
    policy = policy_with_config(tmp_path, {})
    (policy / "stakegate" / "params" / "zz_test.rego").write_text(
        "package stakegate.params_test\n\ntest_fails if {\n\tfalse\n}\n"
    )
    result = build(policy, tmp_path / "b.tar.gz")
    assert result.exit_code != 0
    assert not (tmp_path / "b.tar.gz").exists()


def test_build_refuses_a_config_that_cannot_decide(tmp_path: Path):
    regions = ["CN", "RU", "KP", "IR", "Belarus"]
    policy = policy_with_config(tmp_path, {"restricted_regions": regions})
    result = build(policy, tmp_path / "b.tar.gz")
    assert result.exit_code != 0
    assert not (tmp_path / "b.tar.gz").exists()


def test_a_bundle_signed_with_the_test_key_is_not_trusted_by_default(tmp_path: Path):
    evil = opa_signed(tmp_path, {"restricted_regions": []}, "1.0.0+000000000000")
    result = decide("cn-parent", "--policy", str(evil))
    assert result.exit_code != 0
    assert '"allow"' not in result.stdout


def test_the_revision_is_checked_against_the_content(tmp_path: Path, monkeypatch):
    trust_test_key(monkeypatch)
    evil = opa_signed(tmp_path, {"restricted_regions": []}, "1.0.0+0123456789ab")
    result = decide("cn-parent", "--policy", str(evil))
    assert result.exit_code == 1
    assert '"allow"' not in result.stdout


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    trust_test_key(monkeypatch)
    out = tmp_path / "stakegate-1.0.0.tar.gz"
    assert build(POLICIES, out, "--effective-date", "2026-01-01").exit_code == 0
    return out


def test_a_hand_made_approval_does_not_pass(bundle: Path, monkeypatch):
    sha = hashlib.sha256(bundle.read_bytes()).hexdigest()
    bundle.with_name("stakegate-1.0.0.approval.json").write_text(
        json.dumps({"sha256": sha, "approvals": "yes"})
    )
    monkeypatch.setattr(settings, "REQUIRE_APPROVAL", True)
    monkeypatch.setattr(settings, "REVIEWER_KEYS", KEYS / "reviewers", raising=False)
    result = decide("sg-sub", "--policy", str(bundle))
    assert (result.exit_code, result.stdout) == (1, "")


def test_the_author_cannot_approve_their_own_bundle(bundle: Path, monkeypatch):
    run("bundle", "approve", str(bundle), "--reviewer", "Pat Author")
    monkeypatch.setattr(settings, "REQUIRE_APPROVAL", True)
    monkeypatch.setattr(settings, "REVIEWER_KEYS", KEYS / "reviewers", raising=False)
    result = decide("sg-sub", "--policy", str(bundle))
    assert (result.exit_code, result.stdout) == (1, "")


def test_opa_url_does_not_skip_approval(opa_server, monkeypatch):
    trust_test_key(monkeypatch)
    monkeypatch.setattr(settings, "REQUIRE_APPROVAL", True)
    monkeypatch.setattr(settings, "REVIEWER_KEYS", KEYS / "reviewers", raising=False)
    result = decide("sg-sub", "--opa-url", opa_server.url)  # an OPA running anything
    assert result.exit_code != 0
    assert result.stdout == ""


def test_a_bundle_effective_in_2099_does_not_decide_today(tmp_path: Path, monkeypatch):
    trust_test_key(monkeypatch)
    out = tmp_path / "stakegate-1.0.0.tar.gz"
    assert build(POLICIES, out, "--effective-date", "2099-01-01").exit_code == 0
    result = decide("sg-sub", "--policy", str(out))
    assert (result.exit_code, result.stdout) == (1, "")
    assert "2099-01-01" in result.stderr


def test_a_gzip_bomb_is_refused_before_it_is_inflated(tmp_path: Path, monkeypatch):
    trust_test_key(monkeypatch)
    path = tmp_path / "stakegate-1.0.0.tar.gz"
    size, chunk = 256 << 20, bytes(1 << 20)  # 256 MiB of zeros compress to ~250 KB
    with gzip.open(path, "wb", compresslevel=9) as raw:
        info = tarfile.TarInfo("/data.json")
        info.size = size
        raw.write(info.tobuf())
        for _ in range(size // len(chunk)):
            raw.write(chunk)
        raw.write(bytes(1024))  # end of archive
    tracemalloc.start()
    try:
        result = run("bundle", "verify", str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1
    assert "more than" in result.stderr
    assert peak < 32 << 20


def test_build_out_to_a_missing_directory(tmp_path: Path):
    result = build(POLICIES, f"{tmp_path}/releases/")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "releases" / "stakegate-1.0.0.tar.gz").is_file()

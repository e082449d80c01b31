"""No default trust: keys, revisions, effective dates and remote OPAs only as configured.

Issue 13 found: the default public key was the test key whose private half is in the repo (a
bundle re-signed with it that empties ``restricted_regions`` verified, and CN entities got
allow); the revision came from the manifest unchecked; a bundle effective 2099-01-01 decided
today; and ``--opa-url`` skipped verification and approval, so any OPA gave rc 0. Remote OPAs
here are real: a private OPA on a signed bundle (as ``LocalOpa`` starts it, with
``--verification-key``), or on the unsigned policy directory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stakegate import settings
from stakegate.bundles.approvals import approve_bundle
from stakegate.bundles.archive import open_archive
from stakegate.bundles.build import bundle_sources
from stakegate.bundles.signing import content_digest, verify_bundle
from stakegate.bundles.trust import Trust
from stakegate.errors import BundleVerificationError, InputError
from stakegate.policy.runtime import LocalOpa
from stakegate.service import ServiceConfig, create_app

from .bundle_helpers import (
    PRIVATE,
    PUBLIC,
    REVIEWER_ED25519,
    REVIEWERS,
    opa_sign,
    run,
    sign_policy,
)
from .conftest import FIXTURES, POLICIES, REPO, policy_with_config

pytestmark = pytest.mark.integration

SMALL = FIXTURES / "cli" / "small.yaml"
REQUIRE = ["--key", str(PUBLIC), "--require-approval", "--reviewer-keys", str(REVIEWERS)]
APPROVED = Trust(public_key=PUBLIC, require_approval=True, reviewer_keys=REVIEWERS)


def check(*args: str):
    return run("check", "cn-parent", "--registry", str(SMALL), *args)


def evil_bundle(tmp_path: Path, manifest_revision: str | None = None) -> Path:
    """The shipped rules with ``restricted_regions: []``, signed with the published test key
    and a hand-written manifest: what anyone who read the repository could make."""
    policy = policy_with_config(tmp_path / "evil", {"restricted_regions": []})
    manifest = {
        "revision": manifest_revision or "1.0.0+000000000000",
        "roots": ["stakegate"],
        "rego_version": 1,
        "metadata": {"version": "1.0.0", "effective_date": "2026-01-01"},
    }
    return opa_sign(bundle_sources(policy), manifest, tmp_path / "stakegate-1.0.0.tar.gz", PRIVATE)


@pytest.fixture(autouse=True)
def no_configured_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine where nothing is configured (no STAKEGATE_BUNDLE_PUBLIC_KEY, ...)."""
    monkeypatch.setattr(settings, "BUNDLE_PUBLIC_KEY", None)
    monkeypatch.setattr(settings, "REQUIRE_APPROVAL", False)
    monkeypatch.setattr(settings, "REVIEWER_KEYS", None, raising=False)


def test_no_key_is_trusted_by_default(tmp_path: Path):
    evil = evil_bundle(tmp_path)
    result = check("--policy", str(evil))
    assert (result.exit_code, result.stdout) == (2, "")
    assert "no key is trusted by default" in result.stderr
    for command in (["bundle", "verify", str(evil)], ["bundle", "approve", str(evil)]):
        extra = ["--reviewer", "J", "--reviewer-key", str(REVIEWER_ED25519)]
        result = run(*command, *(extra if "approve" in command else []))
        assert result.exit_code == 2
        assert "no key is trusted by default" in result.stderr
    assert settings.BUNDLE_PUBLIC_KEY is None
    assert Trust.from_settings() == Trust()


def test_settings_name_no_key_and_no_test_key_is_left_outside_tests():
    source = (REPO / "engine" / "stakegate" / "settings.py").read_text()
    assert "test-only" not in source
    assert not (REPO / "keys").exists()
    assert (REPO / "tests" / "keys" / "stakegate-test-only.pub.pem").is_file()


def test_revision_is_checked_against_the_content(tmp_path: Path):
    real = verify_bundle(sign_policy(POLICIES, tmp_path / "ok" / "stakegate-1.0.0.tar.gz"), PUBLIC)
    # The evil content under the real bundle's revision: signed, but the revision lies.
    evil = evil_bundle(tmp_path, manifest_revision=real.revision)
    result = check("--policy", str(evil), "--key", str(PUBLIC))
    assert (result.exit_code, result.stdout) == (1, "")
    assert "content_sha256 None is not the content's" in result.stderr
    manifest = json.loads(real.files[".manifest"])
    manifest["revision"] = "1.0.0+aaaaaaaaaaaa"  # right content digest, wrong revision
    lying = opa_sign(
        bundle_sources(POLICIES), manifest, tmp_path / "lie" / "stakegate-1.0.0.tar.gz", PRIVATE
    )
    assert content_digest(verify_files(lying)) == real.metadata["content_sha256"]
    with pytest.raises(BundleVerificationError, match="revision '1.0.0\\+aaaaaaaaaaaa' is not"):
        verify_bundle(lying, PUBLIC)


def verify_files(bundle: Path) -> dict[str, bytes]:
    archive = open_archive(bundle)
    return archive.read_members(frozenset(archive.sizes))


@pytest.fixture(scope="module")
def future(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("future") / "stakegate-2.0.0.tar.gz"
    return sign_policy(POLICIES, out, "2.0.0", effective_date="2099-01-01")


def test_bundle_not_yet_in_effect_is_refused(future: Path):
    result = check("--policy", str(future), "--key", str(PUBLIC))
    assert (result.exit_code, result.stdout) == (1, "")
    assert "takes effect on 2099-01-01, after the decision date" in result.stderr
    assert "stakegate bundle diff" in result.stderr
    result = check("--policy", str(future), "--key", str(PUBLIC), "--as-of", "2099-01-01")
    assert result.exit_code == 0, result.output


def test_bundle_diff_previews_a_bundle_not_yet_in_effect(future: Path, tmp_path: Path):
    old = sign_policy(POLICIES, tmp_path / "stakegate-1.0.0.tar.gz")
    result = run(
        "bundle",
        "diff",
        str(old),
        str(future),
        "--registry",
        str(SMALL),
        "--format",
        "json",
        "--key",
        str(PUBLIC),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new"]["version"] == "2.0.0"


@pytest.fixture(scope="module")
def approved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = sign_policy(POLICIES, tmp_path_factory.mktemp("approved") / "stakegate-1.0.0.tar.gz")
    approve_bundle(verify_bundle(bundle, PUBLIC), "Jane Counsel", REVIEWER_ED25519)
    return bundle


@pytest.fixture(scope="module")
def remote(approved: Path) -> Iterator[str]:
    """A real OPA serving the approved signed bundle (and verifying its signature)."""
    with LocalOpa(approved, trust=APPROVED) as opa:
        yield opa.url


def test_opa_url_with_require_approval_needs_the_bundle(opa_server, monkeypatch):
    monkeypatch.setattr(settings, "REQUIRE_APPROVAL", True)
    monkeypatch.setattr(settings, "BUNDLE_PUBLIC_KEY", PUBLIC)
    monkeypatch.setattr(settings, "REVIEWER_KEYS", REVIEWERS, raising=False)
    result = check("--opa-url", opa_server.url)  # an OPA running the unsigned directory
    assert (result.exit_code, result.stdout) == (2, "")
    assert "--policy: with approval required, a remote OPA needs the approved bundle" in (
        result.stderr
    )


def test_remote_opa_serving_the_approved_bundle_is_accepted(remote: str, approved: Path):
    result = check("--opa-url", remote, "--policy", str(approved), *REQUIRE)
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert (decision["decision"], decision["policy"]["revision"]) == (
        "deny",
        verify_bundle(approved, PUBLIC).revision,
    )


def test_remote_opa_serving_something_else_is_refused(opa_server, approved: Path, tmp_path: Path):
    result = check("--opa-url", opa_server.url, "--policy", str(approved), *REQUIRE)
    assert (result.exit_code, result.stdout) == (1, "")
    assert "reports policy revision 'none'" in result.stderr
    other = policy_with_config(tmp_path, {"ownership_threshold": 60})
    bundle = sign_policy(other, tmp_path / "o" / "stakegate-1.0.1.tar.gz", "1.0.1")
    approve_bundle(verify_bundle(bundle, PUBLIC), "Jane Counsel", REVIEWER_ED25519)
    with LocalOpa(bundle, trust=APPROVED) as opa:
        result = check("--opa-url", opa.url, "--policy", str(approved), *REQUIRE)
    assert (result.exit_code, result.stdout) == (1, "")
    assert "reports policy revision '1.0.1+" in result.stderr


def test_remote_check_needs_the_approval_of_the_named_bundle(remote: str, approved, tmp_path):
    unapproved = tmp_path / approved.name
    shutil.copy(approved, unapproved)  # same bytes, but no approval record beside it
    result = check("--opa-url", remote, "--policy", str(unapproved), *REQUIRE)
    assert result.exit_code == 1
    assert "not approved" in result.stderr


def test_policy_directory_with_opa_url_is_a_usage_error(remote: str):
    result = check("--opa-url", remote, "--policy", str(POLICIES))
    assert result.exit_code == 2
    assert "names the signed bundle" in result.stderr


def test_service_requires_the_remote_revision(remote: str, approved: Path, opa_server):
    with pytest.raises(InputError, match="remote OPA needs the approved bundle"):
        ServiceConfig(registry=SMALL, opa_url=remote, trust=APPROVED)
    config = ServiceConfig(registry=SMALL, opa_url=remote, policy=approved, trust=APPROVED)
    with TestClient(create_app(config)) as client:
        body = client.post("/v1/decisions", json={"entity": "sg-sub"}).json()
        assert body["policy"]["revision"] == verify_bundle(approved, PUBLIC).revision
    config = ServiceConfig(registry=SMALL, opa_url=opa_server.url, policy=approved, trust=APPROVED)
    with pytest.raises(BundleVerificationError, match="reports policy revision 'none'"):
        with TestClient(create_app(config)):
            pass


def test_serve_refuses_an_unapproved_bundle_before_listening(tmp_path: Path):
    bundle = sign_policy(POLICIES, tmp_path / "stakegate-1.0.0.tar.gz")
    result = run(
        "serve",
        "--registry",
        str(SMALL),
        "--policy",
        str(bundle),
        "--addr",
        "127.0.0.1:0",
        *REQUIRE,
    )
    assert result.exit_code == 1
    assert "not approved" in result.stderr
    config = ServiceConfig(registry=SMALL, policy=bundle, trust=Trust(public_key=PUBLIC))
    with TestClient(create_app(config)) as client:  # the same bundle, approval not required
        assert client.post("/v1/decisions", json={"entity": "sg-sub"}).status_code == 200

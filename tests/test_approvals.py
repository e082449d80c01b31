"""Signed approvals: only reviewers' keys count, and nothing else passes for an approval.

Issue 13 found approvals to be plain JSON: a hand-made ``{"sha256": ..., "approvals": "yes"}``
passed ``STAKEGATE_REQUIRE_APPROVAL``, and an author could approve their own bundle. Each case
below is checked through the command a user runs (``check``), on a real OPA.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from stakegate import settings
from stakegate.bundles.approvals import (
    approval_path,
    approve_bundle,
    load_reviewer_keys,
    valid_approvals,
)
from stakegate.bundles.signing import key_fingerprint, verify_bundle
from stakegate.errors import BundleVerificationError, InputError

from .bundle_helpers import (
    PRIVATE,
    PUBLIC,
    REVIEWER_ED25519,
    REVIEWER_RSA,
    REVIEWERS,
    rewrite,
    run,
    sign_policy,
    write_keypair,
)
from .conftest import FIXTURES, POLICIES, policy_with_config

pytestmark = pytest.mark.integration

SMALL = FIXTURES / "cli" / "small.yaml"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sign_policy(POLICIES, tmp_path_factory.mktemp("b") / "stakegate-1.0.0.tar.gz")


@pytest.fixture
def bundle(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / built.name
    shutil.copy(built, copy)
    return copy


def approve(bundle: Path, reviewer: str, key: Path, *extra: str):
    return run(
        "bundle",
        "approve",
        str(bundle),
        "--reviewer",
        reviewer,
        "--reviewer-key",
        str(key),
        "--key",
        str(PUBLIC),
        *extra,
    )


def check(bundle: Path, *extra: str):
    args = ["check", "sg-sub", "--registry", str(SMALL), "--policy", str(bundle)]
    return run(*args, "--key", str(PUBLIC), "--require-approval", *extra)


@pytest.fixture
def required(monkeypatch: pytest.MonkeyPatch) -> None:
    """Approval required, the test keys trusted, through the settings (the environment)."""
    monkeypatch.setattr(settings, "REQUIRE_APPROVAL", True)
    monkeypatch.setattr(settings, "BUNDLE_PUBLIC_KEY", PUBLIC)
    monkeypatch.setattr(settings, "REVIEWER_KEYS", REVIEWERS, raising=False)


def check_by_settings(bundle: Path):
    return run("check", "sg-sub", "--registry", str(SMALL), "--policy", str(bundle))


def test_hand_made_approval_record_is_refused(bundle: Path, required: None):
    sha = verify_bundle(bundle, PUBLIC).sha256
    approval_path(bundle).write_text(json.dumps({"sha256": sha, "approvals": "yes"}))
    result = check_by_settings(bundle)
    assert (result.exit_code, result.stdout) == (1, "")
    assert "not a signed approval record" in result.stderr


def test_old_style_unsigned_record_is_refused(bundle: Path, required: None):
    verified = verify_bundle(bundle, PUBLIC)
    approval_path(bundle).write_text(
        json.dumps(
            {
                "bundle": bundle.name,
                "sha256": verified.sha256,
                "approvals": [{"reviewer": "legal@example.com", "date": "2026-11-27"}],
            }
        )
    )
    result = check_by_settings(bundle)
    assert (result.exit_code, result.stdout) == (1, "")
    assert "refused" in result.stderr


@pytest.mark.parametrize("key", [REVIEWER_ED25519, REVIEWER_RSA], ids=["ed25519", "rsa"])
def test_signed_approval_admits_the_bundle(bundle: Path, key: Path):
    assert check(bundle, "--reviewer-keys", str(REVIEWERS)).exit_code == 1
    result = approve(bundle, "Jane Counsel", key, "--note", "LEG-1", "--date", "2026-11-27")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)
    verified = verify_bundle(bundle, PUBLIC)
    assert {k: v for k, v in entry.items() if k != "signature"} == {
        "bundle_sha256": verified.sha256,
        "version": "1.0.0",
        "revision": verified.revision,
        "reviewer": "Jane Counsel",
        "date": "2026-11-27",
        "note": "LEG-1",
        "reviewer_key": entry["reviewer_key"],
    }
    result = check(bundle, "--reviewer-keys", str(REVIEWERS))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["policy"]["revision"] == verified.revision


def test_min_approvals_counts_distinct_reviewer_keys(bundle: Path, tmp_path: Path):
    assert approve(bundle, "Jane Counsel", REVIEWER_ED25519).exit_code == 0
    keys = ["--reviewer-keys", str(REVIEWERS), "--min-approvals", "2"]
    result = check(bundle, *keys)
    assert result.exit_code == 1
    assert "1 valid approval(s) from trusted reviewer keys, 2 required" in result.stderr
    # The same key again, under another name, is refused at approval, and a copied entry
    # still counts once.
    assert "already approved" in approve(bundle, "J. Counsel", REVIEWER_ED25519).stderr
    record = json.loads(approval_path(bundle).read_text())
    record["approvals"].append(dict(record["approvals"][0]))
    approval_path(bundle).write_text(json.dumps(record))
    assert check(bundle, *keys).exit_code == 1
    assert approve(bundle, "Rui Compliance", REVIEWER_RSA).exit_code == 0
    assert check(bundle, *keys).exit_code == 0


def test_reviewer_keys_as_one_pem_file_with_several_keys(bundle: Path, tmp_path: Path):
    both = tmp_path / "reviewers.pem"
    both.write_text("".join(p.read_text() for p in sorted(REVIEWERS.glob("*.pem"))))
    assert approve(bundle, "Rui Compliance", REVIEWER_RSA).exit_code == 0
    assert check(bundle, "--reviewer-keys", str(both)).exit_code == 0
    only_ed = tmp_path / "ed.pem"
    shutil.copy(REVIEWERS / "reviewer-ed25519.pub.pem", only_ed)
    result = check(bundle, "--reviewer-keys", str(only_ed))
    assert result.exit_code == 1
    assert "signed by a key that is not a trusted reviewer key" in result.stderr


@pytest.mark.parametrize(
    ("field", "value"),
    [("reviewer", "Someone Else"), ("note", "approved with conditions"), ("date", "2020-01-01")],
)
def test_edited_approval_is_refused(bundle: Path, field: str, value: str):
    assert approve(bundle, "Jane Counsel", REVIEWER_ED25519, "--note", "ok").exit_code == 0
    record = json.loads(approval_path(bundle).read_text())
    record["approvals"][0][field] = value
    approval_path(bundle).write_text(json.dumps(record))
    result = check(bundle, "--reviewer-keys", str(REVIEWERS))
    assert result.exit_code == 1
    assert "edited after signing" in result.stderr


def test_forged_signature_is_refused(bundle: Path):
    assert approve(bundle, "Jane Counsel", REVIEWER_ED25519).exit_code == 0
    record = json.loads(approval_path(bundle).read_text())
    head, payload, sig = record["approvals"][0]["signature"].split(".")
    record["approvals"][0]["signature"] = f"{head}.{payload}.{sig[:-4]}AAAA"
    approval_path(bundle).write_text(json.dumps(record))
    result = check(bundle, "--reviewer-keys", str(REVIEWERS))
    assert result.exit_code == 1
    assert "signature does not verify" in result.stderr


def test_untrusted_reviewer_key_is_refused(bundle: Path, tmp_path: Path):
    stranger, _ = write_keypair(tmp_path, "stranger", "ed25519")
    assert approve(bundle, "Mallory", stranger).exit_code == 0
    result = check(bundle, "--reviewer-keys", str(REVIEWERS))
    assert result.exit_code == 1
    assert "not a trusted reviewer key" in result.stderr


def test_author_cannot_approve_their_own_bundle(bundle: Path, tmp_path: Path):
    result = approve(bundle, "tests", REVIEWER_ED25519)  # sign_policy's author
    assert result.exit_code == 2
    assert "is the bundle's author: no self-approval" in result.stderr
    result = approve(bundle, "Pat Author", PRIVATE)  # the bundle's own signing key
    assert result.exit_code == 2
    assert "is the key that signed the bundle: no self-approval" in result.stderr
    assert not approval_path(bundle).exists()


def test_approval_signed_with_the_bundle_key_is_refused_even_if_listed(
    bundle: Path, tmp_path: Path
):
    """Crafted by hand (``approve`` refuses to make it), with the bundle key among reviewers."""
    verified = verify_bundle(bundle, PUBLIC)
    private = serialization.load_pem_private_key(PRIVATE.read_bytes(), password=None)
    fingerprint = key_fingerprint(private.public_key())  # type: ignore[arg-type]
    claims = {
        "bundle_sha256": verified.sha256,
        "version": verified.version,
        "revision": verified.revision,
        "reviewer": "Pat Author",
        "date": "2026-11-27",
        "note": "",
        "reviewer_key": fingerprint,
    }
    token = jwt.encode(
        {"purpose": "stakegate bundle approval", **claims},
        private,  # type: ignore[arg-type]
        algorithm="RS256",
        headers={"kid": fingerprint},
    )
    record = {"format": "stakegate-approvals/1", "bundle": bundle.name}
    record["approvals"] = [{**claims, "signature": token}]  # type: ignore[list-item]
    approval_path(bundle).write_text(json.dumps(record))
    reviewers = tmp_path / "reviewers"
    shutil.copytree(REVIEWERS, reviewers)
    shutil.copy(PUBLIC, reviewers / "bundle-key.pem")
    result = check(bundle, "--reviewer-keys", str(reviewers))
    assert result.exit_code == 1
    assert "signed by the bundle's own signing key (no self-approval)" in result.stderr


def test_approval_pins_the_bytes(bundle: Path, tmp_path: Path):
    assert approve(bundle, "Jane Counsel", REVIEWER_ED25519).exit_code == 0
    record = approval_path(bundle).read_text()
    other = policy_with_config(tmp_path / "other", {"ownership_threshold": 60})
    rebuilt = sign_policy(other, tmp_path / "x" / bundle.name)
    approval_path(rebuilt).write_text(record)  # the approval of other bytes, copied beside it
    result = check(rebuilt, "--reviewer-keys", str(REVIEWERS))
    assert result.exit_code == 1
    assert "approves other bytes" in result.stderr


def test_policy_directory_is_refused_when_approval_is_required(required: None):
    result = check_by_settings(POLICIES)
    assert result.exit_code == 1
    assert "only approved bundles may be loaded" in result.stderr


def test_require_approval_without_reviewer_keys_is_a_usage_error(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(settings, "REVIEWER_KEYS", None)
    result = check(bundle)
    assert result.exit_code == 2
    assert "no reviewer keys are configured" in result.stderr


def test_approve_needs_the_bundle_key_and_refuses_a_tampered_bundle(bundle: Path, tmp_path: Path):
    result = run(
        "bundle", "approve", str(bundle), "--reviewer", "J", "--reviewer-key", str(REVIEWER_RSA)
    )
    assert result.exit_code == 2
    assert "no key is trusted by default" in result.stderr

    def modify(files: dict[str, bytes]) -> None:
        files["/data.json"] = files["/data.json"].replace(b'"CN"', b'"SG"')

    (tmp_path / "bad").mkdir()
    bad = rewrite(bundle, tmp_path / "bad" / bundle.name, modify)
    assert approve(bad, "Jane Counsel", REVIEWER_RSA).exit_code == 1
    assert not approval_path(bad).exists()


def test_library_refuses_like_the_cli(bundle: Path):
    verified = verify_bundle(bundle, PUBLIC)
    with pytest.raises(InputError, match="no self-approval"):
        approve_bundle(verified, "Pat", PRIVATE)
    approve_bundle(verified, "Jane Counsel", REVIEWER_ED25519)
    trusted = load_reviewer_keys(REVIEWERS)
    assert [a["reviewer"] for a in valid_approvals(verified, trusted, 1)] == ["Jane Counsel"]
    with pytest.raises(BundleVerificationError, match="2 required"):
        valid_approvals(verified, trusted, 2)

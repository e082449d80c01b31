"""The release review: shipped examples, and the shipped config against the approved release.

``check-config`` compares a policy directory's parameters with the latest approved release;
it is a release-review step (``make release-check``), never part of ``make check``, so these
tests run it on copies whose config they set, never on the checkout's own config (which policy
authors are free to edit).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stakegate.bundles.approvals import approval_path, load_reviewer_keys, valid_approvals
from stakegate.bundles.signing import verify_bundle

from .bundle_helpers import PUBLIC, REVIEWER_ED25519, REVIEWERS, run, sign_policy
from .conftest import POLICIES, REPO, policy_with_config

pytestmark = pytest.mark.integration

SHIPPED = sorted((REPO / "bundles").glob("stakegate-*.tar.gz"))
REGISTRY = REPO / "examples" / "registry.yaml"
TRUST = ["--key", str(PUBLIC), "--reviewer-keys", str(REVIEWERS)]


def test_shipped_bundles_are_test_signed_approved_examples():
    assert SHIPPED, "bundles/ holds no example bundle: run scripts/build_example_bundles.sh"
    trusted = load_reviewer_keys(REVIEWERS)
    for bundle in SHIPPED:
        verified = verify_bundle(bundle, PUBLIC)
        metadata = verified.metadata
        assert metadata["notice"].startswith("TEST-SIGNED EXAMPLE")
        assert metadata["tests"] > 0 and metadata["coverage"] >= 95
        assert metadata["source_commit"] != "uncommitted"
        assert len(valid_approvals(verified, trusted, 2)) == 2
        result = run(
            "check",
            "lotus-sg",
            "--registry",
            str(REGISTRY),
            "--policy",
            str(bundle),
            "--require-approval",
            "--min-approvals",
            "2",
            *TRUST,
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["policy"]["revision"] == verified.revision
    assert "TEST-SIGNED" in (REPO / "bundles" / "README.md").read_text()


@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, dict]:
    """A bundle directory holding a copy of the shipped example and its approvals, and the
    parameters it was approved with."""
    directory = tmp_path / "bundles"
    directory.mkdir()
    bundle = SHIPPED[-1]
    shutil.copy(bundle, directory / bundle.name)
    shutil.copy(approval_path(bundle), directory / approval_path(bundle).name)
    config = json.loads(verify_bundle(bundle, PUBLIC).files["data.json"])["stakegate"]["config"]
    return directory, config


def check_config(policy: Path, bundles: Path, *extra: str):
    args = ["bundle", "check-config", "--policy", str(policy), "--bundles", str(bundles)]
    return run(*args, *TRUST, *extra)


def test_config_matching_the_approved_release_passes(release, tmp_path: Path):
    directory, approved = release
    policy = policy_with_config(tmp_path, approved)
    result = check_config(policy, directory)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["release"], report["matches"], report["differences"]) == (
        SHIPPED[-1].name,
        True,
        [],
    )
    assert len(report["approved_by"]) == 2


def test_edited_config_is_named_in_the_release_review(release, tmp_path: Path):
    """The policy author's edit of issue 13 (threshold 25, add BY) passes the gate's tests
    but not the release review until a release with those values is approved."""
    directory, approved = release
    edit = {
        "ownership_threshold": 25,
        "restricted_regions": [*approved["restricted_regions"], "BY"],
    }
    policy = policy_with_config(tmp_path, {**approved, **edit})
    result = check_config(policy, directory)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["differences"] == [
        {"name": "ownership_threshold", "approved": approved["ownership_threshold"], "shipped": 25},
        {
            "name": "restricted_regions",
            "approved": approved["restricted_regions"],
            "shipped": [*approved["restricted_regions"], "BY"],
        },
    ]
    assert "differs from the parameters approved in" in result.stderr


def test_only_approved_releases_count_and_the_latest_wins(release, tmp_path: Path):
    directory, approved = release
    changed = {**approved, "ownership_threshold": 60}
    policy = policy_with_config(tmp_path / "p", changed)
    unapproved = sign_policy(policy, directory / "stakegate-9.0.0.tar.gz", "9.0.0")
    result = check_config(policy, directory)
    assert result.exit_code == 1  # 9.0.0 is not approved: compared with the example
    assert json.loads(result.stdout)["release"] == SHIPPED[-1].name
    assert "stakegate-9.0.0.tar.gz: refused: not approved" in result.stderr
    result = run(
        "bundle",
        "approve",
        str(unapproved),
        "--reviewer",
        "Jane Counsel",
        "--reviewer-key",
        str(REVIEWER_ED25519),
        "--key",
        str(PUBLIC),
    )
    assert result.exit_code == 0, result.output
    result = check_config(policy, directory)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["release"] == "stakegate-9.0.0.tar.gz"


def test_no_approved_release_is_an_error(tmp_path: Path):
    empty = tmp_path / "bundles"
    empty.mkdir()
    result = check_config(POLICIES, empty)
    assert result.exit_code == 1
    assert "no approved release" in result.stderr


def test_release_check_is_not_part_of_make_check():
    makefile = (REPO / "Makefile").read_text()
    check_line = next(line for line in makefile.splitlines() if line.startswith("check:"))
    assert "release-check" not in check_line
    assert "check-config" not in (REPO / "scripts" / "check_rego.sh").read_text()

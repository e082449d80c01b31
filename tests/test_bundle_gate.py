"""The build gate: ``bundle build`` signs nothing that fails it, and ``make lint-rego`` runs it.

Issue 13 found ``bundle build`` signing a policy with failing tests and a config with
``restricted_regions: [..., "Belarus"]``; issue 11 found ``-o dir/`` turning a missing
directory into a file. Each policy here is a real copy of ``policies/`` with one fault added.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from stakegate.bundles import gate
from stakegate.bundles.build import UNCOMMITTED, source_commit
from stakegate.bundles.gate import run_gate
from stakegate.bundles.signing import verify_bundle
from stakegate.errors import PolicyGateError

from .bundle_helpers import PRIVATE, PUBLIC, run
from .conftest import POLICIES, REPO, policy_with_config

pytestmark = pytest.mark.integration


def build_cli(policy: Path, out: Path | str, version: str = "1.0.0", *extra: str):
    return run(
        "bundle",
        "build",
        "--version",
        version,
        "--policy",
        str(policy),
        "--signing-key",
        str(PRIVATE),
        "--changelog",
        "gate test",
        "--author",
        "tests",
        "--out",
        str(out),
        *extra,
    )


def assert_refused(policy: Path, tmp_path: Path, message: str) -> None:
    out = tmp_path / "out" / "stakegate-1.0.0.tar.gz"
    result = build_cli(policy, out)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_failing_rego_test_is_not_signed(tmp_path: Path):
    policy = policy_with_config(tmp_path, {})
    (policy / "stakegate" / "params" / "zz_test.rego").write_text(
        "package stakegate.params_test\n\ntest_always_fails if {\n\tfalse\n}\n"
    )
    assert_refused(policy, tmp_path, "test_always_fails: FAIL")


def test_invalid_region_config_is_not_signed(tmp_path: Path):
    regions = ["CN", "RU", "KP", "IR", "Belarus"]
    policy = policy_with_config(tmp_path, {"restricted_regions": regions})
    out = tmp_path / "out" / "stakegate-1.0.0.tar.gz"
    result = build_cli(policy, out)
    assert result.exit_code == 2, result.output
    assert not out.exists()
    # Whichever step notices first (the Rego tests that read the config, or the parameter
    # check), the refusal is the gate's; the parameter check alone names the value.
    assert "policy gate failed" in result.stderr
    with pytest.raises(PolicyGateError, match=r"restricted_regions: \"Belarus\" is not an ISO"):
        gate._parameters(policy)


def test_unformatted_rego_is_not_signed(tmp_path: Path):
    policy = policy_with_config(tmp_path, {})
    rule = policy / "stakegate" / "params" / "params.rego"
    rule.write_text(rule.read_text().replace("percent_range := {", "percent_range   :=   {"))
    assert_refused(policy, tmp_path, "policy gate failed at opa fmt")


def test_strict_check_failure_is_not_signed(tmp_path: Path):
    policy = policy_with_config(tmp_path, {})
    rule = policy / "stakegate" / "params" / "params.rego"
    rule.write_text(rule.read_text() + "\n_unused_helper(x) := y if {\n\ty := 1\n}\n")
    assert_refused(policy, tmp_path, "policy gate failed at opa check")


def test_coverage_below_the_gate_is_not_signed(tmp_path: Path):
    policy = policy_with_config(tmp_path, {})
    extra = policy / "stakegate" / "uncovered"
    extra.mkdir()
    lines = "\n".join(f"rule_{i} := {i} if input.never_{i}\n" for i in range(400))
    (extra / "uncovered.rego").write_text(f"package stakegate.uncovered\n\n{lines}")
    subprocess.run(
        [".tools/bin/opa", "fmt", "-w", str(extra)], cwd=REPO, check=True, capture_output=True
    )
    assert_refused(policy, tmp_path, "policy gate failed at opa test --coverage")


def test_gate_cli_is_what_lint_rego_runs():
    result = run("bundle", "gate", "--policy", str(POLICIES))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("gate: ok (")
    script = (REPO / "scripts" / "check_rego.sh").read_text()
    assert "stakegate bundle gate --policy policies/" in script


def test_manifest_records_tests_coverage_and_commit(tmp_path: Path):
    report = run_gate(POLICIES)
    out = tmp_path / "stakegate-1.0.0.tar.gz"
    result = build_cli(POLICIES, out)
    assert result.exit_code == 0, result.output
    metadata = verify_bundle(out, PUBLIC).metadata
    assert (metadata["tests"], metadata["coverage"]) == (report.tests, report.coverage)
    assert metadata["source_commit"] == source_commit(POLICIES)


def test_outside_a_clean_checkout_records_uncommitted_and_warns(tmp_path: Path):
    policy = policy_with_config(tmp_path, {})  # a copy outside git
    out = tmp_path / "stakegate-1.0.0.tar.gz"
    result = build_cli(policy, out)
    assert result.exit_code == 0, result.output
    assert "source_commit recorded as 'uncommitted'" in result.stderr
    assert verify_bundle(out, PUBLIC).metadata["source_commit"] == UNCOMMITTED


def test_dirty_git_checkout_records_uncommitted(tmp_path: Path):
    repo = tmp_path / "repo"
    shutil.copytree(POLICIES, repo / "policies")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "policy"], check=True)
    clean = source_commit(repo / "policies")
    assert len(clean) == 40
    config = repo / "policies" / "stakegate" / "config" / "data.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "percent_tolerance": 1e-6}))
    assert source_commit(repo / "policies") == UNCOMMITTED


@pytest.mark.parametrize("form", ["missing/", "existing"])
def test_out_directory_gets_the_bundle_inside(form: str, tmp_path: Path):
    """``-o dir/`` (issue 11): a directory, missing or not, gets stakegate-X.Y.Z.tar.gz."""
    if form == "existing":
        (tmp_path / "existing").mkdir()
    result = build_cli(POLICIES, f"{tmp_path}/{form}", "1.2.3")
    assert result.exit_code == 0, result.output
    target = tmp_path / form.rstrip("/") / "stakegate-1.2.3.tar.gz"
    assert target.is_file()
    assert verify_bundle(target, PUBLIC).version == "1.2.3"


def test_out_under_a_file_is_a_message(tmp_path: Path):
    (tmp_path / "plain").write_text("x")
    result = build_cli(POLICIES, tmp_path / "plain" / "b.tar.gz")
    assert result.exit_code == 2
    assert "cannot write there" in result.stderr


def test_a_policy_without_tests_is_not_signed(tmp_path: Path):
    policy = policy_with_config(tmp_path, {})
    for test in policy.rglob("*_test.rego"):
        test.unlink()
    assert_refused(policy, tmp_path, "policy gate failed at opa test: no tests found")

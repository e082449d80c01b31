"""Data faults end to end (``--data-faults error|review``), interest types, and the percent sum
that lands exactly on the threshold, through the CLI and a real OPA."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stakegate.cli.main import cli
from stakegate.errors import DataFaultError
from stakegate.ownership.interval import Interval
from stakegate.policy.facts import compute_facts
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import load_registry

from .conftest import FIXTURES, offline_view

pytestmark = pytest.mark.integration

FAULTS = FIXTURES / "faults"
FAULTY = FAULTS / "faulty.yaml"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def screen(registry: Path, url: str, *extra: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    result = run("screen", "--registry", str(registry), "--opa-url", url, *extra)
    decisions = {d["entity"]: d for d in map(json.loads, result.stdout.splitlines())}
    return result, decisions


# --- error mode (the default) --------------------------------------------------------------


def test_error_mode_names_every_faulty_record(tmp_path: Path, opa_server: LocalOpa):
    out = tmp_path / "out.jsonl"
    result = run(
        "screen", "--registry", str(FAULTY), "--opa-url", opa_server.url, "--out", str(out)
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"stakegate: error: {FAULTY}: 4 data faults")
    for record in (
        "ownership[0] (cn-parent -> dup), ownership[1] (cn-parent -> dup): duplicate holding",
        "ownership[2] (cn-parent -> over), ownership[3] (p1 -> over): owners of 'over' hold "
        "at least 110 percent",
        "ownership[4] (selfie -> selfie): an entity cannot own itself",
        "ownership[5] (c1 -> c2), ownership[6] (c2 -> c1): closed ownership cycle",
    ):
        assert record in result.stderr
    assert not out.exists()


def test_check_stops_on_faults_elsewhere_in_the_registry(opa_server: LocalOpa):
    result = run("check", "clean", "--registry", str(FAULTY), "--opa-url", opa_server.url)
    assert result.exit_code == 2
    assert "4 data faults" in result.stderr


def test_compute_facts_error_mode_raises_with_every_fault():
    with pytest.raises(DataFaultError) as caught:
        compute_facts(load_registry(FAULTY), offline_view())
    assert len(caught.value.faults) == 4


# --- review mode ---------------------------------------------------------------------------

EXPECTED_REVIEW = {
    "cn-parent": "deny",
    "dup": "review",
    "over": "deny",  # 60% held by a CN company, whatever the other owner's 50% means
    "p1": "allow",
    "selfie": "review",
    "c1": "review",
    "c2": "review",
    "holdco-sub": "review",
    "small-sub": "allow",
    "clean": "allow",
}


def test_review_mode_screens_on(opa_server: LocalOpa):
    result, decisions = screen(FAULTY, opa_server.url, "--data-faults", "review")
    assert result.exit_code == 0, result.output
    assert {k: d["decision"] for k, d in decisions.items()} == EXPECTED_REVIEW
    assert "stakegate: warning: 4 data faults" in result.stderr
    assert "on 5 entities (reason data_fault" in result.stderr


def test_review_mode_reason_carries_the_fault(opa_server: LocalOpa):
    _, decisions = screen(FAULTY, opa_server.url, "--data-faults", "review")
    (reason,) = [r for r in decisions["over"]["reasons"] if r["code"] == "data_fault"]
    (fault,) = reason["faults"]
    assert reason["severity"] == "review"
    assert fault["kind"] == "oversubscribed"
    assert fault["records"] == ["ownership[2] (cn-parent -> over)", "ownership[3] (p1 -> over)"]
    assert fault["details"] == {"total_percent": 110.0, "exclusive": False}


def test_review_mode_dependants_get_review_only_where_it_matters(opa_server: LocalOpa):
    _, decisions = screen(FAULTY, opa_server.url, "--data-faults", "review")
    codes = [r["code"] for r in decisions["holdco-sub"]["reasons"]]
    assert codes == ["possible_restricted_ownership"]
    assert decisions["holdco-sub"]["ownership"]["control"] == {"min": 0.0, "max": 70.0}
    assert decisions["small-sub"]["reasons"] == []


def test_review_mode_closed_cycle_members_are_wide_open(opa_server: LocalOpa):
    _, decisions = screen(FAULTY, opa_server.url, "--data-faults", "review")
    for member in ("c1", "c2"):
        assert decisions[member]["ownership"]["look_through"] == {"min": 0.0, "max": 100.0}
        (fault,) = [r for r in decisions[member]["reasons"] if r["code"] == "data_fault"][0][
            "faults"
        ]
        assert fault["kind"] == "closed_cycle"
        assert fault["details"] == {"size": 2, "members": ["c1", "c2"], "records": 2}
        assert fault["records"] == ["ownership[5] (c1 -> c2)", "ownership[6] (c2 -> c1)"]


def test_check_review_mode(opa_server: LocalOpa):
    result = run(
        "check", "selfie", "--registry", str(FAULTY), "--opa-url", opa_server.url,
        "--data-faults", "review",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["decision"] == "review"
    assert decision["reasons"][0]["faults"][0]["kind"] == "self_ownership"


def test_schema_errors_stay_hard_errors_in_review_mode(tmp_path: Path):
    bad = FIXTURES / "registries" / "bad" / "unknown_owner.yaml"
    result = run("screen", "--registry", str(bad), "--data-faults", "review")
    assert result.exit_code == 2
    assert "is not an entity id" in result.stderr


# --- interest types ------------------------------------------------------------------------


def test_interest_types_end_to_end(opa_server: LocalOpa):
    result, decisions = screen(FAULTS / "interests.yaml", opa_server.url)
    assert result.exit_code == 0, result.output
    assert {k: d["decision"] for k, d in decisions.items()} == {
        "cn-parent": "deny",
        "consolidated": "deny",
        "voted": "deny",
        "unknown-share": "review",
        "two-views": "allow",
    }
    assert decisions["consolidated"]["ownership"]["control"] == {"min": 50.0, "max": 100.0}
    assert decisions["two-views"]["ownership"]["control"] == {"min": 40.0, "max": 40.0}


def test_consolidation_share_is_a_policy_parameter(
    opa_with_config: Callable[[dict[str, Any]], LocalOpa],
):
    server = opa_with_config({"consolidation_share": {"min": 0, "max": 100}})
    _, decisions = screen(FAULTS / "interests.yaml", server.url)
    assert decisions["consolidated"]["decision"] == "review"
    assert decisions["consolidated"]["ownership"]["control"] == {"min": 0.0, "max": 100.0}


def test_compute_facts_takes_the_consolidation_share():
    facts = compute_facts(
        load_registry(FAULTS / "interests.yaml"),
        offline_view(consolidation_share=Interval(75, 75)),
    )
    assert facts.result.control("consolidated") == Interval(75, 75)


# --- a sum of shares exactly at the threshold ----------------------------------------------


@pytest.mark.parametrize(("comparison", "expected"), [(">", "allow"), (">=", "deny")])
def test_three_shares_summing_to_the_threshold(
    opa_with_config: Callable[[dict[str, Any]], LocalOpa], comparison: str, expected: str
):
    assert 0.03 + 0.29 + 0.18 != 0.5  # the float sum is a hair below
    server = opa_with_config({"ownership_threshold": 0.5, "threshold_comparison": comparison})
    result, decisions = screen(FAULTS / "threshold_sum.yaml", server.url)
    assert result.exit_code == 0, result.output
    target = decisions["target"]
    assert target["decision"] == expected
    assert target["policy"]["threshold"] == 0.5
    for method in ("control", "look_through"):
        share = target["ownership"][method]
        assert share["min"] == share["max"] == pytest.approx(0.5, abs=1e-12)

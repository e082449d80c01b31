"""Regimes side by side (``--regimes``) against a real OPA serving the shipped presets.

The published outcomes come from the sources the presets cite: OFAC's FAQs 399 and 401 (blocked
persons' holdings aggregate, 50% or more; through entities that are themselves blocked), OFSI's
ownership guidance (more than 50%, no aggregation across designated persons), OFAC FAQ 402
(divestment: a delisted owner no longer counts), and the BIS Affiliates Rule's suspension from
2025-11-10 through 2026-11-09 (in force again from 2026-11-10).
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stakegate.cli.main import cli
from stakegate.errors import InputError
from stakegate.ownership.graph import Status
from stakegate.policy.pipeline import check, connect, screen
from stakegate.policy.regimes import regime_status
from stakegate.policy.runtime import LocalOpa
from stakegate.policy.schemas import validate
from stakegate.registry.load import load_registry, parse_registry

from .conftest import FIXTURES, REPO

pytestmark = pytest.mark.integration

FAQ = FIXTURES / "regimes" / "ofac_faq.yaml"
TODAY = date(2026, 11, 30)
BOTH = ["us-ofac-50", "uk-ownership"]


def _outcomes(decisions: list[Any]) -> dict[str, dict[str, str]]:
    return {d["entity"]: {n: r["decision"] for n, r in d["regimes"].items()} for d in decisions}


def test_ofac_faq_structures_and_uk_without_aggregation(opa_server: LocalOpa) -> None:
    decisions = screen(FAQ, opa_url=opa_server.url, as_of=TODAY, regimes=BOTH)
    got = _outcomes(decisions)
    # OFAC: every FAQ 399/401 structure is blocked (50% or more, aggregated, through blocked
    # entities). UK: more than 50% from one designated person alone.
    expected = {
        "person-x": ("deny", "deny"),
        "person-y": ("deny", "deny"),
        "faq399-a": ("deny", "allow"),  # 25 + 25: aggregated 50 / neither alone
        "faq401-1-a": ("deny", "allow"),  # exactly 50: >= 50 / not > 50
        "faq401-1-b": ("deny", "allow"),
        "faq401-2-a": ("deny", "allow"),
        "faq401-2-b": ("deny", "allow"),
        "faq401-2-c": ("deny", "allow"),
        "faq401-3-a": ("deny", "allow"),
        "faq401-3-b": ("deny", "allow"),
        "uk-1": ("deny", "allow"),  # X 30 + Y 30: OFAC aggregates, the UK does not
        "uk-3": ("deny", "deny"),  # X owns 100
        "uk-2": ("deny", "deny"),  # X 40 directly + 20 through uk-3, which X alone controls
    }
    assert got == {e: dict(zip(BOTH, o, strict=True)) for e, o in expected.items()}
    by_id = {d["entity"]: d for d in decisions}
    uk1 = by_id["uk-1"]
    assert uk1["decision"] == "deny"
    assert uk1["policy"]["regime"] == "us-ofac-50"
    assert {r["regime"] for r in uk1["reasons"]} == {"us-ofac-50"}
    assert uk1["regimes"]["uk-ownership"]["ownership"]["control"] == {"min": 30.0, "max": 30.0}
    assert uk1["regimes"]["us-ofac-50"]["ownership"]["control"] == {"min": 60.0, "max": 60.0}
    uk2 = by_id["uk-2"]["regimes"]["uk-ownership"]
    assert uk2["reasons"][0]["paths"] == [["person-x", "uk-2"], ["person-x", "uk-3", "uk-2"]]
    for decision in decisions:
        validate("decision", decision, "decision")
        for regime in decision["regimes"].values():
            assert regime["as_of"] == "2026-11-30"
            assert regime["policy"]["revision"] == decision["policy"]["revision"]
            validate("decision", regime, "regime decision")


def _delisting(tmp_path: Path, until: str) -> Path:
    path = tmp_path / "delisted.yaml"
    path.write_text(
        "entities:\n"
        "  - {id: owner, type: person, jurisdiction: AE,\n"
        f"     designations: [{{list: us_ofac_sdn, since: 2020-01-01, until: {until}}}]}}\n"
        "  - {id: company, type: company, jurisdiction: SG}\n"
        "ownership:\n"
        "  - {owner: owner, owned: company, percent: 60}\n"
    )
    return path


@pytest.mark.parametrize(
    ("as_of", "outcome"),
    [(date(2026, 5, 31), "deny"), (date(2026, 6, 1), "allow"), (date(2019, 12, 31), "allow")],
)
def test_delisting_before_and_after_as_of(
    opa_server: LocalOpa, tmp_path: Path, as_of: date, outcome: str
) -> None:
    registry = _delisting(tmp_path, "2026-06-01")
    ofac = ["us-ofac-50"]
    decision = check("company", registry, opa_url=opa_server.url, as_of=as_of, regimes=ofac)
    assert decision["regimes"]["us-ofac-50"]["decision"] == outcome
    owner = check("owner", registry, opa_url=opa_server.url, as_of=as_of, regimes=ofac)
    assert owner["decision"] == outcome
    if outcome == "deny":
        assert owner["reasons"][0]["code"] == "designated"


@pytest.mark.parametrize(
    ("as_of", "outcome"),
    [
        (date(2025, 9, 28), "allow"),
        (date(2025, 9, 29), "deny"),
        (date(2025, 11, 9), "deny"),
        (date(2025, 11, 10), "allow"),
        (date(2026, 11, 9), "allow"),
        (date(2026, 11, 10), "deny"),
        (date(2026, 11, 30), "deny"),
    ],
)
def test_bis_suspension_dates(
    opa_server: LocalOpa, tmp_path: Path, as_of: date, outcome: str
) -> None:
    path = tmp_path / "bis.yaml"
    path.write_text(
        "entities:\n"
        "  - {id: listed, type: company, jurisdiction: AE,\n"
        "     designations: [{list: us_bis_entity_list, since: 2020-01-01}]}\n"
        "  - {id: meu, type: company, jurisdiction: AE, designations: [{list: us_bis_meu_list}]}\n"
        "  - {id: affiliate, type: company, jurisdiction: SG}\n"
        "ownership:\n"
        "  - {owner: listed, owned: affiliate, percent: 30}\n"
        "  - {owner: meu, owned: affiliate, percent: 20}\n"
    )
    decision = check(
        "affiliate", path, opa_url=opa_server.url, as_of=as_of, regimes=["us-bis-affiliates"]
    )
    assert decision["decision"] == outcome
    if outcome == "allow":
        (reason,) = decision["reasons"]
        assert reason["code"] == "regime_not_in_force"
        assert [w["from"] for w in reason["in_force"]] == ["2025-09-29", "2026-11-10"]
        assert all(w["source"] for w in reason["in_force"])


def test_default_regime_decides_as_without_regimes(opa_server: LocalOpa) -> None:
    registry = REPO / "examples" / "registry.yaml"
    plain = screen(registry, opa_url=opa_server.url, as_of=TODAY)
    side = screen(registry, opa_url=opa_server.url, as_of=TODAY, regimes=["restricted-regions"])
    for before, after in zip(plain, side, strict=True):
        nested = after["regimes"]["restricted-regions"]
        assert nested["policy"].pop("regime") == "restricted-regions"
        assert nested == before
        assert after["decision"] == before["decision"]


def test_all_regimes_in_the_policys_order(opa_server: LocalOpa) -> None:
    (decision,) = screen(FAQ, opa_url=opa_server.url, as_of=TODAY, regimes=["all"])[:1]
    assert list(decision["regimes"]) == [
        "restricted-regions",
        "eu-ownership",
        "uk-ownership",
        "us-bis-affiliates",
        "us-ofac-50",
    ]


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        (["nope"], "unknown regime 'nope'"),
        (["uk-ownership", "uk-ownership"], "named twice"),
        ([], "at least one regime"),
    ],
)
def test_bad_regime_names_are_input_errors(
    opa_server: LocalOpa, asked: list[str], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        screen(FAQ, opa_url=opa_server.url, as_of=TODAY, regimes=asked)


def test_a_policy_without_regimes_refuses_them(tmp_path: Path) -> None:
    """A bundle built before regimes (fixtures/bundles): its view has none, and --regimes says
    so."""
    bundle = REPO / "tests" / "fixtures" / "bundles" / "before-regimes-2.0.0.tar.gz"
    key = REPO / "tests" / "keys" / "stakegate-test-only.pub.pem"
    result = CliRunner().invoke(
        cli,
        ["check", "uk-1", "-i", str(FAQ), "--policy", str(bundle), "--key", str(key)]
        + ["--as-of", "2026-11-30", "--regimes", "all"],
        catch_exceptions=False,
    )
    assert result.exit_code == 2, result.output
    assert "--regimes: the policy defines no regimes" in result.stderr


def test_cli_check_screen_and_table(opa_server: LocalOpa, tmp_path: Path) -> None:
    common = ["-i", str(FAQ), "--opa-url", opa_server.url, "--as-of", "2026-11-30"]
    runner = CliRunner()
    result = runner.invoke(cli, ["check", "uk-1", *common, "--regimes", ",".join(BOTH)])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert list(decision["regimes"]) == BOTH
    result = runner.invoke(cli, ["screen", *common, "--regimes", "all", "--format", "table"])
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == [
        "ENTITY",
        "NAME",
        "DECISION",
        "restricted-regions",
        "eu-ownership",
        "uk-ownership",
        "us-bis-affiliates",
        "us-ofac-50",
        "REASONS",
    ]
    uk1 = next(row for row in rows if row.startswith("uk-1 "))
    assert "allow 30%" in uk1 and "deny 60%" in uk1
    result = runner.invoke(cli, ["screen", *common, "--regimes", "uk-ownership", "--format", "csv"])
    assert result.stdout.splitlines()[0].endswith(",regime:uk-ownership")
    for bad in ("all,uk-ownership", "uk-ownership,,us-ofac-50", "nope"):
        result = runner.invoke(cli, ["screen", *common, "--regimes", bad])
        assert result.exit_code == 2, (bad, result.output)


def test_python_and_rego_read_designation_dates_alike(opa_server: LocalOpa) -> None:
    """Random designations around the day decided for: an entity seeds a regime in Python
    (regime_status) exactly when Rego gives it the designated reason."""
    rnd = random.Random(15)
    day = date(2026, 11, 30)
    entities = []
    for i in range(300):
        designations = []
        for _ in range(rnd.randint(0, 3)):
            item: dict[str, Any] = {"list": rnd.choice(["us_ofac_sdn", "eu_fsf", "other"])}
            if rnd.random() < 0.7:
                item["since"] = (day + timedelta(days=rnd.randint(-3, 3))).isoformat()
            if rnd.random() < 0.7:
                item["until"] = (day + timedelta(days=rnd.randint(-2, 4))).isoformat()
            if "since" in item and "until" in item and item["until"] < item["since"]:
                item["since"], item["until"] = item["until"], item["since"]
            designations.append(item)
        entities.append(
            {"id": f"e{i}", "type": "company", "jurisdiction": "SG"}
            | ({"designations": designations} if designations else {})
        )
    registry = parse_registry({"entities": entities, "ownership": []}, "random")
    decisions = screen(registry, opa_url=opa_server.url, as_of=day, regimes=["us-ofac-50"])
    with connect(opa_url=opa_server.url, as_of=day) as connection:
        (regime,) = [r for r in connection.view.regimes if r.name == "us-ofac-50"]
        status = regime_status(
            regime, list(registry.entities.values()), connection.view.classification, day
        )
    for decision, st in zip(decisions, status, strict=True):
        designated = any(r["code"] == "designated" for r in decision["reasons"])
        assert designated is (st == Status.RESTRICTED), decision["entity"]


def test_facts_of_a_per_owner_regime_load_from_the_registry(opa_server: LocalOpa) -> None:
    loaded = load_registry(FAQ)
    decision = check("uk-2", loaded, opa_url=opa_server.url, as_of=TODAY, regimes=["uk-ownership"])
    uk = decision["regimes"]["uk-ownership"]
    # Look-through is not the UK's test; its interval is sound: from X's direct 40 to the
    # aggregate upper bound (40 + 20).
    assert uk["ownership"]["look_through"] == {"min": 40.0, "max": 60.0}
    assert uk["policy"] == {
        "method": "control",
        "threshold": 50,
        "comparison": ">",
        "regime": "uk-ownership",
        "revision": decision["policy"]["revision"],
    }


def test_service_decides_side_by_side(opa_server: LocalOpa, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from stakegate.service import ServiceConfig, create_app

    config = ServiceConfig(
        registry=FAQ,
        opa_url=opa_server.url,
        audit_log=tmp_path / "audit.log",
        as_of=TODAY,
        regimes=tuple(BOTH),
    )
    with TestClient(create_app(config)) as client:
        body = client.post("/v1/decisions", json={"entity": "uk-1"}).json()
        assert {n: d["decision"] for n, d in body["regimes"].items()} == {
            "us-ofac-50": "deny",
            "uk-ownership": "allow",
        }
        batch = client.post("/v1/decisions", json={"entities": ["uk-1", "uk-2"]}).json()
        assert [d["regimes"]["uk-ownership"]["decision"] for d in batch["decisions"]] == [
            "allow",
            "deny",
        ]
        fragment = {
            "entities": [
                {"id": "newco", "type": "company", "jurisdiction": "SG"},
                {"id": "a", "type": "person", "designations": [{"list": "us_ofac_sdn"}]},
                {"id": "b", "type": "person", "designations": [{"list": "us_ofac_sdn"}]},
            ],
            "ownership": [
                {"owner": "a", "owned": "newco", "percent": 30},
                {"owner": "b", "owned": "newco", "percent": 20},
            ],
        }
        facts = client.post("/v1/decisions", json={"facts": fragment}).json()
        assert facts["decision"] == "deny"
        assert facts["regimes"]["uk-ownership"]["decision"] == "allow"
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert "regimes" in schema["DecisionResponse"]["properties"]
        assert "RegimeDecision" in schema
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    audited = [line for line in lines if line.get("type") == "decision"]
    assert audited and all(set(line["regimes"]) == set(BOTH) for line in audited)


def test_bundle_diff_reports_impact_per_regime(tmp_path: Path) -> None:
    from stakegate.review.compare import compare_policies

    from .conftest import POLICIES, policy_with_config

    aggregated_uk = {
        "title": "UK, aggregated (what if)",
        "restricted_regions": [],
        "designation_lists": ["gb_fcdo_sanctions"],
        "ownership_threshold": 50,
        "threshold_comparison": ">",
        "aggregation": "combined",
        "method": "control",
    }
    new = policy_with_config(tmp_path, {"regimes": {"uk-ownership": aggregated_uk}})
    report = compare_policies(
        POLICIES, new, load_registry(FAQ), as_of=TODAY, regimes=["uk-ownership"]
    ).full()
    assert report["regimes"]["names"] == ["uk-ownership"]
    # X 30 + Y 30 of uk-1: aggregated, more than 50.
    assert report["regimes"]["impact"] == {"uk-ownership": {"allow->deny": 1}}
    assert report["impact"] == {"allow->deny": 1}
    (entry,) = report["entities"]
    assert entry["entity"] == "uk-1"
    assert entry["regimes_before"] == {"uk-ownership": "allow"}
    assert entry["regimes_after"] == {"uk-ownership": "deny"}

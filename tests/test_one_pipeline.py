"""One pipeline: every way to ask gives the same decision for the same facts.

The service once rebuilt the library's pipeline and drifted from it (its facts form ignored the
policy's consolidation_share). Here one registry is decided under non-default parameters
(consolidation_share, threshold and comparison) through the CLI, the library, and the service's
single, batch and facts forms, against one real OPA, and every answer must agree on the
decision, the reasons and the ownership.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient

import stakegate
from stakegate.cli.main import cli
from stakegate.policy.runtime import LocalOpa
from stakegate.service import ServiceConfig, create_app

pytestmark = pytest.mark.integration

# Non-default on every axis the Python side must take from the policy: a consolidation holding
# counts as unknown (0-100), the threshold is 25 and it is reached at (>=), not exceeded.
CONFIG = {
    "consolidation_share": {"min": 0, "max": 100},
    "ownership_threshold": 25,
    "threshold_comparison": ">=",
}
REGISTRY_DOC: dict[str, Any] = {
    "entities": [
        {"id": "cn-parent", "name": "Red Lantern (fictional)", "type": "company",
         "jurisdiction": "CN"},
        {"id": "consolidated", "type": "company", "jurisdiction": "SG"},
        {"id": "quarter", "type": "company", "jurisdiction": "GB"},
        {"id": "below", "type": "company", "jurisdiction": "DE"},
        {"id": "chain", "type": "company", "jurisdiction": "NL"},
        {"id": "band", "type": "company", "jurisdiction": "FR"},
    ],
    "ownership": [
        {"owner": "cn-parent", "owned": "consolidated", "interest": "consolidation"},
        {"owner": "cn-parent", "owned": "quarter", "percent": 25},
        {"owner": "cn-parent", "owned": "below", "percent": 24.9},
        {"owner": "quarter", "owned": "chain", "percent": 30},
        {"owner": "cn-parent", "owned": "band", "percent": {"min": 10, "max": 30}},
    ],
}  # fmt: skip
IDS = [e["id"] for e in REGISTRY_DOC["entities"]]


def _essence(decision: dict[str, Any]) -> dict[str, Any]:
    """What must agree: everything but ids and the revision's spelling."""
    kept = {k: decision[k] for k in ("entity", "decision", "reasons", "ownership", "as_of")}
    kept["policy"] = {k: v for k, v in decision["policy"].items() if k != "revision"}
    return kept


@pytest.fixture(scope="module")
def server(opa_with_config: Callable[[dict[str, Any]], LocalOpa]) -> LocalOpa:
    return opa_with_config(CONFIG)


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("one") / "registry.yaml"
    path.write_text(yaml.safe_dump(REGISTRY_DOC, sort_keys=False))
    return path


def test_every_surface_decides_alike(server: LocalOpa, registry_file: Path):
    runner = CliRunner()
    result = runner.invoke(
        cli, ["screen", "--registry", str(registry_file), "--opa-url", server.url]
    )
    assert result.exit_code == 0, result.output
    by_cli = [json.loads(line) for line in result.stdout.splitlines()]
    by_library = stakegate.screen(registry_file, opa_url=server.url)
    config = ServiceConfig(registry=registry_file, opa_url=server.url)
    with TestClient(create_app(config)) as service:
        single = [service.post("/v1/decisions", json={"entity": e}).json() for e in IDS]
        batch = service.post("/v1/decisions", json={"entities": IDS}).json()["decisions"]
        facts = [
            service.post("/v1/decisions", json={"facts": REGISTRY_DOC, "entity": e}).json()
            for e in IDS
        ]
    reference = [_essence(d) for d in by_library]
    assert [d["entity"] for d in reference] == IDS
    for surface in (by_cli, single, batch, facts):
        assert [_essence(d) for d in surface] == reference
    # The parameters did reach the Python side: the consolidation is unknown (review), 25 is
    # reached (deny), 24.9 is not (allow), and control carries quarter's restriction onwards.
    outcomes = {d["entity"]: d["decision"] for d in reference}
    assert outcomes == {
        "cn-parent": "deny",
        "consolidated": "review",
        "quarter": "deny",
        "below": "allow",
        "chain": "deny",
        "band": "review",
    }
    consolidated = next(d for d in reference if d["entity"] == "consolidated")
    assert consolidated["ownership"]["control"] == {"min": 0.0, "max": 100.0}

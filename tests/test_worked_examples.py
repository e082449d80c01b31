"""The worked examples of the rule, decided end to end by the real policy in a real OPA.

Cases live in ``fixtures/worked_examples.yaml`` (registry, policy overrides, expected
decisions), so that a compliance reviewer can read them without reading Python.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from stakegate.policy.client import PolicyClient
from stakegate.policy.pipeline import Connection, Screener
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import parse_registry

from .conftest import FIXTURES

pytestmark = pytest.mark.integration

CASES: list[dict[str, Any]] = yaml.safe_load(
    (FIXTURES / "worked_examples.yaml").read_text(encoding="utf-8")
)


def decide_all(server: LocalOpa, registry_doc: dict[str, Any], as_of: date | None):
    registry = parse_registry(registry_doc, "worked example")
    client = PolicyClient(server.url)
    try:
        return {
            d["entity"]: d
            for d in Screener(Connection(client, server.revision), registry, as_of).screen()
        }
    finally:
        client.close()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_worked_example(case: dict[str, Any], opa_with_config: Callable[..., LocalOpa]):
    server = opa_with_config(case.get("config") or {})
    as_of = case.get("as_of")
    as_of = date.fromisoformat(str(as_of)) if as_of else None
    decisions = decide_all(server, case["registry"], as_of)
    got = {entity: decisions[entity]["decision"] for entity in case["expected"]}
    assert got == case["expected"]


def test_a_3000_level_chain_under_a_cn_parent_is_denied_at_the_bottom(opa_server: LocalOpa):
    depth = 3000
    entities = [{"id": "cn-parent", "type": "company", "jurisdiction": "CN"}]
    entities += [{"id": f"sub-{i}", "type": "company", "jurisdiction": "SG"} for i in range(depth)]
    ownership = [{"owner": "cn-parent", "owned": "sub-0", "percent": 100}]
    ownership += [
        {"owner": f"sub-{i}", "owned": f"sub-{i + 1}", "percent": 100} for i in range(depth - 1)
    ]
    decisions = decide_all(opa_server, {"entities": entities, "ownership": ownership}, None)
    bottom = decisions[f"sub-{depth - 1}"]
    assert bottom["decision"] == "deny"
    assert bottom["ownership"]["control"] == {"min": 100.0, "max": 100.0}
    assert bottom["ownership"]["look_through"] == {"min": 100.0, "max": 100.0}
    (path,) = bottom["reasons"][0]["paths"]
    assert path[-2:] == [f"sub-{depth - 2}", f"sub-{depth - 1}"]
    assert all(d["decision"] == "deny" for d in decisions.values())


def test_example_registry_decisions_match_its_comments(opa_server: LocalOpa):
    """examples/registry.yaml annotates each entity with `# expect: <decision>`."""
    path = Path(__file__).resolve().parents[1] / "examples" / "registry.yaml"
    expected: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "# expect:" in line and "id:" in line:
            entity_id = line.split("id:")[1].split(",")[0].strip()
            expected[entity_id] = line.split("# expect:")[1].split()[0]
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    decisions = decide_all(opa_server, doc, None)
    assert expected, "examples/registry.yaml has no '# expect:' annotations"
    assert {e: decisions[e]["decision"] for e in expected} == expected

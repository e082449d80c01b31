"""Properties of whole decisions, decided by the real policy in a real OPA.

The ownership math has its own properties (test_ownership_properties.py); these check what a
compliance reviewer cares about at the end: outcomes only get stricter when a restricted
owner's share grows, ids do not matter, and the threshold boundary is where the policy says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stakegate.policy.client import PolicyClient
from stakegate.policy.pipeline import Connection, Screener
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import parse_registry

pytestmark = pytest.mark.integration

SEVERITY = {"allow": 0, "review": 1, "deny": 2}
JURISDICTIONS = ["CN", "RU", "SG", "DE", "GB", None]
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def decide(server: LocalOpa, doc: dict[str, Any]) -> dict[str, str]:
    client = PolicyClient(server.url)
    try:
        screener = Screener(
            Connection(client, server.revision),
            parse_registry(doc, "property"),
            data_faults="error",
        )
        return {d["entity"]: d["decision"] for d in screener.screen()}
    finally:
        client.close()


@st.composite
def registries(draw: st.DrawFn) -> dict[str, Any]:
    """Up to 7 entities with random jurisdictions and acyclic-or-cyclic holdings whose owners
    never hold 100% or more of anything (so no data faults), with exact shares or bands."""
    n = draw(st.integers(2, 7))
    entities = []
    for i in range(n):
        entity: dict[str, Any] = {"id": f"e{i}", "type": "company"}
        code = draw(st.sampled_from(JURISDICTIONS))
        if code is not None:
            entity["jurisdiction"] = code
        entities.append(entity)
    ownership = []
    room = [95.0] * n  # what is left to own of each entity, keeping sums below 100
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            max_size=10,
            unique=True,
        )
    )
    for owner, owned in pairs:
        if room[owned] < 2:
            continue
        low = draw(st.integers(1, int(room[owned]) - 1))
        banded = draw(st.booleans())
        high = draw(st.integers(low, int(room[owned]))) if banded else low
        room[owned] -= high
        percent: Any = {"min": low, "max": high} if banded and high > low else low
        ownership.append({"owner": f"e{owner}", "owned": f"e{owned}", "percent": percent})
    return {"entities": entities, "ownership": ownership}


@PROPERTY_SETTINGS
@given(doc=registries(), data=st.data())
def test_raising_a_restricted_owners_share_never_relaxes_a_decision(
    opa_server: LocalOpa, doc: dict[str, Any], data: st.DataObject
):
    restricted = {e["id"] for e in doc["entities"] if e.get("jurisdiction") in ("CN", "RU")}
    exact = [
        i
        for i, h in enumerate(doc["ownership"])
        if h["owner"] in restricted and isinstance(h["percent"], int)
    ]
    if not exact:
        return
    index = data.draw(st.sampled_from(exact))
    owned = doc["ownership"][index]["owned"]
    total = sum(
        h["percent"] if isinstance(h["percent"], int) else h["percent"]["max"]
        for h in doc["ownership"]
        if h["owned"] == owned
    )
    extra = data.draw(st.integers(1, max(1, int(99 - total))))
    if total + extra >= 100:
        return
    raised = {
        "entities": doc["entities"],
        "ownership": [
            dict(h, percent=h["percent"] + extra) if i == index else h
            for i, h in enumerate(doc["ownership"])
        ],
    }
    before, after = decide(opa_server, doc), decide(opa_server, raised)
    for entity, outcome in before.items():
        assert SEVERITY[after[entity]] >= SEVERITY[outcome], (entity, outcome, after[entity])


@PROPERTY_SETTINGS
@given(doc=registries(), salt=st.integers(0, 10**6))
def test_relabeling_ids_changes_nothing(opa_server: LocalOpa, doc: dict[str, Any], salt: int):
    def rename(entity_id: str) -> str:
        return f"x{salt}-{entity_id[::-1]}"

    renamed = {
        "entities": [dict(e, id=rename(e["id"])) for e in reversed(doc["entities"])],
        "ownership": [
            dict(h, owner=rename(h["owner"]), owned=rename(h["owned"]))
            for h in reversed(doc["ownership"])
        ],
    }
    before, after = decide(opa_server, doc), decide(opa_server, renamed)
    assert {rename(e): outcome for e, outcome in before.items()} == after


@pytest.mark.parametrize("comparison", [">", ">="])
@PROPERTY_SETTINGS
@given(share=st.one_of(st.integers(1, 99), st.sampled_from([49.999999, 50, 50.000001])))
def test_threshold_boundary_is_where_the_policy_says(
    opa_with_config: Callable[[dict[str, Any]], LocalOpa], comparison: str, share: float
):
    server = opa_with_config({"threshold_comparison": comparison})
    doc = {
        "entities": [
            {"id": "parent", "type": "company", "jurisdiction": "CN"},
            {"id": "child", "type": "company", "jurisdiction": "SG"},
        ],
        "ownership": [{"owner": "parent", "owned": "child", "percent": share}],
    }
    crosses = share > 50 if comparison == ">" else share >= 50
    assert decide(server, doc)["child"] == ("deny" if crosses else "allow")


@PROPERTY_SETTINGS
@given(low=st.integers(1, 98), width=st.integers(0, 40), exclusive=st.booleans())
def test_a_band_decides_by_its_bounds(opa_server: LocalOpa, low: int, width: int, exclusive: bool):
    high = min(99, low + width)
    if exclusive and high == low:
        return  # an empty band is bad input, tested elsewhere
    percent = {"min": low, "max": high, "min_exclusive": exclusive}
    doc = {
        "entities": [
            {"id": "parent", "type": "company", "jurisdiction": "RU"},
            {"id": "child", "type": "company", "jurisdiction": "DE"},
        ],
        "ownership": [{"owner": "parent", "owned": "child", "percent": percent}],
    }
    if low > 50 or (low == 50 and exclusive):
        expected = "deny"
    elif high > 50:
        expected = "review"
    else:
        expected = "allow"
    assert decide(opa_server, doc)["child"] == expected

"""Which entities the batch form sends as plain members (``policy/members.py``), decided for a
whole registry at once: every entity whose facts are more than shared facts, id, name and four
inclusive bounds that cannot cross the threshold must be sent whole."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from stakegate.ownership.interval import Comparison
from stakegate.policy.facts import RegistryFacts, compute_facts
from stakegate.policy.members import MemberGroups, MemberPlan
from stakegate.registry.load import parse_registry

from .conftest import offline_view

_ENTITIES = [
    {"id": "cn", "type": "company", "jurisdiction": "CN"},  # restricted itself
    {"id": "half", "type": "company", "jurisdiction": "SG"},  # exactly 50% owned by cn
    {"id": "over", "type": "company", "jurisdiction": "SG"},  # above any threshold here
    {"id": "band", "type": "company", "jurisdiction": "SG"},  # an exclusive bound (band)
    {"id": "self", "type": "company", "jurisdiction": "SG"},  # owns itself: a data fault
    {"id": "plain", "type": "person", "jurisdiction": "SG", "name": "P"},  # 10%
    {"id": "none", "type": "company", "jurisdiction": "DE"},  # owned by nobody
    {"id": "where", "type": "company", "jurisdiction": "SG", "headquarters": "DE"},
    {"id": "unknown", "type": "company"},  # no jurisdiction: possibly restricted itself
]
_OWNERSHIP: list[dict[str, Any]] = [
    {"owner": "cn", "owned": "half", "percent": 50},
    {"owner": "cn", "owned": "over", "percent": 80},
    {"owner": "cn", "owned": "band", "percent": {"min": 10, "max": 20, "min_exclusive": True}},
    {"owner": "self", "owned": "self", "percent": 5},
    {"owner": "cn", "owned": "plain", "percent": 10},
]


def _plan(comparison: Comparison) -> tuple[MemberPlan, list[str]]:
    registry = parse_registry({"entities": _ENTITIES, "ownership": _OWNERSHIP}, "plan")
    facts = compute_facts(registry, offline_view(comparison=comparison), mode="review")
    return MemberPlan(facts), list(registry.entities)


@pytest.mark.parametrize(
    ("comparison", "half_is_plain"), [(">", True), (">=", False)]
)  # fmt: skip
def test_only_plain_entities_are_members(comparison: Comparison, half_is_plain: bool) -> None:
    plan, ids = _plan(comparison)
    plain = dict(zip(ids, plan.plain(np.arange(len(ids))).tolist(), strict=True))
    assert plain == {
        "cn": False,  # restricted: 100 under both methods, with evidence
        "half": half_is_plain,  # 50 crosses only under ">="
        "over": False,
        "band": False,
        "self": False,  # faulty: its facts carry the fault
        "plain": True,
        "none": True,
        "where": True,
        "unknown": False,
    }


def test_members_are_grouped_by_their_shared_facts_in_batch_order() -> None:
    plan, ids = _plan(">")
    batch = ["where", "none", "plain", "half"]
    rows = np.array([ids.index(e) for e in batch])
    grouped = plan.groups(batch, rows, np.arange(4), rounded=False)
    assert grouped.keys == [
        ("company", "SG", "DE"),
        ("company", "DE", None),
        ("person", "SG", None),
        ("company", "SG", None),
    ]
    assert [positions for positions, _ in grouped.groups] == [[0], [1], [2], [3]]
    assert grouped.groups[2][1] == [["plain", "P", 10.0, 10.0, 10.0, 10.0]]
    # Members of one group keep batch order, whatever their rows.
    two = ["half", "none", "where"]
    again = plan.groups(two * 2, np.array([ids.index(e) for e in two * 2]), np.arange(6),
                        rounded=False)  # fmt: skip
    assert [positions for positions, _ in again.groups] == [[0, 3], [1, 4], [2, 5]]


def test_a_faulty_entity_is_never_a_member_even_below_every_threshold() -> None:
    """At a threshold of 100 no bound crosses, not even the 100 of an entity whose data fault
    made its status unknown: it must still be sent whole, with its fault."""
    registry = parse_registry({"entities": _ENTITIES, "ownership": _OWNERSHIP}, "plan")
    facts = compute_facts(registry, offline_view(threshold=100), mode="review")
    assert "self" in facts.faults
    ids = list(registry.entities)
    plain = dict(zip(ids, MemberPlan(facts).plain(np.arange(len(ids))).tolist(), strict=True))
    assert plain["self"] is False
    assert plain["over"] is True and plain["unknown"] is True  # nothing else stops them


def test_a_plan_refuses_facts_whose_index_is_not_in_registry_order() -> None:
    """Rows are index positions read as registry positions: facts indexed otherwise would
    give each entity another's group, name and bounds."""
    registry = parse_registry({"entities": _ENTITIES, "ownership": _OWNERSHIP}, "plan")
    facts = compute_facts(registry, offline_view(), mode="review")
    ids = list(registry.entities)
    shuffled = RegistryFacts(
        registry,
        facts.result,
        facts.threshold,
        [f for found in facts.faults.values() for f in found],
        {entity_id: len(ids) - 1 - i for i, entity_id in enumerate(ids)},
    )
    with pytest.raises(ValueError, match="registry's order"):
        MemberPlan(shuffled)


def test_members_as_columns_are_the_members_of_seven() -> None:
    """Column i of a group is its member i of seven: bounds as sent (a share of 17 digits
    rounded outward), the exact bounds beside only where rounding changed them; groups and
    member order as without columns."""
    third = 100 / 3  # prints with 17 digits: sent rounded
    registry = parse_registry(
        {
            "entities": [
                {"id": "cn", "type": "company", "jurisdiction": "CN"},
                {"id": "banded", "type": "company", "jurisdiction": "SG"},
                {"id": "zero", "type": "company", "jurisdiction": "SG", "name": "Z"},
                {"id": "long", "type": "company", "jurisdiction": "SG"},
                {"id": "de", "type": "company", "jurisdiction": "DE"},
            ],
            "ownership": [
                {"owner": "cn", "owned": "banded", "percent": {"min": 10, "max": 20}},
                {"owner": "cn", "owned": "long", "percent": third},
            ],
        },
        "columns",
    )
    plan = MemberPlan(compute_facts(registry, offline_view()))
    batch = ["banded", "zero", "de", "long"]
    rows = np.array([list(registry.entities).index(e) for e in batch])
    grouped = plan.groups(batch, rows, np.arange(4), rounded=True, columns=True)
    seven = plan.groups(batch, rows, np.arange(4), rounded=True)
    assert grouped.keys == seven.keys == [("company", "SG", None), ("company", "DE", None)]
    assert grouped.groups == seven.groups
    for group, rows_of_seven in zip(grouped.sent, seven.sent, strict=True):
        assert group["members"] == []
        c = group["columns"]
        as_rows = [list(member) for member in zip(
            c["ids"], c["names"], c["control_min"], c["control_max"], c["look_through_min"],
            c["look_through_max"], c["exact"], strict=True)]  # fmt: skip
        assert as_rows == rows_of_seven["members"]
    sg = grouped.sent[0]["columns"]
    assert sg["ids"] == ["banded", "zero", "long"] and sg["names"] == [None, "Z", None]
    assert sg["control_min"][0] == 10.0 and sg["control_max"][0] == 20.0
    assert sg["exact"][:2] == [None, None]
    assert sg["exact"][2] == [third, third, third, third]
    assert sg["control_min"][2] < third < sg["control_max"][2]
    empty = plan.groups(batch, rows, np.arange(0), rounded=True, columns=True)
    assert empty == MemberGroups([], [], [])

"""The batch form (policy/batch.py, data.stakegate.batch.decisions) decides as main.decisions.

The engine screens with the batch form, which sends clear, quiet entities compactly in groups.
Every test here decides the same facts both ways on a real OPA, one entity at a time
(``main.decisions``, whose raw answers test_policy_answers.py freezes) and in the batch form,
and expects the same decisions: on random registries with names, exceptions, faults, bands and
restricted owners under several policies, and on the 30k synthetic register. The reading of an
answer is also tried against answers that do not account for every entity.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stakegate.errors import PolicyEvaluationError
from stakegate.ownership.interval import outward
from stakegate.policy.batch import BatchRequest, batch_request, expand_answer
from stakegate.policy.client import PolicyClient
from stakegate.policy.decision import Decision
from stakegate.policy.members import MemberGroups, MemberPlan
from stakegate.policy.pipeline import DECISIONS, Connection, Pipeline, Query
from stakegate.policy.runtime import LocalOpa
from stakegate.policy.schemas import validator
from stakegate.registry.load import load_registry, parse_registry
from stakegate.registry.model import Registry

from .conftest import offline_view

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 30)
_HEAD = offline_view().input_head(AS_OF)
CODES = ["CN", "RU", "SG", "DE", "GB", "gb-eng", "XX", None]
# Policies the batch form must agree under: the shipped one, one with an exception, one that
# turns the shortcuts off (">="), and one under look-through at a lower threshold.
POLICIES: list[dict[str, Any]] = [
    {},
    {
        "exceptions": [
            {"entity": "e1", "reason": "licence", "approver": "legal", "expires": "2027-01-01"}
        ]
    },  # fmt: skip
    {"threshold_comparison": ">="},
    {"method": "look_through", "ownership_threshold": 25},
    # A threshold of 17 digits and no tolerance: rounded bounds just below it are not quiet,
    # and those members are decided on their exact bounds (batch.facts).
    {"ownership_threshold": 33.333333333333336, "percent_tolerance": 0},
]
# Shares whose bounds print with 16 or 17 digits, which the engine sends rounded.
LONG_SHARES = [100 / 3, 200 / 3, 100 / 7, 33.33333333333333, 14.285714285714286]


def _both_ways(server: LocalOpa, registry: Registry, faults: str = "error") -> BatchRequest:
    """Decide ``registry`` one by one and in the batch form; the decisions must be equal."""
    client = PolicyClient(server.url)
    try:
        connection = Connection(client, server.revision)
        pipeline = Pipeline(connection.view, registry, AS_OF, data_faults=faults)  # type: ignore[arg-type]
        ids = list(registry.entities)
        one_by_one = Query(DECISIONS, pipeline.body(pipeline.encoded(ids)), ids)
        batched = pipeline.query(ids)
        assert batched.batch is not None
        # The body is the input the facts schema describes (restricted groups included).
        validator("facts").validate(orjson.loads(batched.body)["input"])
        expected = pipeline.verify(client.query(one_by_one.entrypoint, one_by_one.body), one_by_one)
        got = pipeline.verify(client.query(batched.entrypoint, batched.body), batched)
    finally:
        client.close()
    assert got == expected
    return batched.batch


@st.composite
def registries(draw: st.DrawFn) -> dict[str, Any]:
    """Up to 9 entities, some named, some sharing facts, with random holdings (shares, bands,
    consolidations) that may cross the threshold, form cycles or be faulty."""
    n = draw(st.integers(1, 9))
    entities = []
    for i in range(n):
        entity: dict[str, Any] = {
            "id": f"e{i}",
            "type": draw(st.sampled_from(["company", "person"])),
        }
        code = draw(st.sampled_from(CODES))
        if code is not None:
            entity["jurisdiction"] = code
        if draw(st.booleans()):
            entity["name"] = f"Entity {i}"
        if draw(st.integers(0, 5)) == 0:
            entity["headquarters"] = draw(st.sampled_from(["CN", "SG"]))
        entities.append(entity)
    ownership = []
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    for owner, owned in draw(st.lists(pairs, max_size=12, unique=True)):
        kind = draw(st.sampled_from(["exact", "band", "consolidation"]))
        record: dict[str, Any] = {"owner": f"e{owner}", "owned": f"e{owned}"}
        if kind == "consolidation":
            record["interest"] = "consolidation"
        else:
            low = draw(st.integers(1, 60) | st.sampled_from(LONG_SHARES))
            high = draw(st.integers(int(low) + 1, 70) | st.just(low)) if kind == "band" else low
            record["percent"] = {"min": low, "max": high} if high > low else low
        ownership.append(record)
    return {"entities": entities, "ownership": ownership}


@pytest.mark.integration
@pytest.mark.parametrize(
    "overrides", POLICIES, ids=["shipped", "exception", "at-least", "lt25", "long-threshold"]
)
def test_batch_form_decides_as_main_decisions(
    opa_with_config: Callable[[dict[str, Any]], LocalOpa], overrides: dict[str, Any]
) -> None:
    server = opa_with_config(overrides)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(doc=registries())
    def check(doc: dict[str, Any]) -> None:
        # Faulty registries (sums over 100%, closed cycles) are screened with faults as review.
        _both_ways(server, parse_registry(doc, "property"), faults="review")

    check()


@pytest.mark.integration
@pytest.mark.slow
def test_batch_form_on_the_synthetic_register(opa_server: LocalOpa, tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "bench"))
    from generate import generate, write_registry

    write_registry(generate(30_000, seed=0), tmp_path / "synthetic.json")
    request = _both_ways(opa_server, load_registry(tmp_path / "synthetic.json"))
    # Every form is used: whole entities, groups, and restricted groups.
    shared = sum(len(members) for _, members in request.restricted)
    assert request.singles and request.groups and shared > 500
    # Plain members go as columns, most look-through bounds rounded (the exact ones beside).
    groups = orjson.loads(request.body)["input"]["groups"]
    assert all(g["members"] == [] for g in groups)
    exact = [e for g in groups for e in g["columns"]["exact"]]
    assert sum(e is not None for e in exact) > len(exact) // 3


@pytest.mark.integration
def test_batch_form_on_the_example(opa_server: LocalOpa) -> None:
    _both_ways(opa_server, load_registry(REPO / "examples" / "registry.yaml"))


# --- rounded bounds ---------------------------------------------------------------------------


def _digits(number: str) -> int:
    """Significant digits of a JSON number as OPA counts them (trailing zeros included)."""
    mantissa = number.lstrip("-").split("e")[0].split("E")[0].replace(".", "")
    return len(mantissa.lstrip("0"))


@settings(max_examples=300)
@given(
    values=st.lists(
        st.floats(min_value=0, max_value=100)
        | st.sampled_from(LONG_SHARES)
        | st.floats(min_value=1e-9, max_value=1e-6)
        | st.sampled_from([1e-7, 0.1, 1.0, 10.0, 100.0, 99.99999999999999, 9.999999999999998]),
        min_size=1,
        max_size=50,
    )
)
def test_bounds_are_sent_rounded_outward_to_15_digits(values: list[float]) -> None:
    """What OPA reads for a rounded bound has at most 15 digits and lies on the safe side of
    what it would read for the exact one (exact decimals); a bound of 15 digits or fewer, or
    below 1e-7, is sent as it is."""
    down = outward(np.array(values)).tolist()
    up = outward(np.array(values), up=True).tolist()
    for value, low, high in zip(values, down, up, strict=True):
        exact = orjson.dumps(value).decode()
        low_text, high_text = orjson.dumps(low).decode(), orjson.dumps(high).decode()
        assert Decimal(low_text) <= Decimal(exact) <= Decimal(high_text)
        if value >= 1e-7:
            assert _digits(low_text) <= 15 and _digits(high_text) <= 15
            # Outward by less than one step of the 15th digit.
            assert abs(Decimal(high_text) - Decimal(low_text)) <= Decimal(exact) * Decimal("2e-14")
        if _digits(exact) <= 15 or value < 1e-7:
            assert low_text == high_text == exact


def test_a_member_is_sent_with_its_exact_bounds_when_rounded() -> None:
    """Members of a register with shares of 16 and 17 digits: what is sent for each is its
    bounds rounded outward (15 digits, on the safe side) and its exact bounds beside them."""
    from stakegate.policy.facts import compute_facts

    third = 100 / 3
    registry = parse_registry(
        {
            "entities": [
                {"id": "cn", "type": "company", "jurisdiction": "CN"},
                {"id": "hold", "type": "company", "jurisdiction": "SG"},
                {"id": "a", "type": "company", "jurisdiction": "SG", "name": "A"},
                {"id": "b", "type": "company", "jurisdiction": "SG"},
            ],
            "ownership": [
                {"owner": "cn", "owned": "hold", "percent": 47},
                {"owner": "hold", "owned": "a", "percent": third},
                {"owner": "cn", "owned": "b", "percent": 20.5},
            ],
        },
        "rounded",
    )
    facts = compute_facts(registry, offline_view())
    plan = MemberPlan(facts)
    ids = ["cn", "hold", "a", "b"]
    rows = np.arange(4)
    assert plan.plain(rows).tolist() == [False, True, True, True]
    grouped = plan.groups(ids, rows, np.arange(1, 4), rounded=True)
    assert grouped.keys == [("company", "SG", None)]
    ((positions, members),) = grouped.groups
    assert positions == [1, 2, 3] and [m[0] for m in members] == ["hold", "a", "b"]
    (group,) = grouped.sent
    assert list(group) == ["members"]  # no points unless asked for
    sent = group["members"]
    assert sent[0] == [*members[0], None] and sent[2] == [*members[2], None]  # short: as they are
    assert sent[1][:2] == ["a", "A"] and sent[1][6] == members[1][2:6]
    low, exact, high = (orjson.dumps(v).decode() for v in (sent[1][4], members[1][4], sent[1][5]))
    assert _digits(exact) > 15 and _digits(low) <= 15 and _digits(high) <= 15
    assert Decimal(low) < Decimal(exact) < Decimal(high)
    unrounded = plan.groups(ids, rows, np.arange(1, 4), rounded=False)
    assert unrounded.sent == [{"members": members}]
    assert plan.groups(ids, rows, np.arange(0), rounded=True) == MemberGroups([], [], [])


# --- reading an answer ----------------------------------------------------------------------

_REGISTRY = parse_registry(
    {
        "entities": [
            {"id": "a", "type": "company", "jurisdiction": "SG"},
            {"id": "b", "type": "company", "jurisdiction": "SG", "name": "Bee"},
            {"id": "c", "type": "company", "jurisdiction": "DE"},
        ],
        "ownership": [],
    },
    "answers",
)
_SHARED = {"decision": "allow", "reasons": [], "policy": {"method": "control", "threshold": 50,
                                                          "comparison": ">"}}  # fmt: skip


def _request() -> BatchRequest:
    from stakegate.policy.facts import compute_facts

    facts = compute_facts(_REGISTRY, offline_view())
    request = batch_request(
        facts, MemberPlan(facts), _HEAD, ["a", "b", "c"], lambda ids: [b"{}" for _ in ids]
    )
    assert request.singles == []
    assert [positions for positions, _ in request.groups] == [[0, 1], [2]]
    return request


def _full(entity: str) -> dict[str, Any]:
    ownership = {"control": {"min": 0.0, "max": 0.0}, "look_through": {"min": 0.0, "max": 0.0}}
    return {**_SHARED, "entity": entity, "ownership": ownership, "decision": "review"}


def _expand(raw: Any) -> list[Decision]:
    # No names given: the only named entity, b, is a member, which carries its name.
    return expand_answer(raw, _request(), "rev", AS_OF.isoformat(), {})


def test_a_good_answer_is_expanded_in_order() -> None:
    decisions = _expand(
        {
            "entities": [],
            "groups": [
                {"decision": _SHARED, "entities": ["b"], "decisions": [_full("a")]},
                {"decision": _SHARED, "entities": ["c"], "decisions": []},
            ],
        }
    )
    assert [(d["entity"], d["decision"]) for d in decisions] == [
        ("a", "review"),
        ("b", "allow"),
        ("c", "allow"),
    ]
    assert decisions[1]["name"] == "Bee"
    assert decisions[1]["ownership"] == {"control": {"min": 0.0, "max": 0.0},
                                         "look_through": {"min": 0.0, "max": 0.0}}  # fmt: skip
    # Nothing mutable is shared between two members' decisions.
    assert decisions[1]["policy"] is not decisions[2]["policy"]
    assert decisions[1]["reasons"] is not decisions[2]["reasons"]


def test_a_member_decided_whole_keeps_its_name() -> None:
    decisions = _expand(
        {
            "entities": [],
            "groups": [
                {"decision": _SHARED, "entities": ["a"], "decisions": [_full("b")]},
                {"decision": _SHARED, "entities": ["c"], "decisions": []},
            ],
        }
    )
    assert [(d["entity"], d.get("name")) for d in decisions] == [
        ("a", None),
        ("b", "Bee"),
        ("c", None),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"entities": [], "groups": []},
        {"entities": [_full("x")], "groups": [{}, {}]},
        # A member left out, listed twice, or out of order.
        {"entities": [], "groups": [
            {"decision": _SHARED, "entities": ["a"], "decisions": []},
            {"decision": _SHARED, "entities": ["c"], "decisions": []}]},
        {"entities": [], "groups": [
            {"decision": _SHARED, "entities": ["a", "a"], "decisions": []},
            {"decision": _SHARED, "entities": ["c"], "decisions": []}]},
        {"entities": [], "groups": [
            {"decision": _SHARED, "entities": ["b", "a"], "decisions": []},
            {"decision": _SHARED, "entities": ["c"], "decisions": []}]},
        # A full decision for another entity, and a shared "decision" that names one.
        {"entities": [], "groups": [
            {"decision": _SHARED, "entities": ["b"], "decisions": [_full("c")]},
            {"decision": _SHARED, "entities": ["c"], "decisions": []}]},
        {"entities": [], "groups": [
            {"decision": {**_SHARED, "entity": "a"}, "entities": ["a", "b"], "decisions": []},
            {"decision": _SHARED, "entities": ["c"], "decisions": []}]},
        # No shared decision for listed members; a shared one that is not a decision.
        {"entities": [], "groups": [
            {"decision": None, "entities": ["a", "b"], "decisions": []},
            {"decision": _SHARED, "entities": ["c"], "decisions": []}]},
        {"entities": [], "groups": [
            {"decision": {**_SHARED, "decision": "maybe"}, "entities": ["a", "b"], "decisions": []},
            {"decision": _SHARED, "entities": ["c"], "decisions": []}]},
    ],
)  # fmt: skip
def test_an_answer_that_does_not_account_for_every_entity_is_refused(raw: Any) -> None:
    with pytest.raises(PolicyEvaluationError):
        _expand(raw)


def _restricted_request() -> BatchRequest:
    from stakegate.policy.facts import compute_facts

    registry = parse_registry(
        {"entities": [{"id": "r", "type": "company", "jurisdiction": "CN"}], "ownership": []},
        "answers",
    )
    facts = compute_facts(registry, offline_view())
    request = batch_request(
        facts, MemberPlan(facts), _HEAD, ["r"], lambda ids: [b"{}" for _ in ids], restricted=True
    )
    assert request.restricted == [([0], [["r", None, 100.0, 100.0, 100.0, 100.0]])]
    return request


_DENY = {
    "decision": "deny",
    "reasons": [{"code": "restricted_jurisdiction", "field": "jurisdiction", "region": "CN",
                 "severity": "deny", "value": "CN"}],
    "policy": _SHARED["policy"],
}  # fmt: skip


def test_a_restricted_group_shares_a_decision_with_reasons() -> None:
    (decision,) = expand_answer(
        {"entities": [], "groups": [],
         "restricted": [{"decision": _DENY, "entities": ["r"], "decisions": []}]},
        _restricted_request(), "rev", AS_OF.isoformat(), {},
    )  # fmt: skip
    assert decision["entity"] == "r" and decision["reasons"] == _DENY["reasons"]
    assert decision["ownership"] == {"control": {"max": 100.0, "min": 100.0},
                                     "look_through": {"max": 100.0, "min": 100.0}}  # fmt: skip


@pytest.mark.parametrize(
    "raw",
    [
        # A policy that ignores restricted groups (built before them) answers none.
        {"entities": [], "groups": []},
        {"entities": [], "groups": [], "restricted": []},
        {"entities": [], "groups": [], "restricted": {}},
        {"entities": [], "groups": [], "restricted": [
            {"decision": _DENY, "entities": [], "decisions": []}]},
        {"entities": [], "groups": [], "restricted": [
            {"decision": {**_DENY, "reasons": "none"}, "entities": ["r"], "decisions": []}]},
        {"entities": [], "groups": [], "restricted": [], "more": []},
    ],
)  # fmt: skip
def test_an_answer_without_the_restricted_groups_is_refused(raw: Any) -> None:
    with pytest.raises(PolicyEvaluationError):
        expand_answer(raw, _restricted_request(), "rev", AS_OF.isoformat(), {})


@pytest.mark.integration
def test_a_policy_built_before_the_batch_form_is_asked_entity_by_entity(
    opa_server: LocalOpa,
) -> None:
    """A bundle built before the batch form (fixtures/bundles) has no batch_form in its view:
    the engine asks it main.decisions, and it decides the example as the current policy."""
    from stakegate.bundles.trust import Trust
    from stakegate.policy.pipeline import connect, screen

    bundle = REPO / "tests" / "fixtures" / "bundles" / "before-regimes-2.0.0.tar.gz"
    key = REPO / "tests" / "keys" / "stakegate-test-only.pub.pem"
    trust = Trust(public_key=key)
    registry = load_registry(REPO / "examples" / "registry.yaml")
    with connect(bundle, trust=trust, as_of=AS_OF) as connection:
        assert connection.view.batch_form is False
        query = Pipeline(connection.view, registry, AS_OF).query(list(registry.entities))
        assert (query.entrypoint, query.batch) == (DECISIONS, None)
    old = screen(registry, policy=bundle, trust=trust, as_of=AS_OF)
    new = screen(registry, opa_url=opa_server.url, as_of=AS_OF)
    assert [(d["entity"], d["decision"], d["reasons"]) for d in old] == [
        (d["entity"], d["decision"], d["reasons"]) for d in new
    ]

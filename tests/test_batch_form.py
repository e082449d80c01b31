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
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stakegate.errors import PolicyEvaluationError
from stakegate.policy.batch import BatchRequest, batch_request, expand_answer
from stakegate.policy.client import PolicyClient
from stakegate.policy.decision import Decision
from stakegate.policy.pipeline import DECISIONS, Connection, Pipeline, Query
from stakegate.policy.runtime import LocalOpa
from stakegate.policy.schemas import validator
from stakegate.registry.load import load_registry, parse_registry
from stakegate.registry.model import Registry

from .conftest import offline_view

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 30)
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
]


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
            low = draw(st.integers(1, 60))
            high = draw(st.integers(low, 70)) if kind == "band" else low
            record["percent"] = {"min": low, "max": high} if high > low else low
        ownership.append(record)
    return {"entities": entities, "ownership": ownership}


@pytest.mark.integration
@pytest.mark.parametrize("overrides", POLICIES, ids=["shipped", "exception", "at-least", "lt25"])
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


@pytest.mark.integration
def test_batch_form_on_the_example(opa_server: LocalOpa) -> None:
    _both_ways(opa_server, load_registry(REPO / "examples" / "registry.yaml"))


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
    request = batch_request(facts, AS_OF, ["a", "b", "c"], lambda ids: [b"{}" for _ in ids])
    assert request.singles == []
    assert [positions for positions, _ in request.groups] == [[0, 1], [2]]
    return request


def _full(entity: str) -> dict[str, Any]:
    ownership = {"control": {"min": 0.0, "max": 0.0}, "look_through": {"min": 0.0, "max": 0.0}}
    return {**_SHARED, "entity": entity, "ownership": ownership, "decision": "review"}


def _expand(raw: Any) -> list[Decision]:
    return expand_answer(raw, _request(), "rev", AS_OF.isoformat(), {"b": "Bee"})


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
    request = batch_request(facts, AS_OF, ["r"], lambda ids: [b"{}" for _ in ids], restricted=True)
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

"""Facts and decisions are validated fast (fastjsonschema) and worded fully (jsonschema)."""

from __future__ import annotations

from typing import Any

import pytest

from stakegate.errors import FactsValidationError
from stakegate.policy.schemas import validate

SHARE = {
    "min": 0.0, "max": 0.0, "min_exclusive": False, "max_exclusive": False,
    "paths": [], "evidence": [],
}  # fmt: skip


def facts(**entity: Any) -> dict[str, Any]:
    doc = {"id": "a", "type": "company", "ownership": {"control": SHARE, "look_through": SHARE}}
    doc.update(entity)
    return {"as_of": "2026-11-27", "entities": [doc]}


def test_valid_facts_pass():
    validate("facts", facts(), "facts")
    fault = {"kind": "self_ownership", "records": ["ownership[0] (a -> a)"], "message": "m"}
    validate("facts", facts(faults=[fault]), "facts")


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (facts(id=""), "entities/0/id"),
        (facts(type="firm"), "entities/0/type"),
        (facts(extra=1), "entities/0"),
        (facts(ownership={"control": {**SHARE, "min": 101}, "look_through": SHARE}), "min"),
        (facts(faults=[{"kind": "typo", "records": ["r"], "message": "m"}]), "kind"),
        ({"as_of": "2026-13-01", "entities": []}, "as_of"),
    ],
)
def test_invalid_facts_are_errors_with_every_violation_named(doc: dict[str, Any], words: str):
    with pytest.raises(FactsValidationError) as caught:
        validate("facts", doc, "facts document")
    assert "facts document fails schema 'facts'" in str(caught.value)
    assert any(words in e for e in caught.value.errors)


# --- The fast paths accept nothing the schema rejects ----------------------------------------
# schemas._plain_entity and decision._plain_decision stand in for the compiled schema on the
# common documents; if either accepted a document the schema rejects, bad facts could reach OPA
# or a bad answer could be returned. Mutate valid documents at random and check the implication.

import json  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from stakegate.policy.decision import _plain_decision  # noqa: E402
from stakegate.policy.schemas import _plain_entity  # noqa: E402

_JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 150),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "a", "CN", "company", "deny", "control", ">", "x y"]),
    st.just([]),
    st.just({}),
    st.just([["a", "b"]]),
)


def _share() -> dict:
    return {
        "min": 0.0,
        "max": 0.0,
        "min_exclusive": False,
        "max_exclusive": False,
        "paths": [],
        "evidence": [],
    }


def _mutate(doc: dict, path: list[str], value: object, drop: bool) -> dict:
    """A deep copy of ``doc`` with the key at ``path`` replaced by ``value`` (or removed)."""
    copy = json.loads(json.dumps(doc))
    node = copy
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):  # an earlier mutation replaced the parent
        return copy
    if drop:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return copy


_ENTITY = {
    "id": "e1",
    "type": "company",
    "name": "Example",
    "jurisdiction": "SG",
    "ownership": {"control": _share(), "look_through": _share()},
}
_ENTITY_PATHS = [["id"], ["type"], ["name"], ["jurisdiction"], ["headquarters"], ["extra"]]
_ENTITY_PATHS += [["ownership", m, k] for m in ("control", "look_through") for k in _share()]
_ENTITY_PATHS += [["ownership", "other"], ["ownership", "control"]]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_ENTITY_PATHS), _JSON_VALUES, st.booleans()), max_size=3))
def test_plain_entity_accepts_only_what_the_schema_accepts(mutations):
    entity = _ENTITY
    for path, value, drop in mutations:
        entity = _mutate(entity, path, value, drop)
    if _plain_entity(entity):
        validate("facts", {"as_of": "2026-11-27", "entities": [entity]}, "facts")


_DECISION = {
    "entity": "e1",
    "decision": "allow",
    "reasons": [],
    "ownership": {"control": {"min": 0.0, "max": 0.0}, "look_through": {"min": 0.0, "max": 0.0}},
    "policy": {"revision": "r", "method": "control", "threshold": 50, "comparison": ">"},
    "as_of": "2026-11-30",
}
_DECISION_PATHS = [["entity"], ["decision"], ["reasons"], ["extra"], ["ownership", "other"]]
_DECISION_PATHS += [["as_of"], ["name"]]
_DECISION_PATHS += [
    ["ownership", m, k] for m in ("control", "look_through") for k in ("min", "max")
]
_DECISION_PATHS += [["policy", k] for k in ("revision", "method", "threshold", "comparison", "x")]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(_DECISION_PATHS), _JSON_VALUES, st.booleans()), max_size=3)
)
def test_plain_decision_accepts_only_what_the_schema_accepts(mutations):
    decision = _DECISION
    for path, value, drop in mutations:
        decision = _mutate(decision, path, value, drop)
    if _plain_decision(decision):
        try:
            validate("decision", decision, "decision")
        except FactsValidationError as err:  # pragma: no cover - the failure being tested for
            raise AssertionError(f"fast path accepted a schema-invalid decision: {err}") from err


_POOL = [None, True, False, 0, 1, -1, 50, 100, 101, 0.5, -0.5, 100.5, float("nan"), float("inf")]
_POOL += ["", " ", "a", "CN", "company", "person", "deny", "allow", "control", ">", "x y"]
_POOL += ["2026-11-30", "2026-13-01", "2026-11-30\n", "20261130"]
_POOL += [[], {}, [["a", "b"]], {"min": 0.0}]


def _single_mutations(doc: dict, paths: list[list[str]]):
    for path in paths:
        yield _mutate(doc, path, None, True)
        for value in _POOL:
            yield _mutate(doc, path, value, False)


def test_plain_entity_single_mutations_exhaustively():
    checked = 0
    for entity in _single_mutations(_ENTITY, _ENTITY_PATHS):
        if _plain_entity(entity):
            validate("facts", {"as_of": "2026-11-27", "entities": [entity]}, "facts")
            checked += 1
    assert checked > 10  # the fast path does take the common documents


def test_plain_decision_single_mutations_exhaustively():
    checked = 0
    for decision in _single_mutations(_DECISION, _DECISION_PATHS):
        if _plain_decision(decision):
            try:
                validate("decision", decision, "decision")
            except FactsValidationError as err:  # pragma: no cover
                raise AssertionError(f"fast path accepted {decision}: {err}") from err
            checked += 1
    assert checked > 10

"""Facts and decisions are validated fast (fastjsonschema) and worded fully (jsonschema)."""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stakegate.errors import FactsValidationError
from stakegate.policy.schemas import validate, validator
from stakegate.registry.load import load_registry

from .conftest import FIXTURES, REPO, offline_view

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


# --- The fast path accepts nothing the schema rejects -----------------------------------------
# decision._plain_decision stands in for the compiled schema on the common decision; if it
# accepted a document the schema rejects, a bad answer could be returned. Mutate valid documents
# at random and check the implication. (Facts: see the encoded-facts tests at the end.)

import json  # noqa: E402

from stakegate.policy.decision import _plain_decision  # noqa: E402

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


# A deny with two reasons, as OPA writes them: the checked-in-parts path (_with_valid_reasons).
_REASONED = {
    **_DECISION,
    "decision": "deny",
    "reasons": [
        {"code": "restricted_jurisdiction", "severity": "deny", "field": "jurisdiction",
         "value": "CN", "region": "CN"},
        {"code": "restricted_ownership", "severity": "deny", "method": "control",
         "restricted_percent": {"min": 60.0, "max": 60.0, "min_exclusive": False,
                                "max_exclusive": False},
         "paths": [["a", "e1"]],
         "evidence": [{"path": ["a", "e1"], "edges": [{"min": 60.0, "max": 60.0}],
                       "contribution": {"min": 60.0, "max": 60.0}}]},
    ],
}  # fmt: skip
_REASON_PATHS = [
    ["reasons", "0", k] for k in ("code", "severity", "field", "value", "region", "extra")
] + [
    ["reasons", "1", k] for k in ("code", "severity", "method", "restricted_percent", "paths",
                                  "evidence", "extra")
]  # fmt: skip


def _mutate_reason(doc: dict, path: list[str], value: object, drop: bool) -> dict:
    copy = json.loads(json.dumps(doc))
    reason = copy["reasons"][int(path[1])]
    if drop:
        reason.pop(path[2], None)
    else:
        reason[path[2]] = value
    return copy


def test_reasons_checked_in_parts_accept_only_what_the_schema_accepts():
    from stakegate.policy.decision import _with_valid_reasons

    assert _with_valid_reasons(json.loads(json.dumps(_REASONED)))
    checked = refused = 0
    candidates = [*_single_mutations(_REASONED, _DECISION_PATHS[1:])]
    candidates += [
        _mutate_reason(_REASONED, path, value, drop)
        for path in _REASON_PATHS
        for value, drop in [(None, True), *((v, False) for v in _POOL)]
    ]
    for decision in candidates:
        # Twice: the second answer comes from the remembered reasons.
        first, second = _with_valid_reasons(decision), _with_valid_reasons(decision)
        assert first == second
        if first:
            try:
                validate("decision", decision, "decision")
            except FactsValidationError as err:  # pragma: no cover
                raise AssertionError(f"checked in parts, accepted {decision}: {err}") from err
            checked += 1
        else:
            refused += 1
    assert checked > 10 and refused > 100


_POOL = [None, True, False, 0, 1, -1, 50, 100, 101, 0.5, -0.5, 100.5, float("nan"), float("inf")]
_POOL += ["", " ", "a", "CN", "company", "person", "deny", "allow", "control", ">", "x y"]
_POOL += ["2026-11-30", "2026-13-01", "2026-11-30\n", "20261130"]
_POOL += [[], {}, [["a", "b"]], {"min": 0.0}]


def _single_mutations(doc: dict, paths: list[list[str]]):
    for path in paths:
        yield _mutate(doc, path, None, True)
        for value in _POOL:
            yield _mutate(doc, path, value, False)


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


# --- the encoded facts: checked as they are built, and what the schema accepts -------------


def _encoded_documents(registry, view, data_faults="error"):
    from stakegate.policy.pipeline import Pipeline

    pipeline = Pipeline(view, registry, date(2026, 11, 30), data_faults=data_faults)
    ids = list(registry.entities)
    return [orjson.loads(body) for body in pipeline.encoded(ids)]


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=20, max_value=400))
def test_encoded_facts_are_what_the_schema_accepts(seed: int, size: int):
    """Entities encoded without the schema (no faults, no evidence) and the rest (through it)
    all validate with jsonschema, the reference."""
    sys.path.insert(0, str(REPO / "bench"))
    from generate import generate, write_registry

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.json"
        write_registry(generate(size, seed), path)
        registry = load_registry(path)
    restricted = {"CN": "CN", "RU": "RU", "KP": "KP", "IR": "IR", "RU-MOW": "RU"}
    for comparison in (">", ">="):
        docs = _encoded_documents(registry, offline_view(restricted, comparison=comparison))
        errors = list(validator("facts").iter_errors({"as_of": "2026-11-30", "entities": docs}))
        assert errors == [], errors[:3]
        assert [d["id"] for d in docs] == list(registry.entities)


def test_faulty_entities_are_encoded_through_the_schema():
    registry = load_registry(FIXTURES / "faults" / "faulty.yaml")
    docs = _encoded_documents(registry, offline_view(), data_faults="review")
    assert any("faults" in d for d in docs)
    assert list(validator("facts").iter_errors({"as_of": "2026-11-30", "entities": docs})) == []


@pytest.fixture(scope="module")
def served_view(opa_server):
    """The shipped policy's view as OPA serves it: with its regimes (offline views have none)."""
    from stakegate.policy.pipeline import connect

    with connect(opa_url=opa_server.url) as connection:
        yield connection.view


@pytest.mark.integration
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=20, max_value=300),
    st.sampled_from([0.0, 0.03, 0.3]),
    st.sampled_from(["error", "review"]),
)
def test_side_by_side_facts_are_what_the_schema_accepts(
    served_view, seed: int, size: int, designated: float, data_faults: str
):
    """Side-by-side facts (every regime's, with designations) are built without the schema;
    jsonschema, the reference, accepts every one of them."""
    from stakegate.errors import DataFaultError
    from stakegate.policy.pipeline import Pipeline

    sys.path.insert(0, str(REPO / "bench"))
    from generate import generate, write_registry

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.json"
        write_registry(generate(size, seed, designations=designated), path)
        registry = load_registry(path)
    try:
        pipeline = Pipeline(
            served_view, registry, date(2026, 11, 30), data_faults=data_faults, regimes=["all"]
        )
    except DataFaultError:
        return  # a generated cycle, refused in error mode: nothing is encoded
    docs = [orjson.loads(body) for body in pipeline.encoded(list(registry.entities))]
    assert all("regimes" in d for d in docs)
    errors = list(validator("facts").iter_errors({"as_of": "2026-11-30", "entities": docs}))
    assert errors == [], errors[:3]

"""Decisions under several regimes at once (``--regimes``): the query and the checks of its answer.

OPA's ``data.stakegate.side_by_side.decisions`` answers ``{"policies": {regime: policy summary},
"decisions": [...]}``: per entity, the combined decision with each regime's own under
``regimes`` as ``{decision, reasons, ownership}`` (the entity and the regime's policy summary,
the same for every entity, come once per answer). The engine makes each regime's decision a full
decision object on its own: the entity, the policy summary of ``policies`` and its revision, the
date and the entity's name. The answer is accepted only as one decision per entity, in order,
each with exactly the regimes asked, every one of them (and the combined one) valid against
``schemas/decision.schema.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from stakegate.errors import FactsValidationError, PolicyEvaluationError
from stakegate.policy.decision import _OUTCOMES, Decision, _plain_decision, _plain_range
from stakegate.policy.schemas import validate

__all__ = ["SIDE_BY_SIDE", "side_by_side_body", "verify_side_by_side"]

# The entrypoint that decides a batch under several regimes.
SIDE_BY_SIDE = "stakegate.side_by_side.decisions"
# A regime's decision in OPA's answer, before the engine completes it.
_LEAN_KEYS = frozenset({"decision", "reasons", "ownership"})
_METHODS = frozenset({"control", "look_through"})


def side_by_side_body(head: bytes, regimes: Sequence[str], entities: Iterable[bytes]) -> bytes:
    """The side-by-side query's body for entities already encoded as JSON; ``head`` opens the
    input (``PolicyView.input_head``)."""
    return b"".join(
        (
            head,
            b',"regimes":',
            orjson.dumps(list(regimes)),
            b',"entities":[',
            b",".join(entities),
            b"]}}",
        )
    )


def _engine_fields(doc: dict[str, Any], revision: str, as_of: str, name: str | None) -> None:
    if "as_of" in doc or "name" in doc:
        raise PolicyEvaluationError(f"decision for {doc.get('entity')!r} has engine-only fields")
    policy = doc.get("policy")
    if isinstance(policy, dict):
        policy["revision"] = revision
    doc["as_of"] = as_of
    if name is not None:
        doc["name"] = name


def _check(doc: dict[str, Any], what: str) -> None:
    try:
        validate("decision", doc, what)
    except FactsValidationError as err:
        raise PolicyEvaluationError(str(err)) from err


def _plain_lean(lean: dict[str, Any]) -> bool:
    """A regime's decision without reasons that the schema accepts once completed (its policy
    summary, the same for every decision, was checked once)."""
    outcome, reasons, ownership = lean["decision"], lean["reasons"], lean["ownership"]
    return (
        type(outcome) is str
        and outcome in _OUTCOMES
        and type(reasons) is list
        and not reasons
        and type(ownership) is dict
        and ownership.keys() == _METHODS
        and _plain_range(ownership["control"])
        and _plain_range(ownership["look_through"])
    )


def verify_side_by_side(
    answer: Any,
    entity_ids: Sequence[str],
    regimes: Sequence[str],
    revision: str,
    as_of: str,
    names: Mapping[str, str] | None = None,
) -> list[Decision]:
    """Check OPA's side-by-side answer against the request and the schema, and complete it."""
    asked = list(regimes)
    if not isinstance(answer, dict) or not isinstance(answer.get("decisions"), list):
        raise PolicyEvaluationError(f"side-by-side answer is malformed: {str(answer)[:200]}")
    policies = answer.get("policies")
    if not isinstance(policies, dict) or set(policies) != set(asked):
        raise PolicyEvaluationError(f"side-by-side answer does not name the regimes {asked}")
    # Each regime's policy summary, checked once here (a decision gets a copy).
    summaries: dict[str, dict[str, Any]] = {}
    for regime in asked:
        summary = policies[regime]
        if not isinstance(summary, dict) or summary.get("regime") != regime:
            raise PolicyEvaluationError(f"regime {regime!r}: policy summary names another regime")
        summaries[regime] = {**summary, "revision": revision}
        probe = {
            "entity": "-",
            "decision": "allow",
            "reasons": [],
            "ownership": {"control": {"min": 0, "max": 0}, "look_through": {"min": 0, "max": 0}},
            "policy": summaries[regime],
            "as_of": as_of,
        }
        if not _plain_decision(probe, regime=True):
            _check(probe, f"regime {regime!r}: policy summary")
    raw = answer["decisions"]
    if len(raw) != len(entity_ids):
        raise PolicyEvaluationError(
            f"policy returned {len(raw)} decisions for {len(entity_ids)} entities"
        )
    named = names or {}
    verified: list[Decision] = []
    for index, (doc, entity_id) in enumerate(zip(raw, entity_ids, strict=True)):
        if not isinstance(doc, dict) or doc.get("entity") != entity_id:
            got = doc.get("entity") if isinstance(doc, dict) else doc
            raise PolicyEvaluationError(
                f"decision {index} is for {got!r}, expected entity {entity_id!r}"
            )
        per = doc.get("regimes")
        if not isinstance(per, dict) or set(per) != set(asked):
            raise PolicyEvaluationError(
                f"decision for {entity_id!r} does not have the regimes asked ({asked})"
            )
        name = named.get(entity_id)
        full: dict[str, Any] = {}
        for regime in asked:
            lean = per[regime]
            if not isinstance(lean, dict) or lean.keys() != _LEAN_KEYS:
                raise PolicyEvaluationError(
                    f"regime {regime!r} decision for {entity_id!r} is malformed: {str(lean)[:200]}"
                )
            nested: dict[str, Any] = {
                "entity": entity_id,
                "decision": lean["decision"],
                "reasons": lean["reasons"],
                "ownership": lean["ownership"],
                "policy": dict(summaries[regime]),  # each decision its own (callers change them)
                "as_of": as_of,
            }
            if name is not None:
                nested["name"] = name
            if not _plain_lean(lean):
                _check(nested, f"regime {regime!r} decision for entity {entity_id!r}")
            full[regime] = nested
        doc["regimes"] = full
        _engine_fields(doc, revision, as_of, name)
        top = {key: value for key, value in doc.items() if key != "regimes"}
        if not _plain_decision(top, regime=True):
            _check(top, f"decision for entity {entity_id!r}")
        verified.append(doc)  # type: ignore[arg-type]  # validated against the schema above
    return verified

"""The decision as services and reviewers receive it, and the checks that make it trustworthy.

OPA's answer is only accepted when it has exactly one decision per requested entity, in order,
each valid against ``schemas/decision.schema.json``. Anything else is a
``PolicyEvaluationError``: an incomplete answer is never read as an allow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import orjson

from stakegate.errors import FactsValidationError, PolicyEvaluationError
from stakegate.policy.schemas import is_valid_part, validate

__all__ = ["Decision", "Outcome", "verify_decisions"]


class Outcome(StrEnum):
    """What the policy says about one entity."""

    ALLOW = "allow"
    DENY = "deny"
    REVIEW = "review"


class Bounds(TypedDict):
    min: float
    max: float


class PolicyInfo(TypedDict):
    revision: str
    method: str
    threshold: float
    comparison: str
    regime: NotRequired[str]  # with --regimes: the regime decided under


class Decision(TypedDict):
    """One decision (docs/decisions.md; ``reasons`` entries vary by ``code``). With --regimes,
    ``regimes`` holds each regime's own decision (docs/regimes.md)."""

    entity: str
    name: NotRequired[str]
    decision: str
    reasons: list[dict[str, Any]]
    ownership: dict[str, Bounds]
    policy: PolicyInfo
    as_of: str
    regimes: NotRequired[dict[str, Decision]]


# A decision without reasons (every allow) is checked by ``_plain_decision`` instead of the
# compiled schema. It only accepts decisions the schema accepts: it tests every keyword of the
# schema that applies to such a decision, with stricter types (exact ``str``/``int``/``float``/
# ``dict``/``list``; bounds that also reject NaN). Anything else is left to the schema.
_DECISION_KEYS = frozenset({"entity", "decision", "reasons", "ownership", "policy", "as_of"})
_OUTCOMES = frozenset(str(outcome) for outcome in Outcome)
_METHOD_KEYS = frozenset({"control", "look_through"})
_RANGE_KEYS = frozenset({"min", "max"})
_POLICY_KEYS = frozenset({"revision", "method", "threshold", "comparison"})
_REGIME_POLICY_KEYS = _POLICY_KEYS | {"regime"}
_POLICY_METHODS = frozenset({"control", "look_through", "either"})
_COMPARISONS = frozenset({">", ">="})
_NUMBER = (int, float)
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")


def _plain_range(bounds: Any) -> bool:
    return (
        type(bounds) is dict
        and bounds.keys() == _RANGE_KEYS
        and type(bounds["min"]) in _NUMBER
        and type(bounds["max"]) in _NUMBER
    )


def _plain_decision(doc: dict[str, Any], regime: bool = False, reasons_ok: bool = False) -> bool:
    """True only for a decision without reasons that ``schemas/decision`` accepts (``regime``:
    one made under a regime, whose policy also names it); with ``reasons_ok``, for one whose
    reasons (a list) the schema would accept, the caller checking each reason."""
    keys = doc.keys()
    if not (keys == _DECISION_KEYS or (keys - _DECISION_KEYS == {"name"} and len(keys) == 7)):
        return False
    if type(doc.get("name", "")) is not str or type(doc["as_of"]) is not str:
        return False
    if not _DATE.fullmatch(doc["as_of"]):
        return False
    entity, outcome, reasons = doc["entity"], doc["decision"], doc["reasons"]
    ownership, policy = doc["ownership"], doc["policy"]
    if not (
        type(entity) is str
        and type(outcome) is str
        and outcome in _OUTCOMES
        and type(reasons) is list
        and (reasons_ok or not reasons)
        and type(ownership) is dict
        and ownership.keys() == _METHOD_KEYS
        and _plain_range(ownership["control"])
        and _plain_range(ownership["look_through"])
        and type(policy) is dict
        and policy.keys() == (_REGIME_POLICY_KEYS if regime else _POLICY_KEYS)
    ):
        return False
    if regime and not (type(policy["regime"]) is str and policy["regime"]):
        return False
    revision, method = policy["revision"], policy["method"]
    threshold, comparison = policy["threshold"], policy["comparison"]
    return (
        type(revision) is str
        and len(revision) >= 1
        and type(method) is str
        and method in _POLICY_METHODS
        and type(threshold) in _NUMBER
        and 0 <= threshold <= 100
        and type(comparison) is str
        and comparison in _COMPARISONS
    )


# Reasons found valid, by their canonical JSON: most reasons of a register repeat (a
# restricted jurisdiction, an exception), and checking one costs far more than looking it up.
_VALID_REASONS: set[bytes] = set()
_VALID_REASONS_MAX = 100_000


def _with_valid_reasons(doc: dict[str, Any]) -> bool:
    """A decision the schema accepts, checked in parts: all but its reasons as a plain
    decision's, then each reason against ``$defs/reason`` (remembered once valid)."""
    if not _plain_decision(doc, reasons_ok=True):
        return False
    for reason in doc["reasons"]:
        try:
            key = orjson.dumps(reason, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return False
        if key in _VALID_REASONS:
            continue
        if not is_valid_part("decision", "reason", reason):
            return False
        if len(_VALID_REASONS) >= _VALID_REASONS_MAX:
            _VALID_REASONS.clear()
        _VALID_REASONS.add(key)
    return True


def verify_decisions(
    raw: Sequence[dict[str, Any]],
    entity_ids: Sequence[str],
    revision: str,
    as_of: str,
    names: Mapping[str, str] | None = None,
) -> list[Decision]:
    """Check OPA's answer against the request and the schema; add what the engine knows (the
    policy revision, the date, and the entity's name where the registry gives one)."""
    if len(raw) != len(entity_ids):
        raise PolicyEvaluationError(
            f"policy returned {len(raw)} decisions for {len(entity_ids)} entities"
        )
    verified: list[Decision] = []
    named = names or {}
    for index, (doc, entity_id) in enumerate(zip(raw, entity_ids, strict=True)):
        if not isinstance(doc, dict) or doc.get("entity") != entity_id:
            got = doc.get("entity") if isinstance(doc, dict) else doc
            raise PolicyEvaluationError(
                f"decision {index} is for {got!r}, expected entity {entity_id!r}"
            )
        if "as_of" in doc or "name" in doc:
            raise PolicyEvaluationError(f"decision for {entity_id!r} has engine-only fields")
        policy = doc.get("policy")
        if isinstance(policy, dict):
            policy["revision"] = revision
        doc["as_of"] = as_of
        name = named.get(entity_id)
        if name is not None:
            doc["name"] = name
        if not _plain_decision(doc) and not _with_valid_reasons(doc):
            try:
                validate("decision", doc, f"decision for entity {entity_id!r}")
            except FactsValidationError as err:
                raise PolicyEvaluationError(str(err)) from err
        verified.append(doc)  # type: ignore[arg-type]  # validated against the schema above
    return verified

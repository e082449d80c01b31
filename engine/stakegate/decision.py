"""The decision as services and reviewers receive it, and the checks that make it trustworthy.

OPA's answer is only accepted when it has exactly one decision per requested entity, in order,
each valid against ``schemas/decision.schema.json``. Anything else is a
``PolicyEvaluationError``: an incomplete answer is never read as an allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, TypedDict

from stakegate.exc import FactsValidationError, PolicyEvaluationError
from stakegate.schemas import validate

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


class Decision(TypedDict):
    """One decision, the JSON object of DESIGN.md (``reasons`` entries vary by ``code``)."""

    entity: str
    decision: str
    reasons: list[dict[str, Any]]
    ownership: dict[str, Bounds]
    policy: PolicyInfo


def verify_decisions(
    raw: Sequence[dict[str, Any]], entity_ids: Sequence[str], revision: str
) -> list[Decision]:
    """Check OPA's answer against the request and the schema; add the policy revision."""
    if len(raw) != len(entity_ids):
        raise PolicyEvaluationError(
            f"policy returned {len(raw)} decisions for {len(entity_ids)} entities"
        )
    verified: list[Decision] = []
    for index, (doc, entity_id) in enumerate(zip(raw, entity_ids, strict=True)):
        if not isinstance(doc, dict) or doc.get("entity") != entity_id:
            got = doc.get("entity") if isinstance(doc, dict) else doc
            raise PolicyEvaluationError(
                f"decision {index} is for {got!r}, expected entity {entity_id!r}"
            )
        policy = doc.get("policy")
        if isinstance(policy, dict):
            policy["revision"] = revision
        try:
            validate("decision", doc, f"decision for entity {entity_id!r}")
        except FactsValidationError as err:
            raise PolicyEvaluationError(str(err)) from err
        verified.append(doc)  # type: ignore[arg-type]  # validated against the schema above
    return verified

"""Wire shapes of the decision service, for request validation and the OpenAPI document.

Requests are parsed by pydantic, so a malformed one is a 422 naming the field. Responses are
serialized by hand on the hot path (the decision is already validated against
``schemas/decision.schema.json``); the models below only document them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "BatchResponse",
    "ChangesGoneResponse",
    "ChangesResponse",
    "DecisionRequest",
    "DecisionResponse",
    "ErrorResponse",
    "RegimeDecision",
]

EntityId = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"\S")]


class DecisionRequest(BaseModel):
    """Exactly one form: ``entity``, ``entities``, or ``facts`` (optionally with ``entity``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"entity": "acme-sg"},
                {"entities": ["acme-sg", "acme-uk"]},
                {
                    "facts": {
                        "entities": [
                            {"id": "newco", "type": "company", "jurisdiction": "SG"},
                            {"id": "parent", "type": "company", "jurisdiction": "CN"},
                        ],
                        "ownership": [{"owner": "parent", "owned": "newco", "percent": 60}],
                    }
                },
            ]
        },
    )

    entity: EntityId | None = Field(
        None,
        description="An entity of the loaded registry; with `facts`, the entity of the "
        "fragment to decide (default: its first entity).",
    )
    entities: list[EntityId] | None = Field(
        None, min_length=1, description="Batch form: entities of the loaded registry."
    )
    facts: dict[str, Any] | None = Field(
        None,
        description="A registry fragment (the native registry format): the entity to decide "
        "and its direct and indirect owners, with the ownership between them.",
    )

    @model_validator(mode="after")
    def _one_form(self) -> DecisionRequest:
        if self.entities is not None and (self.entity is not None or self.facts is not None):
            raise ValueError("'entities' cannot be combined with 'entity' or 'facts'")
        if self.entity is None and self.entities is None and self.facts is None:
            raise ValueError("give 'entity', 'entities' or 'facts'")
        return self


class Bounds(BaseModel):
    min: float
    max: float


class RegimeDecision(BaseModel):
    """One regime's own decision, a full decision object (docs/regimes.md)."""

    entity: str
    name: str | None = Field(None, description="The entity's name, when the registry has one.")
    decision: str = Field(description="allow, deny or review under this regime")
    reasons: list[dict[str, Any]]
    ownership: dict[str, Bounds]
    policy: dict[str, Any] = Field(
        description="revision, method, threshold, comparison, and regime (its name)"
    )
    as_of: str


class DecisionResponse(BaseModel):
    """The decision JSON of the design (``schemas/decision.schema.json``) plus its audit id."""

    entity: str
    name: str | None = Field(None, description="The entity's name, when the registry has one.")
    decision: str = Field(description="allow, deny or review")
    reasons: list[dict[str, Any]]
    ownership: dict[str, Bounds]
    policy: dict[str, Any] = Field(description="revision, method, threshold, comparison")
    as_of: str | None = Field(None, description="The date the decision is for (YYYY-MM-DD).")
    regimes: dict[str, RegimeDecision] | None = Field(
        None,
        description="Only when the server decides under several regimes (serve --regimes): "
        "each regime's own decision by name. The decision around them is the most restrictive "
        "(deny > review > allow), with the reasons of the regimes that gave it, each naming "
        "its regime.",
    )
    decision_id: str = Field(description="Identifies this decision's line in the audit log.")


class BatchResponse(BaseModel):
    decisions: list[DecisionResponse]


class ErrorDetail(BaseModel):
    type: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    """Every error: no decision was made (5xx) or the request was wrong (4xx)."""

    error: ErrorDetail


class Change(BaseModel):
    """A decision that changed on a reload (docs/DEPLOYMENT.md, "Changes feed")."""

    seq: int = Field(description="Increasing by one per change; ask again with since=next.")
    entity: str
    before: str | None = Field(description="allow, deny, review; null: new to the registry")
    after: str | None = Field(description="allow, deny, review; null: gone from the registry")
    reasons_after: list[dict[str, Any]] | None = Field(
        description="The reasons of the decision after the reload (null when gone)."
    )
    at: str = Field(description="When the reload was made (UTC).")
    revision: str = Field(description="The policy revision after the reload.")
    as_of: str = Field(description="The date decided for after the reload.")


class ChangesResponse(BaseModel):
    changes: list[Change]
    next: int = Field(description="The seq to ask for next (since=next).")


class ChangesGoneResponse(ErrorResponse):
    """410: the changes asked for fell out of the bounded feed or predate this process."""

    oldest: int = Field(description="The oldest seq the feed still holds.")
    next: int = Field(description="The next seq the feed will issue.")

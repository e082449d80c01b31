"""Turns a registry into the facts document the policy decides on (``schemas/facts.schema.json``).

This is where the policy's parameters meet the data: the regions come from OPA as a
classification of the registry's codes, the threshold from ``data.stakegate.params``, and the
ownership math from ``ownership.py``. Nothing here decides; Rego does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from stakegate import settings
from stakegate.graph import OwnershipGraph, Status
from stakegate.interval import Interval, Threshold
from stakegate.ownership import METHODS, Method, OwnershipResult, compute_ownership
from stakegate.registry import Entity, Registry
from stakegate.schemas import validate

__all__ = ["RegistryFacts", "compute_facts", "jurisdiction_status", "registry_codes"]


def registry_codes(registry: Registry) -> set[str]:
    """Every jurisdiction and headquarters code the registry uses (for one classification)."""
    codes: set[str] = set()
    for entity in registry.entities.values():
        if entity.jurisdiction:
            codes.add(entity.jurisdiction)
        if entity.headquarters:
            codes.add(entity.headquarters)
    return codes


def jurisdiction_status(entity: Entity, classification: Mapping[str, str]) -> Status:
    """RESTRICTED by jurisdiction or headquarters; UNKNOWN without a jurisdiction; else CLEAR."""
    if entity.jurisdiction in classification or entity.headquarters in classification:
        return Status.RESTRICTED
    if not entity.jurisdiction:
        return Status.UNKNOWN
    return Status.CLEAR


class RegistryFacts:
    """Ownership computed once for a whole registry; facts documents built per entity on demand."""

    __slots__ = ("_index", "registry", "result", "threshold")

    def __init__(self, registry: Registry, result: OwnershipResult, threshold: Threshold) -> None:
        self.registry = registry
        self.result = result
        self.threshold = threshold
        self._index = {entity_id: i for i, entity_id in enumerate(registry.entities)}

    def __repr__(self) -> str:
        return f"<RegistryFacts source={self.registry.source!r} entities={len(self._index)}>"

    def _method_facts(self, index: int, method: Method) -> dict[str, Any]:
        share: Interval = self.result.share(index, method)
        doc: dict[str, Any] = share.to_json()
        # Paths are evidence for a reason; only a share whose upper bound crosses the threshold
        # can produce one, so the (costly) path search is skipped for every other entity.
        evidence = (
            self.result.evidence(index, method, settings.MAX_PATHS, settings.MAX_PATH_NODES)
            if self.threshold.upper_crosses(share.max, share.max_exclusive)
            else []
        )
        doc["paths"] = [list(item.path) for item in evidence]
        doc["evidence"] = [item.to_json() for item in evidence]
        return doc

    def entity_facts(self, entity_id: str) -> dict[str, Any]:
        """The facts of one entity, as the policy's input schema describes them."""
        entity = self.registry.entities[entity_id]
        index = self._index[entity_id]
        doc: dict[str, Any] = {"id": entity.id, "type": str(entity.type)}
        for field in ("name", "jurisdiction", "headquarters"):
            value = getattr(entity, field)
            if value is not None:
                doc[field] = value
        doc["ownership"] = {method: self._method_facts(index, method) for method in METHODS}
        return doc

    def input_document(self, entity_ids: Iterable[str], as_of: date) -> dict[str, Any]:
        """The OPA input for a batch of entities, validated against ``schemas/facts``."""
        doc = {
            "as_of": as_of.isoformat(),
            "entities": [self.entity_facts(entity_id) for entity_id in entity_ids],
        }
        validate("facts", doc, "facts document")
        return doc


def compute_facts(
    registry: Registry, classification: Mapping[str, str], threshold: Threshold
) -> RegistryFacts:
    """Compute both ownership methods for every entity of ``registry`` at once."""
    ids = list(registry.entities)
    graph = OwnershipGraph.build(ids, ((h.owner, h.owned, h.share) for h in registry.holdings))
    status = [jurisdiction_status(registry.entities[i], classification) for i in ids]
    return RegistryFacts(registry, compute_ownership(graph, status, threshold), threshold)

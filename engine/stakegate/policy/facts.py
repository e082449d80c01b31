"""Turns a registry into the facts document the policy decides on (``schemas/facts.schema.json``).

This is where the policy meets the data: which codes are restricted, the threshold and the share
of a consolidation holding all come from the policy view (``view.py``, one OPA query), and the
ownership math from ``ownership``. Nothing here decides; Rego does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from stakegate import settings
from stakegate.errors import DataFaultError
from stakegate.ownership.compute import (
    METHODS,
    Method,
    OwnershipResult,
    closed_cycles,
    compute_ownership,
)
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval, Threshold
from stakegate.ownership.per_owner import PerOwnerResult
from stakegate.policy.view import PolicyView
from stakegate.registry.model import DataFault, Registry, pair_shares

__all__ = ["DATA_FAULT_MODES", "DataFaultMode", "RegistryFacts", "compute_facts", "data_faults"]

# ``error``: a registry with data faults stops the run (exit 2) naming every faulty record.
# ``review``: screen on; faulty entities get review (reason data_fault) and count as possibly
# restricted for everything they own.
DataFaultMode = Literal["error", "review"]
DATA_FAULT_MODES: tuple[DataFaultMode, ...] = ("error", "review")


class RegistryFacts:
    """Ownership computed once for a whole registry; facts documents built per entity on demand."""

    __slots__ = ("_index", "faults", "registry", "result", "threshold")

    def __init__(
        self,
        registry: Registry,
        result: OwnershipResult | PerOwnerResult,
        threshold: Threshold,
        faults: Iterable[DataFault] = (),
        index: dict[str, int] | None = None,
    ) -> None:
        self.registry = registry
        self.result = result
        self.threshold = threshold
        # Entity id -> graph index; facts of several regimes of one registry share one.
        self._index = (
            index
            if index is not None
            else {entity_id: i for i, entity_id in enumerate(registry.entities)}
        )
        # Data faults by entity (only when screening with --data-faults review).
        self.faults: dict[str, list[DataFault]] = {}
        for fault in faults:
            self.faults.setdefault(fault.entity, []).append(fault)

    def __repr__(self) -> str:
        return f"<RegistryFacts source={self.registry.source!r} entities={len(self._index)}>"

    def _method_facts(self, index: int, method: Method) -> dict[str, Any]:
        lo, hi, lo_x, hi_x = self.result.bounds(index, method)
        # Paths are evidence for a reason; only a share whose upper bound crosses the threshold
        # can produce one, so the (costly) path search is skipped for every other entity.
        if not self.threshold.upper_crosses(hi, hi_x):
            return {
                "min": lo,
                "max": hi,
                "min_exclusive": lo_x,
                "max_exclusive": hi_x,
                "paths": [],
                "evidence": [],
            }
        evidence = self.result.evidence(index, method, settings.MAX_PATHS, settings.MAX_PATH_NODES)
        return {
            "min": lo,
            "max": hi,
            "min_exclusive": lo_x,
            "max_exclusive": hi_x,
            "paths": [list(item.path) for item in evidence],
            "evidence": [item.to_json() for item in evidence],
        }

    @property
    def index(self) -> dict[str, int]:
        return self._index

    def ownership_facts(self, entity_id: str) -> dict[str, Any]:
        """The ``ownership`` member of one entity's facts (both methods)."""
        index = self._index[entity_id]
        return {method: self._method_facts(index, method) for method in METHODS}

    def entity_facts(self, entity_id: str) -> dict[str, Any]:
        """The facts of one entity, as the policy's input schema describes them."""
        entity = self.registry.entities[entity_id]
        index = self._index[entity_id]
        doc: dict[str, Any] = {"id": entity.id, "type": str(entity.type)}
        if entity.name is not None:
            doc["name"] = entity.name
        if entity.jurisdiction is not None:
            doc["jurisdiction"] = entity.jurisdiction
        if entity.headquarters is not None:
            doc["headquarters"] = entity.headquarters
        faults = self.faults.get(entity_id)
        if faults:
            doc["faults"] = [fault.to_json() for fault in faults]
        method_facts = self._method_facts
        doc["ownership"] = {method: method_facts(index, method) for method in METHODS}
        return doc


def data_faults(
    registry: Registry, graph: OwnershipGraph, status: list[Status], tolerance: float
) -> list[DataFault]:
    """The registry's faults and one ``closed_cycle`` fault per member of every closed cycle.

    A closed cycle through a restricted entity is not a fault: look-through fixes that entity at
    100 and the rest of the cycle solves.
    """
    found = list(registry.faults)
    cycles = closed_cycles(graph, tolerance, status)
    if not cycles:
        return found
    for cycle in cycles:
        members = set(cycle)
        records = tuple(
            f"ownership[{h.record}] ({h.owner} -> {h.owned})"
            for h in registry.holdings
            if h.owner in members and h.owned in members
        )
        msg = (
            "closed ownership cycle with no outside owner (every member is wholly owned inside "
            f"the cycle): {' -> '.join(cycle)}"
        )
        found += [DataFault("closed_cycle", m, records, msg, {"members": cycle}) for m in cycle]
    return found


def compute_facts(
    registry: Registry, view: PolicyView, *, mode: DataFaultMode = "error"
) -> RegistryFacts:
    """Compute both ownership methods for every entity of ``registry`` at once, under the
    parameters and classification of ``view``.

    Data faults raise ``DataFaultError`` naming every faulty record (``mode="error"``), or
    (``"review"``) are attached to their entities' facts, whose status becomes uncertain: an
    entity that may not be what its records say counts as restricted for upper bounds and as
    not restricted for lower bounds, like an unknown jurisdiction.
    """
    if mode not in DATA_FAULT_MODES:
        raise ValueError(f"unknown data-fault mode {mode!r}")
    params = view.params
    threshold = params.ownership_threshold
    consolidation_share = params.consolidation_share
    ids = list(registry.entities)
    if len(registry.holdings) == len({(h.owner, h.owned) for h in registry.holdings}):
        edges: Iterable[tuple[str, str, Interval]] = (
            (h.owner, h.owned, consolidation_share if h.share is None else h.share)
            for h in registry.holdings
        )
    else:  # records of different interest types for one pair: one edge, the larger bounds
        edges = (
            (o, d, share)
            for (o, d), share in pair_shares(registry.holdings, consolidation_share).items()
        )
    graph = OwnershipGraph.build(ids, edges)
    status = [view.status(registry.entities[i]) for i in ids]
    faults = data_faults(registry, graph, status, threshold.tolerance)
    if faults and mode == "error":
        lines = list(dict.fromkeys(fault.describe() for fault in faults))
        raise DataFaultError(lines, source=registry.source)
    for fault in faults:
        x = graph.index(fault.entity)
        if status[x] == Status.CLEAR:
            status[x] = Status.UNKNOWN
    result = compute_ownership(graph, status, threshold, allow_closed_cycles=bool(faults))
    return RegistryFacts(registry, result, threshold, faults)

"""Turns a registry into the facts document the policy decides on (``schemas/facts.schema.json``).

This is where the policy meets the data: which codes are restricted, the threshold and the share
of a consolidation holding all come from the policy view (``view.py``, one OPA query), and the
ownership math from ``ownership``. Nothing here decides; Rego does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any, Final, Literal

import orjson

from stakegate import settings
from stakegate.errors import DataFaultError, FactsValidationError
from stakegate.ownership.compute import (
    METHODS,
    Method,
    OwnershipResult,
    closed_cycles,
    compute_ownership,
)
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Threshold
from stakegate.ownership.per_owner import PerOwnerResult
from stakegate.policy.view import PolicyView
from stakegate.registry.model import DataFault, Registry, pair_shares

__all__ = [
    "DATA_FAULT_MODES",
    "DataFaultMode",
    "Member",
    "RegistryFacts",
    "compute_facts",
    "data_faults",
]

# ``error``: a registry with data faults stops the run (exit 2) naming every faulty record.
# ``review``: screen on; faulty entities get review (reason data_fault) and count as possibly
# restricted for everything they own.
DataFaultMode = Literal["error", "review"]
DATA_FAULT_MODES: tuple[DataFaultMode, ...] = ("error", "review")
# An entity sent in the batch form's groups (policy/batch.py): its shared facts (type,
# jurisdiction, headquarters) and [id, name, control_min, control_max, look_through_min,
# look_through_max].
GroupKey = tuple[str, str | None, str | None]
Member = list[Any]
_INTEREST: Final = attrgetter("interest")
_OWNER: Final = attrgetter("owner")
_OWNED: Final = attrgetter("owned")
# Members and records a closed-cycle fault lists; the rest are counted (faults stay bounded).
MAX_LISTED = 10


class RegistryFacts:
    """Ownership computed once for a whole registry; facts documents built per entity on demand."""

    __slots__ = ("_index", "faults", "registry", "result", "threshold")

    def __init__(
        self,
        registry: Registry,
        result: OwnershipResult | PerOwnerResult,
        threshold: Threshold,
        faults: Iterable[DataFault] = (),
        index: Mapping[str, int] | None = None,
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
        if not 0.0 <= lo <= hi <= 100.0:  # also false for NaN
            raise FactsValidationError(
                f"facts of {self.result.graph.ids[index]!r}: "
                f"{method} share [{lo}, {hi}] is not within [0, 100]"
            )
        # Paths are evidence for a reason; only a share whose upper bound crosses the threshold
        # can produce one, so the (costly) path search is skipped for every other entity.
        if not self.threshold.upper_crosses(hi, hi_x):
            return _interval(lo, hi, lo_x, hi_x)
        evidence = self.result.evidence(index, method, settings.MAX_PATHS, settings.MAX_PATH_NODES)
        return {
            "min": lo,
            "max": hi,
            "min_exclusive": lo_x,
            "max_exclusive": hi_x,
            "paths": [list(item.path) for item in evidence],
            "evidence": [item.to_json() for item in evidence],
        }

    def encoded(self, entity_ids: Sequence[str]) -> list[bytes]:
        """The facts of ``entity_ids`` as the JSON OPA reads (keys sorted).

        Built, not re-validated: every field comes from the validated registry or the
        ownership math, whose bounds are checked here to lie within ``0 <= min <= max <= 100``
        (``FactsValidationError`` otherwise, a bug). The facts schema is the contract, held to
        by the tests; at run time the policy checks the facts once more and fails closed
        (``invalid_facts``: review), and every decision is checked against its schema.
        """
        index, described = self._index, self._described
        quiet, method_facts = self._quiet_ownership, self._method_facts
        dumps, sort = orjson.dumps, orjson.OPT_SORT_KEYS
        out: list[bytes] = []
        for entity_id in entity_ids:
            doc, i = described(entity_id), index[entity_id]
            doc["ownership"] = quiet(i) or {m: method_facts(i, m) for m in METHODS}
            out.append(dumps(doc, option=sort))
        return out

    def _quiet_ownership(self, index: int) -> orjson.Fragment | None:
        """Both methods' intervals as JSON when neither can cross the threshold (no evidence)
        and both are within the percent range; None otherwise (the schema then checks)."""
        result, crosses = self.result, self.threshold.upper_crosses
        c_lo, c_hi, c_lx, c_hx = result.bounds(index, "control")
        l_lo, l_hi, l_lx, l_hx = result.bounds(index, "look_through")
        if crosses(c_hi, c_hx) or crosses(l_hi, l_hx):
            return None
        if not (0.0 <= c_lo <= c_hi <= 100.0 and 0.0 <= l_lo <= l_hi <= 100.0):
            return None
        if c_hi == 0.0 and l_hi == 0.0 and not (c_lx or c_hx or l_lx or l_hx):
            return _ZERO_OWNERSHIP  # no restricted owner at all: most of a register
        return orjson.Fragment(
            orjson.dumps(
                {
                    "control": _interval(c_lo, c_hi, c_lx, c_hx),
                    "look_through": _interval(l_lo, l_hi, l_lx, l_hx),
                },
                option=orjson.OPT_SORT_KEYS,
            )
        )

    def restricted_member(self, entity_id: str) -> tuple[GroupKey, Member] | None:
        """The entity as a member of a batch-form restricted group, or None: restricted by its
        own jurisdiction or headquarters, without faults, and with facts that differ from its
        group's only in id, name and bounds: under both methods its own path is the one path
        and the one evidence (``batch.restricted_facts``; one that restricted others also own
        has more, and is sent whole)."""
        if entity_id in self.faults or not isinstance(self.result, OwnershipResult):
            return None
        i = self._index[entity_id]
        if self.result.status[i] != Status.RESTRICTED:
            return None
        ownership = self.ownership_facts(entity_id)
        c, lt = ownership["control"], ownership["look_through"]
        alone = {
            "control": _self_evident(entity_id, c["min"], c["max"]),
            "look_through": _self_evident(entity_id, lt["min"], lt["max"]),
        }
        # As JSON, so that 100 and 100.0 (printed differently) are told apart.
        if orjson.dumps(ownership, option=_SORTED) != orjson.dumps(alone, option=_SORTED):
            return None
        return self._as_member(entity_id, c["min"], c["max"], lt["min"], lt["max"])

    def _as_member(
        self, entity_id: str, c_lo: float, c_hi: float, l_lo: float, l_hi: float
    ) -> tuple[GroupKey, Member]:
        """The group key (the facts members share) and the member, for either kind of group."""
        entity = self.registry.entities[entity_id]
        key = (entity.type.value, entity.jurisdiction, entity.headquarters)
        return key, [entity_id, entity.name, c_lo, c_hi, l_lo, l_hi]

    @property
    def index(self) -> Mapping[str, int]:
        return self._index

    def ownership_facts(self, entity_id: str) -> dict[str, Any]:
        """The ``ownership`` member of one entity's facts (both methods)."""
        index = self._index[entity_id]
        return {method: self._method_facts(index, method) for method in METHODS}

    def entity_facts(self, entity_id: str) -> dict[str, Any]:
        """The facts of one entity, as the policy's input schema describes them."""
        doc = self._described(entity_id)
        doc["ownership"] = self.ownership_facts(entity_id)
        return doc

    def _described(self, entity_id: str) -> dict[str, Any]:
        """An entity's facts less its ownership: who it is, where, and its data faults."""
        entity = self.registry.entities[entity_id]
        doc: dict[str, Any] = {"id": entity_id, "type": str(entity.type)}
        if entity.name is not None:
            doc["name"] = entity.name
        if entity.jurisdiction is not None:
            doc["jurisdiction"] = entity.jurisdiction
        if entity.headquarters is not None:
            doc["headquarters"] = entity.headquarters
        found = self.faults.get(entity_id)
        if found:
            doc["faults"] = [fault.to_json() for fault in found]
        return doc


def _interval(lo: float, hi: float, lo_x: bool, hi_x: bool) -> dict[str, Any]:
    """One method's facts without evidence (``paths`` and ``evidence`` empty)."""
    return {
        "min": lo,
        "max": hi,
        "min_exclusive": lo_x,
        "max_exclusive": hi_x,
        "paths": [],
        "evidence": [],
    }


def _self_evident(entity_id: str, low: float, high: float) -> dict[str, Any]:
    """One method's facts when the entity itself is the one path to it (restricted itself)."""
    return {
        "min": low,
        "max": high,
        "min_exclusive": False,
        "max_exclusive": False,
        "paths": [[entity_id]],
        "evidence": [{"path": [entity_id], "edges": [], "contribution": {"min": low, "max": high}}],
    }


_SORTED: Final = orjson.OPT_SORT_KEYS

_ZERO_OWNERSHIP: Final = orjson.Fragment(
    orjson.dumps(
        {method: _interval(0.0, 0.0, False, False) for method in METHODS},
        option=orjson.OPT_SORT_KEYS,
    )
)


def data_faults(
    registry: Registry, graph: OwnershipGraph, status: list[Status], tolerance: float
) -> list[DataFault]:
    """The registry's faults and one ``closed_cycle`` fault per member of every closed cycle.

    A closed cycle through a restricted entity is not a fault: look-through fixes that entity at
    100 and the rest of the cycle solves. Cycles can hold millions of entities, so their faults
    stay bounded (ARCHITECTURE.md, "Data faults"): each names the cycle's size and its first
    members, and lists the member's own records inside it; the one line that reports the cycle
    in a list of faults lists its first records. One walk over the holdings finds them all.
    """
    found = list(registry.faults)
    cycles = closed_cycles(graph, tolerance, status)
    if not cycles:
        return found
    cycle_of = {member: c for c, cycle in enumerate(cycles) for member in cycle}
    first: list[list[str]] = [[] for _ in cycles]  # the first records of each cycle
    total = [0] * len(cycles)
    own: dict[str, list[str]] = {member: [] for member in cycle_of}  # each member's first records
    own_total = dict.fromkeys(cycle_of, 0)
    for h in registry.holdings:
        c = cycle_of.get(h.owner)
        if c is None or cycle_of.get(h.owned) != c:
            continue
        label = f"ownership[{h.record}] ({h.owner} -> {h.owned})"
        total[c] += 1
        if len(first[c]) < MAX_LISTED:
            first[c].append(label)
        for member in (h.owned, h.owner):
            own_total[member] += 1
            if len(own[member]) < MAX_LISTED:
                own[member].append(label)
    for c, cycle in enumerate(cycles):
        shown = cycle[:MAX_LISTED]
        msg = (
            f"closed ownership cycle of {_count(len(cycle), 'entity', 'entities')} with no "
            "outside owner (every member is wholly owned inside the cycle): "
            f"{_listed(shown, len(cycle))}"
        )
        summary = f"{_listed(first[c], total[c])}: {msg}"
        for member in cycle:
            details = {"size": len(cycle), "members": shown, "records": own_total[member]}
            found.append(
                DataFault("closed_cycle", member, tuple(own[member]), msg, details, summary)
            )
    return found


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _listed(shown: list[str], total: int) -> str:
    """``shown`` (the first of ``total`` items) joined, with the rest counted."""
    text = ", ".join(shown)
    return f"{text}, and {total - len(shown):,} more" if total > len(shown) else text


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
    # A registry's holdings hold one record per (owner, owned, interest type) (``Registry``): of
    # one interest type only, one per pair. (Counting distinct pairs cost 3 s at 1M entities.)
    holdings = registry.holdings
    if len(set(map(_INTEREST, holdings))) <= 1:
        owners = list(map(_OWNER, holdings))
        owned = list(map(_OWNED, holdings))
        shares = [consolidation_share if h.share is None else h.share for h in holdings]
    else:  # records of different interest types for one pair: one edge, the larger bounds
        pairs = pair_shares(holdings, consolidation_share)
        owners, owned, shares = [o for o, _ in pairs], [d for _, d in pairs], list(pairs.values())
    graph = OwnershipGraph.from_columns(ids, owners, owned, shares)
    del owners, owned, shares
    status = list(map(view.status, registry.entities.values()))  # in the order of ids
    faults = data_faults(registry, graph, status, threshold.tolerance)
    if faults and mode == "error":
        lines = list(dict.fromkeys(fault.describe() for fault in faults))
        raise DataFaultError(lines, source=registry.source)
    for fault in faults:
        x = graph.index(fault.entity)
        if status[x] == Status.CLEAR:
            status[x] = Status.UNKNOWN
    result = compute_ownership(graph, status, threshold, allow_closed_cycles=bool(faults))
    return RegistryFacts(registry, result, threshold, faults, graph.positions)

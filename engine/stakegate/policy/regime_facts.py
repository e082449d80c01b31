"""Facts of one registry under several regimes at once (``--regimes``), for side-by-side decisions.

Each regime restricts its own entities: those its regions restrict (by jurisdiction or
headquarters) and those designated, on the day decided for, on one of its lists. So each regime
gets its own ownership computation on the one graph of the registry: statuses from the regime
(``regimes.regime_status``), its threshold, and its aggregation (``combined``: the usual
fixpoint; ``per_owner``: each restricted owner alone, ``ownership/per_owner.py``). The default
regime (the top-level parameters, the view's first) is the registry's ordinary facts, computed
once. An entity's facts document then carries, besides the ordinary fields, its designations and
``regimes: {name: {"ownership": ..., "faults"?: ...}}``; Rego decides (stakegate.side_by_side).
Most entities have no restricted owner under a list regime, or only a small share: their
``ownership`` is ``"none"`` (both shares 0) or ``[min, max]`` per method (no exclusive bound, no
paths), which say exactly what the full form would in a few bytes (a regime's facts are most of
what OPA reads and the engine writes).

Data faults: the registry's own (self-ownership, duplicates, owners over 100%) are the same under
every regime; a closed cycle depends on the statuses (a cycle through a restricted entity is not
a fault), so each regime finds its own, and they stop the run (``error``) or go into that
regime's facts (``review``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from stakegate.errors import DataFaultError
from stakegate.ownership.compute import compute_ownership
from stakegate.ownership.graph import Status
from stakegate.ownership.per_owner import PerOwnerResult
from stakegate.policy.facts import DataFaultMode, RegistryFacts, data_faults
from stakegate.policy.regimes import RegimeParams, regime_status
from stakegate.policy.view import PolicyView
from stakegate.registry.model import Designation

__all__ = ["NONE", "RegimeFacts", "designation_json"]

# A regime's ownership when no restricted owner reaches the entity: both shares exactly 0.0,
# without paths (what the full form would say; see _ownership).
NONE = "none"
_NONE_ENTRY = {"ownership": NONE}  # shared: only ever encoded, never changed
_ZERO = (0.0, 0.0, False, False)


def designation_json(d: Designation) -> dict[str, str]:
    """A designation as facts (and the registry) write it: absent fields left out."""
    doc = {"list": d.list}
    if d.program is not None:
        doc["program"] = d.program
    if d.since is not None:
        doc["since"] = d.since.isoformat()
    if d.until is not None:
        doc["until"] = d.until.isoformat()
    return doc


class RegimeFacts:
    """The facts of every requested regime, by name, in the order asked."""

    __slots__ = ("_plan", "by_name", "default", "names", "reached")

    def __init__(
        self,
        default: RegistryFacts,
        by_name: dict[str, RegistryFacts],
        reached: dict[str, bytearray] | None = None,
    ) -> None:
        self.default = default
        self.by_name = by_name
        self.names = list(by_name)
        # Per regime (but the default), 1 for every entity a restricted or unknown entity of the
        # regime reaches along positive shares: every other one has no restricted owner.
        self.reached = reached or {}
        self._plan = [
            (name, facts, None if facts is default else self.reached[name])
            for name, facts in by_name.items()
        ]

    def __repr__(self) -> str:
        return f"<RegimeFacts regimes={self.names}>"

    @classmethod
    def compute(
        cls,
        default: RegistryFacts,
        view: PolicyView,
        regimes: Sequence[RegimeParams],
        as_of: date,
        mode: DataFaultMode = "error",
    ) -> RegimeFacts:
        """Ownership under each of ``regimes`` (the view's first is ``default`` itself)."""
        by_name: dict[str, RegistryFacts] = {}
        reached: dict[str, bytearray] = {}
        first = view.regimes[0] if view.regimes else None
        for regime in regimes:
            if regime == first:
                by_name[regime.name] = default
            else:
                facts, status = _regime_facts(default, view, regime, as_of, mode)
                by_name[regime.name] = facts
                reached[regime.name] = _reached(facts, status)
        return cls(default, by_name, reached)

    def extend(self, doc: dict[str, Any], entity_id: str) -> None:
        """Add the entity's designations and its facts under each regime to its facts ``doc``
        (the default facts of ``RegistryFacts.entity_facts``)."""
        default = self.default
        entity = default.registry.entities[entity_id]
        if entity.designations:
            doc["designations"] = [designation_json(d) for d in entity.designations]
        index = default.index[entity_id]
        regimes: dict[str, Any] = {}
        for name, facts, reached in self._plan:
            if reached is None:  # the default regime: the facts already in the document
                entry: dict[str, Any] = {"ownership": _compact(doc["ownership"])}
                if "faults" in doc:
                    entry["faults"] = doc["faults"]
            elif not reached[index] and entity_id not in facts.faults:
                entry = _NONE_ENTRY
            else:
                entry = {"ownership": _ownership(facts, index) if reached[index] else NONE}
                faults = facts.faults.get(entity_id)
                if faults:
                    entry["faults"] = [fault.to_json() for fault in faults]
            regimes[name] = entry
        doc["regimes"] = regimes

    def fault_lines(self) -> list[str]:
        """Every data fault of every regime, once (``--data-faults review`` summaries)."""
        lines: dict[str, None] = {}
        for facts in self.by_name.values():
            for faults in facts.faults.values():
                for fault in faults:
                    lines.setdefault(fault.describe())
        return list(lines)


def _ownership(facts: RegistryFacts, index: int) -> Any:
    """The ownership facts of the entity at ``index`` under a regime, as short as they can be
    said exactly: ``"none"`` when both shares are exactly 0; ``{"control": [min, max],
    "look_through": [min, max]}`` when no bound is exclusive and neither upper bound crosses the
    threshold (the full form would then have no paths either); else the full form."""
    bounds = facts.result.bounds
    control, look_through = bounds(index, "control"), bounds(index, "look_through")
    if control == _ZERO and look_through == _ZERO:
        return NONE
    crosses = facts.threshold.upper_crosses
    if (
        not (control[2] or control[3] or look_through[2] or look_through[3])
        and not crosses(control[1], False)
        and not crosses(look_through[1], False)
    ):
        return {
            "control": [control[0], control[1]],
            "look_through": [look_through[0], look_through[1]],
        }
    return facts.ownership_facts(facts.result.graph.ids[index])


def _compact(ownership: dict[str, Any]) -> Any:
    """The default facts' ownership in the short form of ``_ownership`` where it says the same."""
    short: dict[str, list[float]] = {}
    for method, share in ownership.items():
        if share["paths"] or share["evidence"] or share["min_exclusive"] or share["max_exclusive"]:
            return ownership
        short[method] = [share["min"], share["max"]]
    if all(bounds == [0.0, 0.0] for bounds in short.values()):
        return NONE
    return short


def _reached(facts: RegistryFacts, status: list[Status]) -> bytearray:
    """1 for each entity that a restricted or unknown entity reaches along shares with a positive
    upper bound (itself included), or for every entity when the threshold is crossed at 0 (paths
    are then given even for a zero share): only these can have a share above 0 under either
    method, so the others' ownership is ``"none"`` without computing it."""
    graph = facts.result.graph
    n = len(graph)
    if facts.threshold.upper_crosses(0.0, False):
        return bytearray(b"\x01" * n)
    reached = bytearray(n)
    queue = [x for x in range(n) if status[x] != Status.CLEAR]
    for x in queue:
        reached[x] = 1
    out_start, out_dst, out_edge, in_max = (
        graph.out_start,
        graph.out_dst,
        graph.out_edge,
        graph.in_max,
    )
    head = 0
    while head < len(queue):
        x = queue[head]
        head += 1
        for j in range(out_start[x], out_start[x + 1]):
            y = out_dst[j]
            if not reached[y] and in_max[out_edge[j]] > 0.0:
                reached[y] = 1
                queue.append(y)
    return reached


def _regime_facts(
    default: RegistryFacts,
    view: PolicyView,
    regime: RegimeParams,
    as_of: date,
    mode: DataFaultMode,
) -> tuple[RegistryFacts, list[Status]]:
    registry = default.registry
    graph = default.result.graph
    status = regime_status(regime, list(registry.entities.values()), view.classification, as_of)
    threshold = regime.threshold
    faults = data_faults(registry, graph, status, threshold.tolerance)
    if faults and mode == "error":
        lines = list(dict.fromkeys(f"under regime {regime.name}: {f.describe()}" for f in faults))
        raise DataFaultError(lines, source=registry.source)
    for fault in faults:
        x = graph.index(fault.entity)
        if status[x] == Status.CLEAR:
            status[x] = Status.UNKNOWN
    combined = compute_ownership(graph, status, threshold, allow_closed_cycles=bool(faults))
    result: Any = combined
    if regime.aggregation == "per_owner":
        result = PerOwnerResult(graph, status, threshold, combined)
    return RegistryFacts(registry, result, threshold, faults, default.index), status

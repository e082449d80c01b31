"""Restricted ownership when owners do not add up: each restricted owner on its own (``per_owner``).

The UK's ownership test does not aggregate different designated persons' holdings (OFSI): X with
30% and Y with 30% do not own the entity between them, but X with 40% directly and 20% through a
company X alone controls does. So, for each *seed* (an entity restricted, or possibly restricted,
by itself) alone, this takes the least fixpoint of the control method that counts only that seed
and what it alone makes restricted, with the usual definite (min shares) and possible (max
shares) bounds; an entity is restricted when some single seed's fixpoint reaches it. Its control
share is the largest share any single seed's fixpoint gives it.

Cost: one worklist run per seed, each touching only the out-edges of what that seed alone makes
(possibly) restricted. Seeds are run in topological order of the components (owners first), and
a seed that an earlier seed's run already made (possibly) restricted is skipped: that run counts
everything the seed's own would, and more (the fixpoint is monotone in its sources), so it
dominates. With a threshold of 50 or more and owners holding at most 100% of an entity between
them, the definite sets of seeds that do not control each other are disjoint, so the lower bound
costs O(entities + edges) in all; the possible sets (max shares, bands) may overlap more, at
worst seeds x edges. Look-through is not this method's test: its interval here is sound but
wide, from the largest direct holding of a restricted owner to the aggregate upper bound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from stakegate import settings
from stakegate.ownership.compute import Method, OwnershipResult
from stakegate.ownership.evidence import PathEvidence
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval, Threshold

__all__ = ["PerOwnerResult", "SeedRun", "per_owner_control", "seed_run"]


@dataclass(slots=True)
class SeedRun:
    """One seed's fixpoint: the entities it alone makes restricted (in the order they entered,
    the seed first), the sum of the counted shares into each entity it reaches, the exclusive
    flags of those sums, and the owner that tipped each entity (its witness)."""

    seed: int
    members: list[int]
    sums: dict[int, float] = field(default_factory=dict)
    exclusive: set[int] = field(default_factory=set)
    parent: dict[int, int] = field(default_factory=dict)


def seed_run(
    graph: OwnershipGraph,
    seed: int,
    fixed: bool,
    start: Sequence[int],
    upper: bool,
    crosses: Callable[[float, bool], bool],
    parents: dict[int, int] | None = None,
) -> SeedRun:
    """The least fixpoint from ``seed`` and the entities ``start`` (already members: for the
    upper bound, the seed's definite set), with the min (``upper`` false) or max shares.

    ``fixed``: the seed is restricted by itself, so shares into it are not counted (as the
    combined fixpoint treats every restricted entity). The order of work is that of the combined
    fixpoint run with this seed as the only source, so with one seed both agree exactly.
    """
    shares = graph.in_max if upper else graph.in_min
    out_start, out_dst, out_edge, in_share = (
        graph.out_start,
        graph.out_dst,
        graph.out_edge,
        graph.in_share,
    )
    run = SeedRun(seed, [seed, *(x for x in start if x != seed)])
    if parents:
        run.parent.update(parents)
    members = set(run.members)
    queue = run.members
    sums, exclusive, parent = run.sums, run.exclusive, run.parent
    head = 0
    while head < len(queue):
        x = queue[head]
        head += 1
        for j in range(out_start[x], out_start[x + 1]):
            y = out_dst[j]
            if fixed and y == seed:
                continue
            k = out_edge[j]
            share = shares[k]
            total = sums.get(y, 0.0) + share
            sums[y] = total
            if share > 0.0 and (in_share[k].max_exclusive if upper else in_share[k].min_exclusive):
                exclusive.add(y)
            if y not in members and crosses(total, y in exclusive):
                members.add(y)
                parent[y] = x
                queue.append(y)
    return run


class PerOwnerControl:
    """The per-owner control bounds of every entity, and the seed runs behind them."""

    __slots__ = ("best_def", "best_pos", "def_runs", "pos_runs")

    def __init__(self, n: int) -> None:
        # For each entity, the run that gives its largest definite / possible sum (-1: none).
        self.best_def = [-1] * n
        self.best_pos = [-1] * n
        self.def_runs: list[SeedRun] = []
        self.pos_runs: list[SeedRun] = []


def _better(value: float, exclusive: bool, best: float, best_exclusive: bool, upper: bool) -> bool:
    """A larger bound: for a lower bound an exclusive one is larger at the same value, for an
    upper bound a non-exclusive one."""
    if value != best:
        return value > best
    return (not exclusive and best_exclusive) if upper else (exclusive and not best_exclusive)


def _record(runs: list[SeedRun], best: list[int], run: SeedRun, upper: bool) -> None:
    index = len(runs)
    runs.append(run)
    for y, total in run.sums.items():
        b = best[y]
        if b == -1:
            best[y] = index
            continue
        other = runs[b]
        if _better(total, y in run.exclusive, other.sums[y], y in other.exclusive, upper):
            best[y] = index


def per_owner_control(
    graph: OwnershipGraph, status: Sequence[Status], threshold: Threshold
) -> PerOwnerControl:
    """Every seed's fixpoint (definite from each ``RESTRICTED`` entity, possible from each
    ``RESTRICTED`` or ``UNKNOWN`` one), dominated seeds skipped; see the module docstring."""
    n = len(graph)
    state = PerOwnerControl(n)
    comps = graph.components()
    order = [x for x in comps.members if status[x] != Status.CLEAR]
    in_def = bytearray(n)  # made definite by an earlier run
    in_pos = bytearray(n)  # made possible by an earlier run
    for seed in order:
        fixed = status[seed] == Status.RESTRICTED
        definite: SeedRun | None = None
        if fixed and not in_def[seed]:
            definite = seed_run(graph, seed, True, (), False, threshold.lower_crosses)
            _record(state.def_runs, state.best_def, definite, False)
            for x in definite.members:
                in_def[x] = 1
        if in_pos[seed]:
            continue
        start = definite.members if definite is not None else ()
        parents = definite.parent if definite is not None else None
        possible = seed_run(graph, seed, fixed, start, True, threshold.upper_crosses, parents)
        _record(state.pos_runs, state.best_pos, possible, True)
        for x in possible.members:
            in_pos[x] = 1
    return state


class PerOwnerResult:
    """Restricted shares under ``per_owner``: control from single seeds' fixpoints, look-through
    as the sound interval of the module docstring. The interface of ``OwnershipResult`` that
    facts use (``bounds``, ``evidence``)."""

    __slots__ = ("_combined", "_control", "graph", "status")

    def __init__(
        self,
        graph: OwnershipGraph,
        status: Sequence[Status],
        threshold: Threshold,
        combined: OwnershipResult,
    ) -> None:
        self.graph = graph
        self.status = status
        self._combined = combined
        self._control = per_owner_control(graph, status, threshold)

    def __repr__(self) -> str:
        c = self._control
        return f"<PerOwnerResult entities={len(self.graph)} seeds={len(c.pos_runs)}>"

    def bounds(self, entity: int, method: Method) -> tuple[float, float, bool, bool]:
        """``(min, max, min_exclusive, max_exclusive)`` of ``entity`` under ``method``."""
        if self.status[entity] == Status.RESTRICTED:
            return 100.0, 100.0, False, False
        if method == "look_through":
            return self._look_through(entity)
        c = self._control
        lo, lo_x = _sum_of(c.def_runs, c.best_def[entity], entity)
        hi, hi_x = _sum_of(c.pos_runs, c.best_pos[entity], entity)
        if lo > 100.0:
            lo, lo_x = 100.0, False
        if hi > 100.0:
            hi, hi_x = 100.0, False
        return lo, hi, lo_x, hi_x

    def _look_through(self, x: int) -> tuple[float, float, bool, bool]:
        graph, status = self.graph, self.status
        lo, lo_x = 0.0, False
        for k in range(graph.in_start[x], graph.in_start[x + 1]):
            if status[graph.in_src[k]] == Status.RESTRICTED:
                share = graph.in_share[k]
                if _better(share.min, share.min_exclusive, lo, lo_x, False):
                    lo, lo_x = share.min, share.min_exclusive
        _, hi, _, hi_x = self._combined.bounds(x, "look_through")
        return min(lo, 100.0), hi, lo_x and lo < 100.0, hi_x

    def evidence(
        self,
        entity: int,
        method: Method,
        max_paths: int | None = None,
        max_path_nodes: int | None = None,
    ) -> list[PathEvidence]:
        """Control: the witness chains, within the best single seed's fixpoint, of the direct
        owners it counts. Look-through: the aggregate's paths (evidence of the upper bound)."""
        if method == "look_through":
            return self._combined.evidence(entity, method, max_paths, max_path_nodes)
        paths = settings.MAX_PATHS if max_paths is None else max_paths
        nodes = settings.MAX_PATH_NODES if max_path_nodes is None else max_path_nodes
        graph = self.graph
        if self.status[entity] == Status.RESTRICTED:
            return [PathEvidence((graph.ids[entity],), (), Interval(100.0, 100.0))]
        c = self._control
        b = c.best_pos[entity]
        if b == -1:
            return []
        possible = c.pos_runs[b]
        d = c.best_def[entity]
        definite = c.def_runs[d] if d != -1 and c.def_runs[d].seed == possible.seed else None
        counted = set(possible.members)
        sure = set(definite.members) if definite is not None else set()
        found: list[PathEvidence] = []
        for k in range(graph.in_start[entity], graph.in_start[entity + 1]):
            o = graph.in_src[k]
            if o not in counted:
                continue
            share = graph.in_share[k]
            is_definite = o in sure
            chain = [entity, o]
            p = possible.parent.get(o, -1)
            while p != -1 and len(chain) < nodes:
                chain.append(p)
                p = possible.parent.get(p, -1)
            chain.reverse()
            chain = chain[-nodes:]
            edges = tuple(_share(graph, a, z) for a, z in zip(chain, chain[1:], strict=False))
            contribution = Interval(
                share.min if is_definite else 0.0,
                share.max,
                share.min_exclusive and is_definite,
                share.max_exclusive,
            )
            found.append(PathEvidence(tuple(graph.ids[i] for i in chain), edges, contribution))
        found.sort(key=PathEvidence.sort_key)
        return found[:paths]


def _sum_of(runs: list[SeedRun], best: int, x: int) -> tuple[float, bool]:
    if best == -1:
        return 0.0, False
    run = runs[best]
    return run.sums[x], x in run.exclusive


def _share(graph: OwnershipGraph, owner: int, owned: int) -> Interval:
    for k in range(graph.in_start[owned], graph.in_start[owned + 1]):
        if graph.in_src[k] == owner:
            return graph.in_share[k]
    raise ValueError(f"no edge {graph.ids[owner]!r} -> {graph.ids[owned]!r}")

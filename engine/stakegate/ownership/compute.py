"""Indirect ownership by restricted owners: both methods, for every entity at once, no I/O.

The rule bars an entity "more than 50% owned, directly or indirectly" by restricted owners, and
the two accepted readings of "indirectly" disagree, so both are always computed and reported
(ARCHITECTURE.md, "The two methods, with intervals"):

* ``control`` is a least fixpoint over the sets of *definitely* and *possibly* restricted
  entities. It runs as a worklist along out-edges: an entity enters each set once and then
  pushes its share to what it owns, so the work is proportional to the edges, not the paths.
* ``look_through`` multiplies shares along chains. Strongly connected components are solved in
  topological order: a plain weighted sum per acyclic entity, a small linear system per
  cross-holding cycle (``_linear.py``).

Register shares are intervals, so every result is an interval whose bounds remember whether they
are exclusive: a sum or product is exclusive at a bound when a positive term of it is. Path
evidence is computed lazily (``evidence.py``), only for the entities a caller asks about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from stakegate import settings
from stakegate.errors import OwnershipCycleError
from stakegate.ownership._linear import solve_clamped
from stakegate.ownership.evidence import (
    MAX_EXCLUSIVE,
    MIN_EXCLUSIVE,
    PathEvidence,
    control_evidence,
    look_through_evidence,
)
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval, Threshold

__all__ = ["METHODS", "Method", "OwnershipResult", "closed_cycles", "compute_ownership"]

Method = Literal["control", "look_through"]
METHODS: tuple[Method, ...] = ("control", "look_through")

_MIN_X = MIN_EXCLUSIVE  # bit in a flags bytearray: the lower bound is exclusive
_MAX_X = MAX_EXCLUSIVE  # bit in a flags bytearray: the upper bound is exclusive
_FULL = Interval(100.0, 100.0)


class _Control:
    """The control fixpoint: sums over definite/possible owners and the witness of each entry."""

    __slots__ = ("cmax", "cmin", "def_parent", "definite", "flags", "pos_parent", "possible")

    def __init__(self, n: int) -> None:
        self.cmin = [0.0] * n
        self.cmax = [0.0] * n
        self.flags = bytearray(n)
        self.definite = bytearray(n)
        self.possible = bytearray(n)
        # The owner whose share made an entity cross (-1: restricted or unknown by itself).
        self.def_parent = [-1] * n
        self.pos_parent = [-1] * n


class OwnershipResult:
    """Restricted share of every entity under both methods; evidence on demand."""

    __slots__ = ("_control", "_lo", "_hi", "_lt_flags", "graph", "status")

    def __init__(
        self,
        graph: OwnershipGraph,
        status: Sequence[Status],
        control: _Control,
        lo: list[float],
        hi: list[float],
        lt_flags: bytearray,
    ) -> None:
        self.graph = graph
        self.status = status
        self._control = control
        self._lo = lo
        self._hi = hi
        self._lt_flags = lt_flags

    def __repr__(self) -> str:
        definite = sum(self._control.definite)
        possible = sum(self._control.possible)
        return (
            f"<OwnershipResult entities={len(self.graph)} control_definite={definite} "
            f"control_possible={possible}>"
        )

    def _at(self, entity: int | str) -> int:
        return self.graph.index(entity) if isinstance(entity, str) else entity

    def control(self, entity: int | str) -> Interval:
        """Share held by restricted owners under ``control`` (100 for a restricted entity)."""
        x = self._at(entity)
        if self.status[x] == Status.RESTRICTED:
            return _FULL
        c = self._control
        return _interval(c.cmin[x], c.cmax[x], c.flags[x])

    def look_through(self, entity: int | str) -> Interval:
        """Share held by restricted owners under ``look_through`` (100 for a restricted entity)."""
        x = self._at(entity)
        return _interval(self._lo[x], self._hi[x], self._lt_flags[x])

    def share(self, entity: int | str, method: Method) -> Interval:
        """The restricted share of ``entity`` under ``method``."""
        return self.control(entity) if method == "control" else self.look_through(entity)

    def bounds(self, entity: int, method: Method) -> tuple[float, float, bool, bool]:
        """``share(entity, method)`` as ``(min, max, min_exclusive, max_exclusive)``.

        The same numbers without an ``Interval`` object: facts are built from these for every
        entity of a registry.
        """
        if method == "control":
            if self.status[entity] == Status.RESTRICTED:
                return 100.0, 100.0, False, False
            c = self._control
            lo, hi, flags = c.cmin[entity], c.cmax[entity], c.flags[entity]
        else:
            lo, hi, flags = self._lo[entity], self._hi[entity], self._lt_flags[entity]
        return _bounds(lo, hi, flags)

    def evidence(
        self,
        entity: int | str,
        method: Method,
        max_paths: int | None = None,
        max_path_nodes: int | None = None,
    ) -> list[PathEvidence]:
        """Top contributing paths, restricted source first; see ``evidence.py`` for the order.

        Defaults come from ``settings.MAX_PATHS`` and ``settings.MAX_PATH_NODES``. A longer path
        keeps its last ``max_path_nodes`` nodes: the end at the entity, where the owners that
        decide the share are. Its contribution: for ``control`` the direct share as ever; for
        ``look_through`` the share of its first node times the shares along it (the search is
        cut there, so that it costs no more than the path it reports).
        """
        x = self._at(entity)
        paths = settings.MAX_PATHS if max_paths is None else max_paths
        nodes = settings.MAX_PATH_NODES if max_path_nodes is None else max_path_nodes
        if nodes < 1 or paths < 0:
            raise ValueError(f"bad evidence bounds: max_paths={paths}, max_path_nodes={nodes}")
        if method == "control":
            c = self._control
            return control_evidence(
                self.graph, self.status, c.definite, c.possible, c.def_parent, c.pos_parent, x,
                paths, nodes,
            )  # fmt: skip
        return look_through_evidence(
            self.graph, self.status, self._lo, self._hi, self._lt_flags, x, paths, nodes
        )


def _bounds(lo: float, hi: float, flags: int) -> tuple[float, float, bool, bool]:
    # Shares above 100% only come from inconsistent data; the clamped bound is attainable.
    lo_x, hi_x = bool(flags & _MIN_X), bool(flags & _MAX_X)
    if lo > 100.0:
        lo, lo_x = 100.0, False
    if hi > 100.0:
        hi, hi_x = 100.0, False
    return lo, hi, lo_x, hi_x


def _interval(lo: float, hi: float, flags: int) -> Interval:
    return Interval(*_bounds(lo, hi, flags))


def closed_cycles(
    graph: OwnershipGraph,
    tolerance: float = 1e-9,
    status: Sequence[Status] | None = None,
) -> list[list[str]]:
    """Every closed cycle: a component whose members are each wholly owned inside it.

    Such shares cannot be solved (nobody outside owns anything). Members are sorted ids, cycles
    sorted. With ``status``, components holding a restricted entity are left out: look-through
    fixes that entity at 100 and the rest solves. A single entity wholly owning itself counts.
    """
    found: list[list[str]] = []
    in_start, in_src, in_min = graph.in_start, graph.in_src, graph.in_min
    comps = graph.components()
    comp_of = comps.comp_of
    for group in comps.cyclic_members():
        if status is not None and any(status[x] == Status.RESTRICTED for x in group):
            continue
        c = comp_of[group[0]]
        closed = True
        for x in group:
            inside = 0.0
            for k in range(in_start[x], in_start[x + 1]):
                if comp_of[in_src[k]] == c:
                    inside += in_min[k]
            if inside < 100.0 - tolerance:
                closed = False
                break
        if closed:
            found.append(sorted(graph.ids[x] for x in group))
    return sorted(found)


def compute_ownership(
    graph: OwnershipGraph,
    status: Sequence[Status],
    threshold: Threshold,
    *,
    allow_closed_cycles: bool = False,
) -> OwnershipResult:
    """Both methods for all entities; OwnershipCycleError lists every closed cycle.

    ``allow_closed_cycles`` (for ``--data-faults review``, where the caller has already reported
    the cycles and made their members ``UNKNOWN``) computes on: a closed cycle's look-through
    lower bound is what flows in from outside (0 for a wholly closed one), its upper bound 100.
    """
    if len(status) != len(graph):
        raise ValueError(f"{len(status)} statuses for {len(graph)} entities")
    if not allow_closed_cycles:
        cycles = closed_cycles(graph, threshold.tolerance, status)
        if cycles:
            raise OwnershipCycleError(cycles=cycles)
    control = _control(graph, status, threshold)
    lo, hi, flags = _look_through(graph, status)
    return OwnershipResult(graph, status, control, lo, hi, flags)


def _control(graph: OwnershipGraph, status: Sequence[Status], threshold: Threshold) -> _Control:
    """Least fixpoint of the definite and possible sets, breadth-first from the sources."""
    n = len(graph)
    state = _Control(n)
    cmin, cmax, flags = state.cmin, state.cmax, state.flags
    definite, possible = state.definite, state.possible
    def_parent, pos_parent = state.def_parent, state.pos_parent
    fixed = bytearray(n)
    def_queue: list[int] = []
    pos_queue: list[int] = []
    for x, st in enumerate(status):
        if st == Status.RESTRICTED:
            fixed[x] = definite[x] = 1
            def_queue.append(x)
        if st != Status.CLEAR:
            possible[x] = 1
            pos_queue.append(x)

    def also_possible(y: int, x: int) -> None:
        if not possible[y]:
            possible[y] = 1
            pos_parent[y] = x
            pos_queue.append(y)

    # Becoming definite can make an entity possible, never the reverse: drain definite first.
    _drain(
        graph,
        fixed,
        def_queue,
        definite,
        def_parent,
        cmin,
        graph.in_min,
        flags,
        _MIN_X,
        _min_exclusive,
        threshold.lower_crosses,
        also_possible,
    )
    _drain(
        graph,
        fixed,
        pos_queue,
        possible,
        pos_parent,
        cmax,
        graph.in_max,
        flags,
        _MAX_X,
        _max_exclusive,
        threshold.upper_crosses,
        None,
    )
    return state


def _min_exclusive(share: Interval) -> bool:
    return share.min_exclusive


def _max_exclusive(share: Interval) -> bool:
    return share.max_exclusive


def _drain(
    graph: OwnershipGraph,
    fixed: bytearray,
    queue: list[int],
    marked: bytearray,
    parent: list[int],
    sums: list[float],
    shares: list[float],
    flags: bytearray,
    bit: int,
    exclusive: Callable[[Interval], bool],
    crosses: Callable[[float, bool], bool],
    on_mark: Callable[[int, int], None] | None,
) -> None:
    """Propagate one bound of the control fixpoint along edges until the queue is empty.

    Each entity in ``queue`` adds its share (``shares``: min or max per edge) to every entity
    it owns; one that crosses with the threshold test ``crosses`` is marked, remembers the owner
    that tipped it as its witness, and is queued in turn. Work is proportional to edges.
    """
    out_start, out_dst, out_edge, in_share = (
        graph.out_start,
        graph.out_dst,
        graph.out_edge,
        graph.in_share,
    )
    head = 0
    while head < len(queue):
        x = queue[head]
        head += 1
        for j in range(out_start[x], out_start[x + 1]):
            y = out_dst[j]
            if fixed[y]:
                continue
            k = out_edge[j]
            share = shares[k]
            total = sums[y] + share
            sums[y] = total
            if share > 0.0 and exclusive(in_share[k]):
                flags[y] |= bit
            if not marked[y] and crosses(total, bool(flags[y] & bit)):
                marked[y] = 1
                parent[y] = x
                queue.append(y)
                if on_mark is not None:
                    on_mark(y, x)


def _look_through(
    graph: OwnershipGraph, status: Sequence[Status]
) -> tuple[list[float], list[float], bytearray]:
    """Lower and upper look-through shares with their exclusivity flags, in topological order."""
    n = len(graph)
    lo = [0.0] * n
    hi = [0.0] * n
    flags = bytearray(n)
    in_start, in_src, in_min, in_max = graph.in_start, graph.in_src, graph.in_min, graph.in_max
    in_share = graph.in_share
    comps = graph.components()
    members, start, cyclic = comps.members, comps.start, comps.cyclic
    restricted, clear = Status.RESTRICTED, Status.CLEAR
    for c in range(len(comps)):
        if cyclic[c]:
            group = members[start[c] : start[c + 1]]
            _solve_component(graph, status, group, lo, _MIN_X, flags)
            _solve_component(graph, status, group, hi, _MAX_X, flags)
            continue
        x = members[start[c]]
        st = status[x]
        if st == restricted:
            lo[x] = hi[x] = 100.0
            continue
        a = b = 0.0
        f = 0
        for k in range(in_start[x], in_start[x + 1]):
            o = in_src[k]
            v = hi[o]
            if v == 0.0:  # nothing restricted upstream of this owner, even possibly
                continue
            t = in_max[k] * v
            if t > 0.0:
                b += t
                if flags[o] & _MAX_X or in_share[k].max_exclusive:
                    f |= _MAX_X
            v = lo[o]
            t = in_min[k] * v
            if t > 0.0:
                a += t
                if flags[o] & _MIN_X or in_share[k].min_exclusive:
                    f |= _MIN_X
        a /= 100.0
        b /= 100.0
        if a > 100.0:
            a, f = 100.0, f & ~_MIN_X
        if st != clear:  # unknown: possibly restricted itself, so wholly for the upper bound
            b, f = 100.0, f & ~_MAX_X
        elif b > 100.0:
            b, f = 100.0, f & ~_MAX_X
        lo[x] = a
        hi[x] = b
        flags[x] = f
    return lo, hi, flags


def _solve_component(
    graph: OwnershipGraph,
    status: Sequence[Status],
    group: list[int],
    value: list[float],
    bit: int,
    flags: bytearray,
) -> None:
    """Fill ``value`` (lower bound when ``bit`` is _MIN_X, else upper) for one cyclic component."""
    upper = bit == _MAX_X
    shares = graph.in_max if upper else graph.in_min
    in_start, in_src, in_share = graph.in_start, graph.in_src, graph.in_share
    free: list[int] = []
    for x in group:
        st = status[x]
        if st == Status.RESTRICTED or (upper and st == Status.UNKNOWN):
            value[x] = 100.0  # a source: its own owners do not matter
        else:
            free.append(x)
    if not free:
        return
    pos = {x: i for i, x in enumerate(free)}
    b: list[float] = []
    rows: list[list[tuple[int, float]]] = []
    for x in free:
        acc = 0.0
        row: list[tuple[int, float]] = []
        for k in range(in_start[x], in_start[x + 1]):
            o = in_src[k]
            i = pos.get(o)
            if i is None:  # outside the component, or a source inside it: already known
                acc += shares[k] * value[o] / 100.0
            else:
                row.append((i, shares[k] / 100.0))
        b.append(acc)
        rows.append(row)
    for x, v in zip(free, solve_clamped(b, rows, stall_to_full=upper), strict=True):
        value[x] = v
    # Exclusivity spreads along positive terms (a positive share times a positive owner value):
    # seeded by exclusive shares and flagged owners, then carried forward along the cycle's
    # edges, each member once (a pass over all of them per step took a big ring's square).
    queue: list[int] = []
    for x in free:
        if value[x] >= 100.0:
            continue
        if not flags[x] & bit:
            for k in range(in_start[x], in_start[x + 1]):
                o = in_src[k]
                if shares[k] > 0.0 and value[o] > 0.0:
                    share = in_share[k]
                    if flags[o] & bit or (share.max_exclusive if upper else share.min_exclusive):
                        flags[x] |= bit
                        break
        if flags[x] & bit:
            queue.append(x)
    out_start, out_dst, out_edge = graph.out_start, graph.out_dst, graph.out_edge
    while queue:
        o = queue.pop()
        if value[o] <= 0.0:
            continue
        for j in range(out_start[o], out_start[o + 1]):
            x = out_dst[j]
            if x in pos and not flags[x] & bit and value[x] < 100.0 and shares[out_edge[j]] > 0.0:
                flags[x] |= bit
                queue.append(x)

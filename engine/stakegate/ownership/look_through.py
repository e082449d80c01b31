"""The ``look_through`` method: shares multiplied along chains.

Strongly connected components are solved in topological order: a plain weighted sum per acyclic
entity, a small linear system per cross-holding cycle (``_linear.py``). Each bound remembers
whether it is exclusive: a sum or product is exclusive at a bound when a positive term of it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from stakegate.ownership._linear import solve_clamped
from stakegate.ownership.evidence import MAX_EXCLUSIVE, MIN_EXCLUSIVE
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.look_through_rounds import ROUNDS_FROM, WIDTH, Cells, Rounds

__all__ = ["look_through_bounds"]

_MIN_X = MIN_EXCLUSIVE  # bit in a flags bytearray: the lower bound is exclusive
_MAX_X = MAX_EXCLUSIVE  # bit in a flags bytearray: the upper bound is exclusive


def look_through_bounds(
    graph: OwnershipGraph,
    status: Sequence[Status],
    *,
    rounds_from: int = ROUNDS_FROM,
    width: int = WIDTH,
) -> tuple[list[float], list[float], bytearray]:
    """Lower and upper look-through shares with their exclusivity flags, in topological order:
    from ``rounds_from`` entities in rounds while they average ``width`` components
    (``look_through_rounds.py``), then one component at a time. Both give the same bits."""
    n = len(graph)
    comps = graph.components()
    solved = Rounds(graph, status, _solve_cycle).run(width) if n >= rounds_from else None
    done: bytearray | None = None
    if solved is not None:
        lo, hi, flags, done = solved
        if done is None:
            return lo, hi, flags
    else:
        lo, hi, flags = [0.0] * n, [0.0] * n, bytearray(n)
    in_start, in_src, in_min, in_max = graph.in_start, graph.in_src, graph.in_min, graph.in_max
    in_share = graph.in_share
    members, start, cyclic = comps.members, comps.start, comps.cyclic
    restricted, clear = Status.RESTRICTED, Status.CLEAR
    for c in range(len(comps)):
        if done is not None and done[c]:
            continue
        if cyclic[c]:
            group = members[start[c] : start[c + 1]]
            _solve_cycle(graph, status, group, lo, hi, flags)
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


def _solve_cycle(
    graph: OwnershipGraph,
    status: Sequence[Status],
    group: Sequence[int],
    lo: Cells,
    hi: Cells,
    flags: Cells,
) -> None:
    """Both bounds of one cyclic component, its owners outside it already known."""
    _solve_component(graph, status, group, lo, _MIN_X, flags)
    _solve_component(graph, status, group, hi, _MAX_X, flags)


def _solve_component(
    graph: OwnershipGraph,
    status: Sequence[Status],
    group: Sequence[int],
    value: Cells,
    bit: int,
    flags: Cells,
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
        b.append(float(acc))  # a plain float even from the rounds' numpy arrays (10x quicker sums)
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

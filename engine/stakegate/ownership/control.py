"""The ``control`` method: a least fixpoint over the sets of definitely and possibly restricted
entities.

An entity enters each set once and then pushes its share to what it owns (a worklist along
out-edges), so the work is proportional to the edges, not to the paths. Each entry remembers the
owner that made it cross, the witness its evidence starts from (``evidence.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from stakegate.ownership.evidence import MAX_EXCLUSIVE, MIN_EXCLUSIVE
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval, Threshold

__all__ = ["ControlState", "control_fixpoint"]

_MIN_X = MIN_EXCLUSIVE  # bit in a flags bytearray: the lower bound is exclusive
_MAX_X = MAX_EXCLUSIVE  # bit in a flags bytearray: the upper bound is exclusive


class ControlState:
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


def control_fixpoint(
    graph: OwnershipGraph, status: Sequence[Status], threshold: Threshold
) -> ControlState:
    """Least fixpoint of the definite and possible sets, breadth-first from the sources."""
    n = len(graph)
    state = ControlState(n)
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

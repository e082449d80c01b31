"""The ownership graph in compact, index-based form, and its strongly connected components.

Registers reach millions of entities, so the graph keeps flat per-edge lists (compressed sparse
rows, one set per direction) instead of an object per entity or edge: the ownership fixpoints
walk them in loops that cost a few list reads per edge. Every walk here is iterative; a
million-level holding chain must not hit Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum

from stakegate.ownership.interval import Interval

__all__ = ["Components", "OwnershipGraph", "Status"]


class Status(IntEnum):
    """Jurisdiction status of one entity (see ARCHITECTURE.md, "Jurisdiction status")."""

    CLEAR = 0
    UNKNOWN = 1
    RESTRICTED = 2


class Components:
    """Strongly connected components in topological order: owners before what they own.

    ``members[start[c]:start[c + 1]]`` are the entity indices of component ``c``; ``cyclic[c]``
    is 1 when the component holds a cycle (two or more members, or an entity owning itself).
    """

    __slots__ = ("comp_of", "cyclic", "members", "start")

    def __init__(
        self, comp_of: list[int], members: list[int], start: list[int], cyclic: bytearray
    ) -> None:
        self.comp_of = comp_of
        self.members = members
        self.start = start
        self.cyclic = cyclic

    def __len__(self) -> int:
        return len(self.start) - 1

    def __repr__(self) -> str:
        return f"<Components count={len(self)} cyclic={sum(self.cyclic)}>"

    def cyclic_members(self) -> Iterable[list[int]]:
        """The member lists of every cyclic component, in topological order."""
        start, members = self.start, self.members
        for c, is_cyclic in enumerate(self.cyclic):
            if is_cyclic:
                yield members[start[c] : start[c + 1]]


class OwnershipGraph:
    """Entities ``0..n-1`` and their ownership edges, with shares as :class:`Interval`.

    In-edges (the owners of ``x``) are ``in_src[k]`` / ``in_share[k]`` for ``k`` in
    ``range(in_start[x], in_start[x + 1])``; ``in_min`` / ``in_max`` repeat the share bounds as
    plain floats for the hot loops. Out-edges (what ``x`` owns) are ``out_dst[j]`` with the
    in-edge index ``out_edge[j]`` for ``j`` in ``range(out_start[x], out_start[x + 1])``.
    Parallel records for the same owner and owned entity are merged into one edge whose share
    is their sum, which is what both methods would compute from them anyway.
    """

    __slots__ = (
        "_components",
        "_index",
        "ids",
        "in_max",
        "in_min",
        "in_share",
        "in_src",
        "in_start",
        "out_dst",
        "out_edge",
        "out_start",
    )

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids: list[str] = list(ids)
        self._index: dict[str, int] = {}
        for i, entity_id in enumerate(self.ids):
            if self._index.setdefault(entity_id, i) != i:
                raise ValueError(f"duplicate entity id {entity_id!r}")
        n = len(self.ids)
        self.in_start: list[int] = [0] * (n + 1)
        self.in_src: list[int] = []
        self.in_share: list[Interval] = []
        self.in_min: list[float] = []
        self.in_max: list[float] = []
        self.out_start: list[int] = [0] * (n + 1)
        self.out_dst: list[int] = []
        self.out_edge: list[int] = []
        self._components: Components | None = None

    @classmethod
    def build(
        cls, ids: Sequence[str], edges: Iterable[tuple[str, str, Interval]]
    ) -> OwnershipGraph:
        """Index ``ids`` and their ``(owner, owned, share)`` edges; unknown ids raise ValueError."""
        graph = cls(ids)
        index = graph._index
        src: list[int] = []
        dst: list[int] = []
        share: list[Interval] = []
        for owner, owned, interval in edges:
            o = index.get(owner)
            d = index.get(owned)
            if o is None or d is None:
                missing = owner if o is None else owned
                raise ValueError(f"ownership {owner!r} -> {owned!r}: unknown entity {missing!r}")
            src.append(o)
            dst.append(d)
            share.append(interval)
        graph._fill(src, dst, share)
        return graph

    def _fill(self, src: list[int], dst: list[int], share: list[Interval]) -> None:
        n = len(self.ids)
        # Counting sort of the edges by owned entity gives the in-edge rows.
        start = self.in_start
        fill = _row_starts(start, dst)
        m = len(src)
        in_src = [0] * m
        in_share: list[Interval] = [Interval(0.0, 0.0)] * m
        for k in range(m):
            pos = fill[dst[k]]
            fill[dst[k]] = pos + 1
            in_src[pos] = src[k]
            in_share[pos] = share[k]
        in_src, in_share, start = _merge_parallel(n, start, in_src, in_share)
        self.in_start, self.in_src, self.in_share = start, in_src, in_share
        self.in_min = [s.min for s in in_share]
        self.in_max = [s.max for s in in_share]
        # Out-edge rows: a second counting sort, by owner, pointing back at the in-edges.
        m = len(in_src)
        out_start = self.out_start
        fill = _row_starts(out_start, in_src)
        out_dst = [0] * m
        out_edge = [0] * m
        for x in range(n):
            for k in range(start[x], start[x + 1]):
                o = in_src[k]
                pos = fill[o]
                fill[o] = pos + 1
                out_dst[pos] = x
                out_edge[pos] = k
        self.out_dst, self.out_edge = out_dst, out_edge

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        cyclic = "?" if self._components is None else str(sum(self._components.cyclic))
        return (
            f"<OwnershipGraph entities={len(self.ids)} edges={len(self.in_src)} "
            f"cyclic_components={cyclic}>"
        )

    @property
    def edge_count(self) -> int:
        return len(self.in_src)

    @property
    def positions(self) -> Mapping[str, int]:
        """Entity id -> index, for callers that look up many (not to be changed)."""
        return self._index

    def index(self, entity_id: str) -> int:
        """The index of ``entity_id``; ValueError when it is not in the graph."""
        try:
            return self._index[entity_id]
        except KeyError:
            raise ValueError(f"unknown entity {entity_id!r}") from None

    def owners(self, x: int) -> list[tuple[int, Interval]]:
        """Direct owners of ``x`` with their shares."""
        lo, hi = self.in_start[x], self.in_start[x + 1]
        return list(zip(self.in_src[lo:hi], self.in_share[lo:hi], strict=True))

    def owned(self, x: int) -> list[tuple[int, Interval]]:
        """Entities ``x`` owns directly, with the shares it holds."""
        lo, hi = self.out_start[x], self.out_start[x + 1]
        share = self.in_share
        return [(self.out_dst[j], share[self.out_edge[j]]) for j in range(lo, hi)]

    def components(self) -> Components:
        """Strongly connected components (computed once, iterative Tarjan)."""
        if self._components is None:
            self._components = _tarjan(self)
        return self._components


def _row_starts(start: list[int], keys: list[int]) -> list[int]:
    """Counting sort's first pass: fill ``start`` (zeros, one more than the nodes) with the
    offset of each key's row, and return a copy of the row starts to place entries with."""
    for key in keys:
        start[key + 1] += 1
    for i in range(len(start) - 1):
        start[i + 1] += start[i]
    return start[:-1]


def _merge_parallel(
    n: int, start: list[int], src: list[int], share: list[Interval]
) -> tuple[list[int], list[Interval], list[int]]:
    """Merge in-edges with the same owner into one whose bounds are the sums."""
    duplicated = False
    for x in range(n):
        lo, hi = start[x], start[x + 1]
        if hi - lo > 1 and len(set(src[lo:hi])) != hi - lo:
            duplicated = True
            break
    if not duplicated:
        return src, share, start
    new_src: list[int] = []
    new_share: list[Interval] = []
    new_start = [0] * (n + 1)
    for x in range(n):
        row: dict[int, Interval] = {}
        for k in range(start[x], start[x + 1]):
            prev = row.get(src[k])
            s = share[k]
            row[src[k]] = (
                s
                if prev is None
                else Interval(
                    prev.min + s.min,
                    prev.max + s.max,
                    prev.min_exclusive or s.min_exclusive,
                    prev.max_exclusive or s.max_exclusive,
                )
            )
        new_src.extend(row)
        new_share.extend(row.values())
        new_start[x + 1] = len(new_src)
    return new_src, new_share, new_start


def _tarjan(graph: OwnershipGraph) -> Components:
    """Iterative Tarjan over owner -> owned edges; components come out sinks first."""
    n = len(graph)
    out_start, out_dst = graph.out_start, graph.out_dst
    index = [-1] * n
    low = [0] * n
    on_stack = bytearray(n)
    cursor = [0] * n  # next out-edge to look at, per entity on the call stack
    stack: list[int] = []
    comp_of = [0] * n
    members: list[int] = []
    bounds: list[int] = [0]
    counter = 0
    for root in range(n):
        if index[root] != -1:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = 1
        cursor[root] = out_start[root]
        call = [root]
        while call:
            v = call[-1]
            j, end = cursor[v], out_start[v + 1]
            descended = False
            while j < end:
                w = out_dst[j]
                j += 1
                if index[w] == -1:
                    cursor[v] = j
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = 1
                    cursor[w] = out_start[w]
                    call.append(w)
                    descended = True
                    break
                if on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
            if descended:
                continue
            call.pop()
            if low[v] == index[v]:
                c = len(bounds) - 1
                while True:
                    w = stack.pop()
                    on_stack[w] = 0
                    comp_of[w] = c
                    members.append(w)
                    if w == v:
                        break
                bounds.append(len(members))
            if call:
                u = call[-1]
                if low[v] < low[u]:
                    low[u] = low[v]
    return _topological(graph, comp_of, members, bounds)


def _topological(
    graph: OwnershipGraph, comp_of: list[int], members: list[int], bounds: list[int]
) -> Components:
    """Reverse Tarjan's sink-first order so that owners come first, and flag cyclic ones."""
    count = len(bounds) - 1
    new_members: list[int] = []
    start = [0]
    cyclic = bytearray(count)
    renumber = [0] * count
    in_start, in_src = graph.in_start, graph.in_src
    for new_c, c in enumerate(range(count - 1, -1, -1)):
        renumber[c] = new_c
        group = members[bounds[c] : bounds[c + 1]]
        group.sort()
        new_members.extend(group)
        start.append(len(new_members))
        if len(group) > 1:
            cyclic[new_c] = 1
        else:
            x = group[0]
            if x in in_src[in_start[x] : in_start[x + 1]]:
                cyclic[new_c] = 1
    return Components([renumber[c] for c in comp_of], new_members, start, cyclic)

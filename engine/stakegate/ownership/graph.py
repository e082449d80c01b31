"""The ownership graph in compact, index-based form, and its strongly connected components.

Registers reach millions of entities, so the graph keeps flat per-edge lists (compressed sparse
rows, one set per direction) instead of an object per entity or edge: the ownership fixpoints
walk them in loops that cost a few list reads per edge. Every walk here is iterative; a
million-level holding chain must not hit Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum

import numpy as np

from stakegate.errors import EngineError
from stakegate.ownership.interval import Interval

__all__ = ["Components", "OwnershipGraph", "Status", "row_starts"]


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
        "_edges",
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
        # Per in-edge, its owner and owned entity, and the ints the lists hold: for components().
        self._edges: tuple[np.ndarray, np.ndarray, _IntPool] | None = None

    @classmethod
    def build(
        cls, ids: Sequence[str], edges: Iterable[tuple[str, str, Interval]]
    ) -> OwnershipGraph:
        """Index ``ids`` and their ``(owner, owned, share)`` edges; unknown ids raise ValueError."""
        owners: list[str] = []
        owned: list[str] = []
        shares: list[Interval] = []
        for owner, target, share in edges:
            owners.append(owner)
            owned.append(target)
            shares.append(share)
        return cls.from_columns(ids, owners, owned, shares)

    @classmethod
    def from_columns(
        cls,
        ids: Sequence[str],
        owners: Sequence[str],
        owned: Sequence[str],
        shares: Sequence[Interval],
    ) -> OwnershipGraph:
        """``build`` from the edges as three columns (no tuple per edge: 2M edges held as tuples
        cost about 180 MB at the peak of a 1M screening)."""
        graph = cls(ids)
        index = graph._index
        try:  # map: no Python bytecode per edge (1M entities: 1.8 s as comprehensions)
            src = np.fromiter(map(index.__getitem__, owners), dtype=np.int64, count=len(owners))
            dst = np.fromiter(map(index.__getitem__, owned), dtype=np.int64, count=len(owned))
        except KeyError:
            for owner, target in zip(owners, owned, strict=True):
                if owner not in index or target not in index:
                    missing = owner if owner not in index else target
                    raise ValueError(
                        f"ownership {owner!r} -> {target!r}: unknown entity {missing!r}"
                    ) from None
            raise
        graph._fill(src, dst, shares)
        return graph

    def _fill(self, src: np.ndarray, by_owned: np.ndarray, share: Sequence[Interval]) -> None:
        """Both row sets by stable counting sorts (numpy: 1M entities took 6 s as Python loops).
        In-edges keep the order their records came in; out-edges follow in-edge order."""
        n = len(self.ids)
        order = np.argsort(by_owned, kind="stable")
        start = row_starts(by_owned, n)
        in_src = src[order]
        in_share = _objects(share)[order].tolist()
        owned_of = by_owned[order]
        if _has_parallel(owned_of, in_src, n):
            merged, in_share, merged_start = _merge_parallel(
                n, start.tolist(), in_src.tolist(), in_share
            )
            in_src = np.asarray(merged, dtype=np.int64)
            start = np.asarray(merged_start, dtype=np.int64)
            owned_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(start))
        ints = _IntPool(max(n, len(in_src)) + 1)
        self.in_start, self.in_src, self.in_share = ints(start), ints(in_src), in_share
        self.in_min = [s.min for s in in_share]
        self.in_max = [s.max for s in in_share]
        # Out-edge rows: in-edge positions sorted by owner (stable), so each owner's row lists
        # what it owns in the order of the owned entities.
        out_edge = np.argsort(in_src, kind="stable")
        self.out_start = ints(row_starts(in_src, n))
        self.out_edge = ints(out_edge)
        self.out_dst = ints(owned_of[out_edge])
        self._edges = (in_src, owned_of, ints)

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
        """Strongly connected components in topological order (computed once)."""
        if self._components is None:
            assert self._edges is not None  # set by _fill, dropped once the components exist
            self._components = _components(len(self.ids), *self._edges)
            self._edges = None  # only needed for this
        return self._components


def row_starts(keys: np.ndarray, n: int) -> np.ndarray:
    """Row offsets: row ``x`` of the entries sorted by key is ``[start[x], start[x + 1])``."""
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=start[1:])
    return start


class _IntPool:
    """The ints ``0..size-1``, made once, handed out as lists of shared references.

    The graph's rows (offsets, entity and edge indices, components) hold millions of ints. Each
    ``tolist()`` would make every one afresh: at 1M entities about 200 MB more than one int
    per value, which all the lists share.
    """

    __slots__ = ("_ints",)

    def __init__(self, size: int) -> None:
        self._ints = np.arange(size, dtype=np.int64).astype(object)

    def __call__(self, indices: np.ndarray) -> list[int]:
        result: list[int] = self._ints[indices].tolist()
        return result


def _objects(items: Sequence[object]) -> np.ndarray:
    """``items`` as a numpy array of references: indexing it moves references, not copies (no
    temporary int per edge, which would stay in the heap's arenas)."""
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _has_parallel(owned: np.ndarray, owner: np.ndarray, n: int) -> bool:
    """Whether two edges join the same owner to the same owned entity."""
    if len(owned) < 2:
        return False
    pairs = np.sort(owned * n + owner)
    return bool((pairs[1:] == pairs[:-1]).any())


def _merge_parallel(
    n: int, start: list[int], src: list[int], share: list[Interval]
) -> tuple[list[int], list[Interval], list[int]]:
    """Merge in-edges with the same owner into one whose bounds are the sums (called when
    ``_has_parallel`` found some)."""
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


def _components(n: int, owner: np.ndarray, owned: np.ndarray, ints: _IntPool) -> Components:
    """Strongly connected components of the ``owner -> owned`` edges, owners first, by scipy's
    iterative Pearce-Tarjan search (a million-level chain needs no recursion).

    The search numbers components in the order it completes them, and a component completes
    only after every component it reaches: owned entities before their owners. The look-through
    sums rely on the reverse of that order, so it is checked on every edge, not assumed.
    """
    if n == 0:
        return Components([], [], [0], bytearray())
    # Imported here: scipy.sparse takes ~0.2 s to import, which every CLI command would pay.
    from scipy import sparse
    from scipy.sparse import csgraph

    edges = sparse.csr_array((np.ones(len(owner), dtype=np.int8), (owner, owned)), shape=(n, n))
    count, labels = csgraph.connected_components(edges, directed=True, connection="strong")
    comp_of = (count - 1) - labels.astype(np.int64)
    if (comp_of[owner] > comp_of[owned]).any():
        raise EngineError("internal error: ownership components out of topological order")
    members = np.argsort(comp_of, kind="stable")
    sizes = np.bincount(comp_of, minlength=count)
    start = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(sizes, out=start[1:])
    cyclic = sizes > 1
    cyclic[comp_of[owner[owner == owned]]] = True
    return Components(ints(comp_of), ints(members), ints(start), bytearray(cyclic.astype(np.uint8)))

"""Why an entity's restricted share is what it is: the top contributing ownership paths.

Enumerating every path is exponential, so evidence is computed lazily per entity and bounded:

* ``control``: one path per possibly restricted direct owner, the owner's *witness chain*, i.e.
  the owner whose share made it cross the threshold, recorded when it first did during the
  fixpoint. Witnesses entered the fixpoint earlier, so chains are acyclic and end at a source.
  Contribution: the direct share (its lower bound counts only when the owner is definitely
  restricted). Through a cross-holding, a chain may pass through the entity itself (the entity
  made its owner restricted); every other node appears once.
* ``look_through``: a best-first backward search from the entity over simple paths, ordered by an
  admissible bound (the path product so far times the node's own computed share), so the
  first completed paths are the largest. A path stops at a restricted source; at an unknown
  one it is both reported (contributing ``[0, product]``) and continued. The search goes at
  most ``max_path_nodes`` nodes deep: a path that would be longer is *cut* there, reported from
  the node it reached, and contributes that node's own computed share times the product along
  the path (what reaches the entity through those nodes). Searching on to the source would cost
  the path's length for every entity: a 100k ring through one restricted member took the
  square of the ring.

Order: contribution max descending, then min descending, then fewer nodes, then path ids. A
restricted entity's own evidence is the one-node path ``[entity]`` at 100. Shorter paths win
ties because the search can then stop: every path round a ring of unknown members (a closed
cycle screened in review) ties at ``[0, 100]``, and with ids alone deciding, the top few could
only be known after walking the whole ring, for every member.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval

__all__ = ["PathEvidence", "control_evidence", "look_through_evidence"]

# Search budget per entity: states pushed (paths are at most ``max_path_nodes`` deep).
MAX_EXPANSIONS = 100_000
_EPSILON = 1e-12
# Bits of the look-through exclusivity flags (one byte per entity, from compute.py).
MIN_EXCLUSIVE = 1
MAX_EXCLUSIVE = 2


@dataclass(frozen=True, slots=True)
class PathEvidence:
    """One ownership path, restricted (or unknown) source first and the entity last."""

    path: tuple[str, ...]
    edges: tuple[Interval, ...]
    contribution: Interval

    def to_json(self) -> dict[str, object]:
        return {
            "path": list(self.path),
            "edges": [{"min": float(e.min), "max": float(e.max)} for e in self.edges],
            "contribution": {
                "min": float(self.contribution.min),
                "max": float(self.contribution.max),
            },
        }

    def sort_key(self) -> tuple[float, float, int, tuple[str, ...]]:
        return (-self.contribution.max, -self.contribution.min, len(self.path), self.path)


def _share(graph: OwnershipGraph, owner: int, owned: int) -> Interval:
    for k in range(graph.in_start[owned], graph.in_start[owned + 1]):
        if graph.in_src[k] == owner:
            return graph.in_share[k]
    raise ValueError(f"no edge {graph.ids[owner]!r} -> {graph.ids[owned]!r}")


def _own(graph: OwnershipGraph, x: int) -> list[PathEvidence]:
    return [PathEvidence((graph.ids[x],), (), Interval(100.0, 100.0))]


def _top(found: list[PathEvidence], max_paths: int) -> list[PathEvidence]:
    found.sort(key=PathEvidence.sort_key)
    return found[:max_paths]


def control_evidence(
    graph: OwnershipGraph,
    status: Sequence[Status],
    definite: bytearray,
    possible: bytearray,
    def_parent: Sequence[int],
    pos_parent: Sequence[int],
    x: int,
    max_paths: int,
    max_path_nodes: int,
) -> list[PathEvidence]:
    """Witness chains of the possibly restricted direct owners of ``x``."""
    if status[x] == Status.RESTRICTED:
        return _own(graph, x)
    found: list[PathEvidence] = []
    for k in range(graph.in_start[x], graph.in_start[x + 1]):
        o = graph.in_src[k]
        if not possible[o]:
            continue
        share = graph.in_share[k]
        is_definite = bool(definite[o])
        parent = def_parent if is_definite else pos_parent
        chain = [x, o]  # entity first; reversed below
        p = parent[o]
        while p != -1 and len(chain) < max_path_nodes:
            chain.append(p)
            p = parent[p]
        chain.reverse()
        chain = chain[-max_path_nodes:]
        edges = tuple(_share(graph, a, b) for a, b in zip(chain, chain[1:], strict=False))
        contribution = Interval(
            share.min if is_definite else 0.0,
            share.max,
            share.min_exclusive and is_definite,
            share.max_exclusive,
        )
        found.append(PathEvidence(tuple(graph.ids[i] for i in chain), edges, contribution))
    return _top(found, max_paths)


def look_through_evidence(
    graph: OwnershipGraph,
    status: Sequence[Status],
    lo: Sequence[float],
    hi: Sequence[float],
    flags: Sequence[int],
    x: int,
    max_paths: int,
    max_path_nodes: int,
) -> list[PathEvidence]:
    """The largest simple paths from restricted or unknown sources to ``x``, cut at
    ``max_path_nodes`` nodes (``lo``, ``hi``, ``flags``: every entity's computed share)."""
    if status[x] == Status.RESTRICTED:
        return _own(graph, x)
    if hi[x] <= 0.0 or max_paths == 0:
        return []
    in_start, in_src, in_min, in_max = graph.in_start, graph.in_src, graph.in_min, graph.in_max
    comps = graph.components()
    comp_of, cyclic = comps.comp_of, comps.cyclic
    # Search states: node, parent state, in-edge to the parent's node, path products, depth.
    # Keys are (-max bound, -min bound, reported nodes): a completion's key is never better.
    node = [x]
    parent = [-1]
    edge = [-1]
    pmin = [1.0]
    pmax = [1.0]
    depth = [1]
    heap: list[tuple[float, float, int, int]] = [(-hi[x], -lo[x], 1, 0)]
    found: list[PathEvidence] = []
    keys: list[_Key] = []  # sorted keys of the paths found
    bar: _Key | None = None  # the max_paths-th best key, once there are enough
    while heap:
        neg_max, neg_min, nodes, s = heapq.heappop(heap)
        if bar is not None and _worse(neg_max, neg_min, nodes, bar):
            break  # keys bound every completion, so nothing left can make the top
        v = node[s]
        st = status[v] if s else Status.CLEAR  # the entity's own status is not a source
        last = depth[s] >= max_path_nodes
        share: tuple[float, float, bool, bool] | None = None
        if st == Status.RESTRICTED:
            share = (100.0, 100.0, False, False)
        elif st == Status.UNKNOWN:
            share = (0.0, 100.0, False, False)  # possibly restricted
        elif last:  # cut: what reaches v, as computed
            f = flags[v]
            share = (lo[v], hi[v], bool(f & MIN_EXCLUSIVE), bool(f & MAX_EXCLUSIVE))
        if share is not None:
            path = _path(graph, s, node, parent, edge, pmin, pmax, share)
            found.append(path)
            bisect.insort(keys, (-path.contribution.max, -path.contribution.min, nodes))
            if len(keys) >= max_paths:
                bar = keys[max_paths - 1]
        if last or st == Status.RESTRICTED:
            continue
        a0, b0, n1 = pmin[s] / 100.0, pmax[s] / 100.0, depth[s] + 1
        for k in range(in_start[v], in_start[v + 1]):
            o = in_src[k]
            h = hi[o] * in_max[k] * b0
            if h <= 0.0:
                continue
            a = in_min[k] * a0
            if bar is not None and _worse(-h, -a * lo[o], n1, bar):
                continue
            if cyclic[comp_of[o]] and _on_path(o, s, node, parent, comp_of):
                continue
            if len(node) >= MAX_EXPANSIONS:
                break
            node.append(o)
            parent.append(s)
            edge.append(k)
            pmin.append(a)
            pmax.append(in_max[k] * b0)
            depth.append(n1)
            heapq.heappush(heap, (-h, -a * lo[o], n1, len(node) - 1))
    return _top(found, max_paths)


_Key = tuple[float, float, int]


def _worse(neg_max: float, neg_min: float, nodes: int, bar: _Key) -> bool:
    """Whether a search key ranks below ``bar``: by more than rounding noise on a bound, or on
    equal bounds by more nodes (equal ones may still win on ids, so they are kept)."""
    if neg_max > bar[0] + _EPSILON:
        return True
    if neg_max < bar[0] - _EPSILON:
        return False
    if neg_min > bar[1] + _EPSILON:
        return True
    if neg_min < bar[1] - _EPSILON:
        return False
    return nodes > bar[2]


def _on_path(o: int, s: int, node: list[int], parent: list[int], comp_of: list[int]) -> bool:
    """Whether ``o`` is already on the path of state ``s``.

    A path enters a strongly connected component once and leaves it for good, so only the
    stretch inside ``o``'s component needs looking at.
    """
    c = comp_of[o]
    while s != -1 and comp_of[node[s]] == c:
        if node[s] == o:
            return True
        s = parent[s]
    return False


def _path(
    graph: OwnershipGraph,
    s: int,
    node: list[int],
    parent: list[int],
    edge: list[int],
    pmin: list[float],
    pmax: list[float],
    share: tuple[float, float, bool, bool],
) -> PathEvidence:
    """The evidence of search state ``s``, whose first node holds ``share`` (min, max and
    their exclusivity)."""
    ids: list[str] = []
    edges: list[Interval] = []
    t = s
    while t != -1:  # parents run from the first node to the entity
        ids.append(graph.ids[node[t]])
        if edge[t] != -1:
            edges.append(graph.in_share[edge[t]])
        t = parent[t]
    lo = pmin[s] * share[0]
    hi = pmax[s] * share[1]
    contribution = Interval(
        lo,
        hi,
        lo > 0.0 and (share[2] or any(e.min_exclusive for e in edges)),
        hi > 0.0 and (share[3] or any(e.max_exclusive for e in edges)),
    )
    return PathEvidence(tuple(ids), tuple(edges), contribution)

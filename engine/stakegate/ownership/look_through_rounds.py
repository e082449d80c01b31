"""Look-through bounds in rounds: every entity whose owners are all known, at once, in numpy.

The one-at-a-time loop of ``look_through.py`` took about 4 s of a 1M-entity register's 12 s of
facts. Here a round is Kahn's algorithm over the components: the components with no owner
outside them left unknown are solved together, an acyclic entity by array arithmetic, a cyclic
component by the same solver as before. Each entity's sums add its owners' terms in the order of
its in-edges, one in-edge position per array step, so every bound has the same bits as the loop
gives (numpy's own sums pair the terms differently). A term the loop skips adds ``0.0``, which
leaves a non-negative sum as it was.

Rounds pay off while they are wide. Once they have averaged fewer than ``width`` components
(a long chain), ``run`` stops and the loop finishes the rest, skipping what the rounds did.
An entity with more than ``_WIDE`` owners is summed alone, by one cumulative sum of its terms
(sequential, like the loop), so one company with thousands of shareholders does not cost
thousands of array steps. A cyclic
component of more than ``_BIG_CYCLE`` members also ends the rounds: the cycle solver reads and
writes the bounds one member at a time, which is slower on arrays than on the loop's lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, Protocol

import numpy as np

from stakegate.ownership.evidence import MAX_EXCLUSIVE, MIN_EXCLUSIVE
from stakegate.ownership.graph import OwnershipGraph, Status, row_starts

__all__ = ["ROUNDS_FROM", "WIDTH", "Cells", "Rounds"]

# Rounds are used from this many entities (below, converting the graph costs more than they
# save), and stop once they average fewer than WIDTH components each (below, the loop is
# quicker than a round's dozens of array calls).
ROUNDS_FROM = 20_000
WIDTH = 256
_FREE_ROUNDS = 16
_WIDE = 64  # more owners than this: summed alone
_BIG_CYCLE = 4096  # a ready cyclic component with more members ends the rounds
_MIN_X = np.uint8(MIN_EXCLUSIVE)
_MAX_X = np.uint8(MAX_EXCLUSIVE)
_NONE = np.uint8(0)


class Cells(Protocol):
    """Bounds or flags by entity: the loop's lists, or the rounds' arrays."""

    def __getitem__(self, index: int, /) -> Any: ...
    def __setitem__(self, index: int, value: Any, /) -> None: ...


SolveCycle = Callable[[OwnershipGraph, Sequence[Status], Sequence[int], Cells, Cells, Cells], None]


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of ``range(s, e)`` for each pair, as one index array."""
    counts = ends - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total, dtype=np.int64)


class Rounds:
    """The look-through bounds of one graph, solved round by round (see the module)."""

    def __init__(self, graph: OwnershipGraph, status: Sequence[Status], solve: SolveCycle) -> None:
        self.graph, self.status, self.solve = graph, status, solve
        n = len(graph)
        comps = graph.components()
        edges = len(graph.in_src)
        # fromiter: about half the time of asarray on lists of ints (1M entities: 1 s in all).
        self.members = np.fromiter(comps.members, dtype=np.int64, count=n)
        self.cstart = np.fromiter(comps.start, dtype=np.int64, count=len(comps.start))
        self.cyclic = np.frombuffer(bytes(comps.cyclic), dtype=np.uint8).astype(bool)
        self.in_start = np.fromiter(graph.in_start, dtype=np.int64, count=n + 1)
        self.src = np.fromiter(graph.in_src, dtype=np.int64, count=edges)
        self.in_min = np.fromiter(graph.in_min, dtype=np.float64, count=edges)
        self.in_max = np.fromiter(graph.in_max, dtype=np.float64, count=edges)
        shares = graph.in_share
        self.x_min = np.fromiter(map(attrgetter("min_exclusive"), shares), bool, count=edges)
        self.x_max = np.fromiter(map(attrgetter("max_exclusive"), shares), bool, count=edges)
        self.state = np.fromiter(status, dtype=np.int8, count=n)
        self.lo = np.zeros(n)
        self.hi = np.zeros(n)
        self.flags = np.zeros(n, dtype=np.uint8)

    def run(
        self, width: int
    ) -> tuple[list[float], list[float], bytearray, bytearray | None] | None:
        """``lo, hi, flags`` as the loop returns them, and the components done (None when every
        one is); None when no round ran. Rounds stop once they have averaged fewer than
        ``width`` components."""
        count = len(self.cstart) - 1
        n = len(self.state)
        sizes = np.diff(self.cstart)
        comp_of = np.empty(n, dtype=np.int64)
        comp_of[self.members] = np.repeat(np.arange(count, dtype=np.int64), sizes)
        owned = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.in_start))
        c_src, c_dst = comp_of[self.src], comp_of[owned]
        cross = c_src != c_dst
        c_src, c_dst = c_src[cross], c_dst[cross]
        waiting = np.bincount(c_dst, minlength=count)  # owners' components not yet solved
        order = np.argsort(c_src, kind="stable")
        next_start, next_comp = row_starts(c_src, count), c_dst[order]
        del comp_of, owned, c_src, c_dst, cross, order
        done = np.zeros(count, dtype=bool)
        ready = np.flatnonzero(waiting == 0)
        rounds = solved = 0
        # A few narrow rounds are fine (a register's roots may be few); a long chain is not.
        width = max(1, width)
        while len(ready) and rounds <= _FREE_ROUNDS + solved // width:
            if sizes[ready].max() > _BIG_CYCLE:
                break  # the loop solves it on lists, quicker than on arrays (300k ring: 1.2 s)
            self._solve(ready)
            rounds, solved = rounds + 1, solved + len(ready)
            done[ready] = True
            follows = next_comp[_ranges(next_start[ready], next_start[ready + 1])]
            touched, times = np.unique(follows, return_counts=True)
            waiting[touched] -= times
            ready = touched[waiting[touched] == 0]
        if not solved:  # the loop from the start: its lists share one 0.0 (no float per entity)
            return None
        lo, hi, flags = self.lo.tolist(), self.hi.tolist(), bytearray(self.flags.tobytes())
        return lo, hi, flags, None if done.all() else bytearray(done.tobytes())

    def _solve(self, ready: np.ndarray) -> None:
        cyclic = self.cyclic[ready]
        for c in ready[cyclic].tolist():
            group = self.members[self.cstart[c] : self.cstart[c + 1]].tolist()
            self.solve(self.graph, self.status, group, self.lo, self.hi, self.flags)
        x = self.members[self.cstart[ready[~cyclic]]]
        state = self.state[x]
        restricted = state == Status.RESTRICTED
        self.lo[x[restricted]] = self.hi[x[restricted]] = 100.0
        x, state = x[~restricted], state[~restricted]
        first, end = self.in_start[x], self.in_start[x + 1]
        wide = end - first > _WIDE
        a, b, f = np.zeros(len(x)), np.zeros(len(x)), np.zeros(len(x), dtype=np.uint8)
        self._sums(first[~wide], end[~wide], a, b, f, np.flatnonzero(~wide))
        for i in np.flatnonzero(wide).tolist():
            # One entity's terms at once: a cumulative sum adds them in order, as the loop does.
            low, high, bits = self._terms(np.arange(first[i], end[i]))
            a[i], b[i] = np.cumsum(low)[-1], np.cumsum(high)[-1]
            f[i] = np.bitwise_or.reduce(bits)
        a /= 100.0
        b /= 100.0
        over = a > 100.0
        a[over], f[over] = 100.0, f[over] & ~_MIN_X
        full = (state != Status.CLEAR) | (b > 100.0)  # unknown: possibly restricted itself
        b[full], f[full] = 100.0, f[full] & ~_MAX_X
        self.lo[x], self.hi[x], self.flags[x] = a, b, f

    def _sums(
        self,
        first: np.ndarray,
        end: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        f: np.ndarray,
        into: np.ndarray,
    ) -> None:
        """Add each entity's terms in in-edge order: step ``j`` adds every entity's ``j``-th."""
        degree = end - first
        for j in range(int(degree.max(initial=0))):
            has = degree > j
            at = into[has]
            low, high, bits = self._terms(first[has] + j)
            a[at] += low
            b[at] += high
            f[at] |= bits

    def _terms(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per in-edge ``k``: its term of the lower and of the upper sum, 0.0 where the loop in
        ``look_through.py`` adds none, and the exclusivity bits the terms carry."""
        o = self.src[k]
        upper, owner_bits = self.hi[o], self.flags[o]
        high = self.in_max[k] * upper
        low = np.where(upper != 0.0, self.in_min[k] * self.lo[o], 0.0)
        high_in, low_in = high > 0.0, low > 0.0
        bits = np.where(high_in & (((owner_bits & _MAX_X) != 0) | self.x_max[k]), _MAX_X, _NONE)
        bits |= np.where(low_in & (((owner_bits & _MIN_X) != 0) | self.x_min[k]), _MIN_X, _NONE)
        return np.where(low_in, low, 0.0), np.where(high_in, high, 0.0), bits

"""Indirect ownership by restricted owners: both methods, for every entity at once, no I/O.

The rule bars an entity "more than 50% owned, directly or indirectly" by restricted owners, and
the two accepted readings of "indirectly" disagree, so both are always computed and reported
(ARCHITECTURE.md, "The two methods, with intervals"):

* ``control`` (``control.py``) is a least fixpoint over the sets of *definitely* and *possibly*
  restricted entities, a worklist whose work is proportional to the edges, not the paths.
* ``look_through`` (``look_through.py``) multiplies shares along chains, component by
  component, with a small linear system per cross-holding cycle (``_linear.py``).

Register shares are intervals, so every result is an interval whose bounds remember whether they
are exclusive: a sum or product is exclusive at a bound when a positive term of it is. Path
evidence is computed lazily (``evidence.py``), only for the entities a caller asks about.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from stakegate import settings
from stakegate.errors import OwnershipCycleError
from stakegate.ownership.control import ControlState, control_fixpoint
from stakegate.ownership.evidence import (
    MAX_EXCLUSIVE,
    MIN_EXCLUSIVE,
    PathEvidence,
    control_evidence,
    look_through_evidence,
)
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval, Threshold, outward
from stakegate.ownership.look_through import look_through_bounds

__all__ = ["METHODS", "Method", "OwnershipResult", "closed_cycles", "compute_ownership"]

Method = Literal["control", "look_through"]
METHODS: tuple[Method, ...] = ("control", "look_through")

_MIN_X = MIN_EXCLUSIVE  # bit in a flags bytearray: the lower bound is exclusive
_MAX_X = MAX_EXCLUSIVE  # bit in a flags bytearray: the upper bound is exclusive
_FULL = Interval(100.0, 100.0)


class OwnershipResult:
    """Restricted share of every entity under both methods; evidence on demand."""

    __slots__ = ("_control", "_hi", "_lo", "_lt_flags", "_sent", "graph", "status")

    def __init__(
        self,
        graph: OwnershipGraph,
        status: Sequence[Status],
        control: ControlState,
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
        self._sent: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

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

    def plain_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Every entity's ``(control_min, control_max, look_through_min, look_through_max)`` as
        an ``n x 4`` array, and which rows are plain: all four bounds inclusive and
        ``0 <= min <= max <= 100`` under both methods, and not restricted (most entities of a
        register; the batch form sends them compactly). Computed once, in numpy."""
        return self._columns()[:2]

    def sent_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The ``plain_columns`` bounds rounded outward to 15 significant digits
        (``interval.outward``: lower bounds down, upper bounds up), and which rows the rounding
        changed; computed once, in one numpy pass, for the batch form."""
        return self._columns()[2:]

    def _columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._sent is None:
            c = self._control
            exact = np.array([c.cmin, c.cmax, self._lo, self._hi], dtype=np.float64).T
            flags = np.frombuffer(c.flags, dtype=np.uint8) | np.frombuffer(
                self._lt_flags, dtype=np.uint8
            )
            restricted = np.fromiter(
                (s == Status.RESTRICTED for s in self.status), dtype=bool, count=len(self.status)
            )
            c_lo, c_hi, l_lo, l_hi = exact.T
            # NaN fails every comparison, so it is never plain.
            plain = (
                ~restricted
                & (flags & (_MIN_X | _MAX_X) == 0)
                & (c_lo >= 0.0) & (c_lo <= c_hi) & (c_hi <= 100.0)
                & (l_lo >= 0.0) & (l_lo <= l_hi) & (l_hi <= 100.0)
            )  # fmt: skip
            sent = np.empty_like(exact)
            sent[:, 0::2] = outward(exact[:, 0::2])
            sent[:, 1::2] = outward(exact[:, 1::2], up=True)
            self._sent = (exact, plain, sent, (sent != exact).any(axis=1))
        return self._sent

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
    control = control_fixpoint(graph, status, threshold)
    lo, hi, flags = look_through_bounds(graph, status)
    return OwnershipResult(graph, status, control, lo, hi, flags)

"""Properties of both ownership methods on random small registers, against independent oracles.

Graphs have at most 8 entities, cycles and self-holdings allowed, and every entity's incoming
maximum shares sum below 100, so no cycle is closed and every linear system is regular. The
oracles are written separately from the engine: path enumeration and exact ``Fraction``
Gaussian elimination for ``look_through``, and a naive "re-evaluate everything until nothing
changes" loop for ``control``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from stakegate.ownership import _linear
from stakegate.ownership.compute import OwnershipResult, compute_ownership
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval, Threshold

R, U, C = Status.RESTRICTED, Status.UNKNOWN, Status.CLEAR
CASES = settings(max_examples=100, deadline=None)


@dataclass(frozen=True)
class Register:
    ids: tuple[str, ...]
    status: tuple[Status, ...]
    edges: tuple[tuple[str, str, Interval], ...]

    def compute(self, threshold: Threshold) -> OwnershipResult:
        graph = OwnershipGraph.build(self.ids, self.edges)
        return compute_ownership(graph, self.status, threshold)


@st.composite
def registers(
    draw: st.DrawFn, acyclic: bool = False, bands: bool = True, unknown: bool = True
) -> Register:
    n = draw(st.integers(2, 8))
    ids = tuple(f"e{i}" for i in range(n))
    statuses = [R, C, U] if unknown else [R, C]
    status = tuple(draw(st.sampled_from(statuses)) for _ in range(n))
    edges: list[tuple[str, str, Interval]] = []
    for d in range(n):
        room = 99  # incoming maximum shares of every entity stay below 100
        candidates = range(d) if acyclic else range(n)
        if not candidates:
            continue
        for o in draw(st.lists(st.sampled_from(candidates), unique=True, max_size=4)):
            if room < 1:
                break
            hi = draw(st.integers(1, min(room, 70)))
            room -= hi
            lo = draw(st.integers(0, hi)) if bands else hi
            lo_x = lo < hi and draw(st.booleans()) if bands else False
            hi_x = lo < hi and draw(st.booleans()) if bands else False
            edges.append((ids[o], ids[d], Interval(lo, hi, lo_x, hi_x)))
    return Register(ids, status, tuple(edges))


thresholds = st.builds(Threshold, st.sampled_from([25.0, 50.0, 75.0]), st.sampled_from([">", ">="]))


def fraction_solve(reg: Register, upper: bool) -> dict[str, Fraction]:
    """Exact look-through bound: ``(I - M) L = b`` by Gaussian elimination over fractions."""
    n = len(reg.ids)
    pos = {x: i for i, x in enumerate(reg.ids)}
    fixed = [s == R or (upper and s == U) for s in reg.status]
    a = [[Fraction(int(i == j)) for j in range(n)] + [Fraction(0)] for i in range(n)]
    for i in range(n):
        if fixed[i]:
            a[i][n] = Fraction(100)
    for o, d, share in reg.edges:
        if not fixed[pos[d]]:
            a[pos[d]][pos[o]] -= Fraction(share.max if upper else share.min) / 100
    for col in range(n):
        pivot = next(r for r in range(col, n) if a[r][col] != 0)
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col and a[r][col] != 0:
                factor = a[r][col] / a[col][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=True)]
    return {x: a[i][n] / a[i][i] for i, x in enumerate(reg.ids)}


def path_sum(reg: Register, upper: bool) -> dict[str, float]:
    """Acyclic look-through bound: the sum over source-to-entity paths of the share products."""
    owners: dict[str, list[tuple[str, float]]] = {x: [] for x in reg.ids}
    for o, d, share in reg.edges:
        owners[d].append((o, share.max if upper else share.min))
    source = {x: s == R or (upper and s == U) for x, s in zip(reg.ids, reg.status, strict=True)}

    def walk(x: str) -> float:  # recursion is fine on 8 acyclic nodes
        if source[x]:
            return 100.0
        return sum(share / 100 * walk(o) for o, share in owners[x])

    return {x: walk(x) for x in reg.ids}


def naive_control(reg: Register, threshold: Threshold) -> dict[str, Interval]:
    """Re-evaluate both sets for every entity until neither changes."""
    definite = {x for x, s in zip(reg.ids, reg.status, strict=True) if s == R}
    possible = {x for x, s in zip(reg.ids, reg.status, strict=True) if s != C}
    sums: dict[str, Interval] = {}
    changed = True
    while changed:
        changed = False
        for x, status in zip(reg.ids, reg.status, strict=True):
            into = [(o, s) for o, d, s in reg.edges if d == x]
            lo = sum(s.min for o, s in into if o in definite)
            hi = sum(s.max for o, s in into if o in possible)
            lo_x = any(s.min_exclusive and s.min > 0 for o, s in into if o in definite)
            hi_x = any(s.max_exclusive and s.max > 0 for o, s in into if o in possible)
            sums[x] = Interval(min(lo, 100), min(hi, 100), lo_x, hi_x)
            if status == R:
                sums[x] = Interval(100, 100)
            if x not in definite and threshold.lower_crosses(lo, lo_x):
                definite.add(x)
                changed = True
            if x not in possible and (x in definite or threshold.upper_crosses(hi, hi_x)):
                possible.add(x)
                changed = True
    return sums


def close(a: float, b: float | Fraction) -> bool:
    return math.isclose(a, float(b), rel_tol=1e-9, abs_tol=1e-9)


def all_bounds(reg: Register, result: OwnershipResult) -> dict[str, tuple[float, ...]]:
    out: dict[str, tuple[float, ...]] = {}
    for x in reg.ids:
        c, lt = result.control(x), result.look_through(x)
        out[x] = (c.min, c.max, lt.min, lt.max)
    return out


@contextmanager
def dense_limit(limit: int) -> Iterator[None]:
    saved = _linear.DENSE_LIMIT
    _linear.DENSE_LIMIT = limit
    try:
        yield
    finally:
        _linear.DENSE_LIMIT = saved


@CASES
@given(registers(acyclic=True), thresholds)
def test_look_through_equals_path_enumeration_on_acyclic_graphs(
    reg: Register, threshold: Threshold
) -> None:
    result = reg.compute(threshold)
    lower, upper = path_sum(reg, upper=False), path_sum(reg, upper=True)
    for x in reg.ids:
        assert close(result.look_through(x).min, lower[x])
        assert close(result.look_through(x).max, upper[x])


@CASES
@given(registers(), thresholds, st.sampled_from([200, 0]))
def test_look_through_equals_exact_linear_solve(
    reg: Register, threshold: Threshold, limit: int
) -> None:
    with dense_limit(limit):  # 0 forces Gauss-Seidel iteration on every cycle
        result = reg.compute(threshold)
    lower, upper = fraction_solve(reg, upper=False), fraction_solve(reg, upper=True)
    for x in reg.ids:
        assert close(result.look_through(x).min, lower[x])
        assert close(result.look_through(x).max, upper[x])


def naive_exclusive(reg: Register, result: OwnershipResult, upper: bool) -> dict[str, bool]:
    """Which look-through bounds are exclusive: the least fixpoint of "a positive term (share
    times owner value) has an exclusive share or an exclusive owner", sources never."""
    value = {
        x: result.look_through(x).max if upper else result.look_through(x).min for x in reg.ids
    }
    fixed = {x: s == R or (upper and s == U) for x, s in zip(reg.ids, reg.status, strict=True)}
    flag = dict.fromkeys(reg.ids, False)
    changed = True
    while changed:
        changed = False
        for o, d, share in reg.edges:
            bound, exclusive = (
                (share.max, share.max_exclusive) if upper else (share.min, share.min_exclusive)
            )
            if fixed[d] or flag[d] or bound <= 0 or value[o] <= 0:
                continue
            if exclusive or flag[o]:
                flag[d] = changed = True
    return flag


@CASES
@given(registers(), thresholds, st.sampled_from([200, 0]))
def test_look_through_exclusivity_equals_naive_fixpoint(
    reg: Register, threshold: Threshold, limit: int
) -> None:
    with dense_limit(limit):
        result = reg.compute(threshold)
    lower, upper = naive_exclusive(reg, result, False), naive_exclusive(reg, result, True)
    for x in reg.ids:
        share = result.look_through(x)
        assert (share.min_exclusive, share.max_exclusive) == (lower[x], upper[x]), x


@CASES
@given(registers(), thresholds)
def test_control_equals_naive_fixpoint(reg: Register, threshold: Threshold) -> None:
    result = reg.compute(threshold)
    expected = naive_control(reg, threshold)
    for x in reg.ids:
        got, want = result.control(x), expected[x]
        assert close(got.min, want.min) and close(got.max, want.max), (x, got, want)
        assert (got.min_exclusive, got.max_exclusive) == (want.min_exclusive, want.max_exclusive)


@CASES
@given(registers(), thresholds, st.data())
def test_raising_a_restricted_share_never_lowers_a_bound(
    reg: Register, threshold: Threshold, data: st.DataObject
) -> None:
    status = dict(zip(reg.ids, reg.status, strict=True))
    raisable = [i for i, (o, _, _) in enumerate(reg.edges) if status[o] == R]
    if not raisable:
        return
    i = data.draw(st.sampled_from(raisable))
    o, d, share = reg.edges[i]
    room = int(99 - sum(s.max for _, dd, s in reg.edges if dd == d))
    if room < 1:
        return
    step = data.draw(st.integers(1, room))
    raised = replace(share, min=share.min + step, max=share.max + step)
    bigger = replace(reg, edges=reg.edges[:i] + ((o, d, raised),) + reg.edges[i + 1 :])
    before, after = (
        all_bounds(reg, reg.compute(threshold)),
        all_bounds(bigger, bigger.compute(threshold)),
    )
    for x in reg.ids:
        assert all(b <= a + 1e-9 for b, a in zip(before[x], after[x], strict=True)), x


@CASES
@given(registers(), thresholds, st.randoms(use_true_random=False))
def test_relabeling_changes_nothing(reg: Register, threshold: Threshold, rnd) -> None:  # type: ignore[no-untyped-def]
    order = list(range(len(reg.ids)))
    rnd.shuffle(order)
    rename = {x: f"z{rnd.randrange(10**6)}-{x}" for x in reg.ids}
    relabeled = Register(
        tuple(rename[reg.ids[i]] for i in order),
        tuple(reg.status[i] for i in order),
        tuple((rename[o], rename[d], s) for o, d, s in reversed(reg.edges)),
    )
    before = all_bounds(reg, reg.compute(threshold))
    after = all_bounds(relabeled, relabeled.compute(threshold))
    for x in reg.ids:
        assert all(close(a, b) for a, b in zip(before[x], after[rename[x]], strict=True))


@CASES
@given(registers(), thresholds, st.data())
def test_splitting_an_edge_through_a_wholly_owned_holding_changes_nothing(
    reg: Register, threshold: Threshold, data: st.DataObject
) -> None:
    if not reg.edges:
        return
    i = data.draw(st.integers(0, len(reg.edges) - 1))
    o, d, share = reg.edges[i]
    via = ((o, "holding", Interval.exact(100)), ("holding", d, share))
    split = Register(
        (*reg.ids, "holding"), (*reg.status, C), reg.edges[:i] + via + reg.edges[i + 1 :]
    )
    before = all_bounds(reg, reg.compute(threshold))
    after = all_bounds(split, split.compute(threshold))
    for x in reg.ids:
        assert all(close(a, b) for a, b in zip(before[x], after[x], strict=True)), x


@CASES
@given(registers(bands=False, unknown=False), thresholds)
def test_exact_shares_give_width_zero_intervals(reg: Register, threshold: Threshold) -> None:
    result = reg.compute(threshold)
    for x in reg.ids:
        c, lt = result.control(x), result.look_through(x)
        assert close(c.min, c.max) and close(lt.min, lt.max)
        assert not (c.min_exclusive or c.max_exclusive or lt.min_exclusive or lt.max_exclusive)


@CASES
@given(registers(), thresholds)
def test_bounds_are_ordered_percentages(reg: Register, threshold: Threshold) -> None:
    result = reg.compute(threshold)
    for x in reg.ids:
        for share in (result.control(x), result.look_through(x)):
            assert 0.0 <= share.min <= share.max <= 100.0


@CASES
@given(registers(), thresholds)
def test_evidence_paths_are_simple_ordered_and_end_at_the_entity(
    reg: Register, threshold: Threshold
) -> None:
    result = reg.compute(threshold)
    for x in reg.ids:
        for method in ("control", "look_through"):
            evidence = result.evidence(x, method, max_paths=5, max_path_nodes=32)
            assert len(evidence) <= 5
            keys = [e.sort_key() for e in evidence]
            assert keys == sorted(keys)
            for e in evidence:
                assert e.path[-1] == x
                # A control witness chain may pass through x itself (a cross-holding).
                assert len(set(e.path[:-1])) == len(e.path) - 1
                assert len(e.edges) == len(e.path) - 1
                assert e.contribution.max <= result.share(x, method).max + 1e-9

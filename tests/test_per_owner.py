"""``per_owner`` ownership (the UK's test) against the combined fixpoint and a brute force.

The brute force is the definition: for every seed (an entity restricted, or possibly restricted,
by itself) run the combined control fixpoint with that seed as the only non-clear entity, and
take, per entity, the largest share any single seed gives it. Registers are the small random ones
of ``test_ownership_properties`` (cycles, bands, unknown entities), plus the worked examples of
the issue (X 30% + Y 30%; X 40% direct and 20% through a company it owns).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stakegate.ownership.compute import compute_ownership
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval, Threshold
from stakegate.ownership.per_owner import PerOwnerResult
from tests.test_ownership_properties import Register, registers, thresholds

R, U, C = Status.RESTRICTED, Status.UNKNOWN, Status.CLEAR
CASES = settings(max_examples=150, deadline=None)
_EPS = 1e-9


def _per_owner(reg: Register, threshold: Threshold) -> tuple[OwnershipGraph, PerOwnerResult]:
    graph = OwnershipGraph.build(reg.ids, reg.edges)
    combined = compute_ownership(graph, reg.status, threshold)
    return graph, PerOwnerResult(graph, reg.status, threshold, combined)


def _crossing(bounds: tuple[float, float, bool, bool], threshold: Threshold) -> tuple[bool, bool]:
    lo, hi, lo_x, hi_x = bounds
    return threshold.lower_crosses(lo, lo_x), threshold.upper_crosses(hi, hi_x)


def _brute(reg: Register, threshold: Threshold) -> dict[int, tuple[float, float]]:
    """Per entity, the largest control (min, max) any single seed's own fixpoint gives."""
    graph = OwnershipGraph.build(reg.ids, reg.edges)
    n = len(reg.ids)
    best = {x: (0.0, 0.0) for x in range(n)}
    for seed in range(n):
        if reg.status[seed] == C:
            continue
        alone = [reg.status[seed] if x == seed else C for x in range(n)]
        result = compute_ownership(graph, alone, threshold)
        for x in range(n):
            if reg.status[x] == R:
                continue
            lo, hi, _, _ = result.bounds(x, "control")
            best[x] = (max(best[x][0], lo), max(best[x][1], hi))
    return best


@CASES
@given(registers(), thresholds)
def test_per_owner_is_the_largest_single_seed_share(reg: Register, threshold: Threshold) -> None:
    _, result = _per_owner(reg, threshold)
    for x, (lo, hi) in _brute(reg, threshold).items():
        if reg.status[x] == R:
            assert result.bounds(x, "control")[:2] == (100.0, 100.0)
            continue
        got_lo, got_hi, _, _ = result.bounds(x, "control")
        assert math.isclose(got_lo, min(lo, 100.0), abs_tol=_EPS), (x, got_lo, lo)
        assert math.isclose(got_hi, min(hi, 100.0), abs_tol=_EPS), (x, got_hi, hi)


@CASES
@given(registers(), thresholds)
def test_per_owner_never_restricts_more_than_combined(reg: Register, threshold: Threshold) -> None:
    graph, per_owner = _per_owner(reg, threshold)
    combined = compute_ownership(graph, reg.status, threshold)
    for x in range(len(reg.ids)):
        for method in ("control", "look_through"):
            mine = per_owner.bounds(x, method)
            theirs = combined.bounds(x, method)
            assert mine[0] <= theirs[0] + _EPS and mine[1] <= theirs[1] + _EPS, (x, method)
            definite, possible = _crossing(mine, threshold)
            all_definite, all_possible = _crossing(theirs, threshold)
            assert not definite or all_definite
            assert not possible or all_possible


@st.composite
def one_seed(draw: st.DrawFn) -> Register:
    reg = draw(registers())
    seed = draw(st.integers(0, len(reg.ids) - 1))
    kind = draw(st.sampled_from([R, U]))
    status = tuple(kind if x == seed else C for x in range(len(reg.ids)))
    return Register(reg.ids, status, reg.edges)


@CASES
@given(one_seed(), thresholds)
def test_one_seed_agrees_with_combined(reg: Register, threshold: Threshold) -> None:
    graph, per_owner = _per_owner(reg, threshold)
    combined = compute_ownership(graph, reg.status, threshold)
    for x in range(len(reg.ids)):
        assert per_owner.bounds(x, "control") == combined.bounds(x, "control"), x


def _chain(edges: list[tuple[str, str, float]], status: dict[str, Status]) -> Register:
    ids = tuple(status)
    return Register(
        ids, tuple(status.values()), tuple((o, d, Interval.exact(p)) for o, d, p in edges)
    )


UK = Threshold(50.0, ">")
OFAC = Threshold(50.0, ">=")


@pytest.mark.parametrize(
    ("edges", "uk", "ofac"),
    [
        # X 30% + Y 30%: no single owner holds more than 50 (UK allows), together 60 (OFAC denies).
        ([("x", "e", 30.0), ("y", "e", 30.0)], False, True),
        # X 40% directly and 20% through a company X owns 100%: X alone holds 60 under both.
        ([("x", "e", 40.0), ("x", "c", 100.0), ("c", "e", 20.0)], True, True),
        # X and Y each 25% of two companies that each own 50% of E: neither alone controls them
        # (UK allows E); together they hold 50% of each, so both are blocked and so is E (OFAC).
        (
            [("x", "a", 25.0), ("y", "a", 25.0), ("x", "b", 25.0), ("y", "b", 25.0)]
            + [("a", "e", 50.0), ("b", "e", 50.0)],
            False,
            True,
        ),
    ],
)
def test_worked_examples(edges: list[tuple[str, str, float]], uk: bool, ofac: bool) -> None:
    names = sorted({o for o, _, _ in edges} | {d for _, d, _ in edges})
    status = {name: (R if name in ("x", "y") else C) for name in names}
    reg = _chain(edges, status)
    graph, per_owner = _per_owner(reg, UK)
    combined = compute_ownership(graph, reg.status, OFAC)
    e = graph.index("e")
    assert UK.lower_crosses(*_lower(per_owner.bounds(e, "control"))) is uk
    assert OFAC.lower_crosses(*_lower(combined.bounds(e, "control"))) is ofac


def _lower(bounds: tuple[float, float, bool, bool]) -> tuple[float, bool]:
    return bounds[0], bounds[2]


def test_evidence_stays_within_the_best_seed() -> None:
    reg = _chain(
        [("x", "e", 40.0), ("x", "c", 100.0), ("c", "e", 20.0), ("y", "e", 30.0)],
        {"x": R, "y": R, "c": C, "e": C},
    )
    graph, per_owner = _per_owner(reg, UK)
    paths = [item.path for item in per_owner.evidence(graph.index("e"), "control")]
    assert paths == [("x", "e"), ("x", "c", "e")]
    assert per_owner.bounds(graph.index("e"), "control") == (60.0, 60.0, False, False)

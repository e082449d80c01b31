"""Table-driven cases for both ownership methods, with hand-computed answers.

Each ``Case`` is a tiny register: edges ``(owner, owned, share)`` where a share is a number, a
``(min, max)`` band or an ``Interval``; ``R`` and ``U`` name the restricted and unknown
entities. Expected shares are ``(min, max)`` pairs per method; ``blocked`` lists the entities
whose ``control`` lower bound crosses the threshold (restricted ones included).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from stakegate.errors import OwnershipCycleError
from stakegate.ownership.compute import OwnershipResult, closed_cycles, compute_ownership
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval, Threshold

Share = float | tuple[float, float] | Interval
Pair = tuple[float, float]


@dataclass
class Case:
    name: str
    edges: Sequence[tuple[str, str, Share]]
    restricted: set[str]
    control: dict[str, Pair] = field(default_factory=dict)
    look_through: dict[str, Pair] = field(default_factory=dict)
    blocked: set[str] | None = None
    unknown: set[str] = field(default_factory=set)
    threshold: Threshold = Threshold(50)


def _share(share: Share) -> Interval:
    if isinstance(share, Interval):
        return share
    if isinstance(share, tuple):
        return Interval(*share)
    return Interval.exact(share)


def build(
    edges: Sequence[tuple[str, str, Share]],
    restricted: set[str],
    unknown: frozenset[str] | set[str] = frozenset(),
) -> tuple[OwnershipGraph, list[Status]]:
    ids = sorted({e[0] for e in edges} | {e[1] for e in edges} | restricted | unknown)
    graph = OwnershipGraph.build(ids, [(o, d, _share(s)) for o, d, s in edges])
    status = [
        Status.RESTRICTED if i in restricted else Status.UNKNOWN if i in unknown else Status.CLEAR
        for i in ids
    ]
    return graph, status


def run(case: Case) -> OwnershipResult:
    graph, status = build(case.edges, case.restricted, case.unknown)
    return compute_ownership(graph, status, case.threshold)


def close(interval: Interval, pair: Pair) -> bool:
    return math.isclose(interval.min, pair[0], abs_tol=1e-9) and math.isclose(
        interval.max, pair[1], abs_tol=1e-9
    )


GE = Threshold(50, ">=")
CHAIN = [("CN", "KY", 60), ("KY", "SG", 60)]
DIAMOND = [("CN", "A", 60), ("CN", "B", 60), ("A", "X", 30), ("B", "X", 30)]
CROSS = [("CN", "A", 50), ("A", "B", 50), ("B", "A", 40), ("RU", "B", 10)]
FAQ1 = [("X", "A", 50), ("A", "B", 50)]
FAQ2 = [("X", "A", 50), ("X", "B", 50), ("A", "C", 25), ("B", "C", 25)]
FAQ3 = [("X", "A", 50), ("X", "B", 10), ("A", "B", 40)]
FAQ4 = [("X", "A", 25), ("X", "B", 25), ("A", "C", 50), ("B", "C", 50)]
EXCL = Interval(50, 75, min_exclusive=True)

CASES = [
    Case("chain", CHAIN, {"CN"}, {"KY": (60, 60), "SG": (60, 60)},
         {"KY": (60, 60), "SG": (36, 36)}, {"CN", "KY", "SG"}),
    Case("diamond", DIAMOND, {"CN"}, {"A": (60, 60), "X": (60, 60)},
         {"A": (60, 60), "X": (36, 36)}, {"CN", "A", "B", "X"}),
    Case("aggregation across regions", [("CN", "X", 30), ("RU", "X", 25)], {"CN", "RU"},
         {"X": (55, 55)}, {"X": (55, 55)}, {"CN", "RU", "X"}),
    Case("exactly 50 is allowed", [("CN", "X", 50), ("X", "Y", 100)], {"CN"},
         {"X": (50, 50), "Y": (0, 0)}, {"X": (50, 50), "Y": (50, 50)}, {"CN"}),
    Case("cross-holding leaks", CROSS, {"CN", "RU"}, {"A": (50, 50), "B": (10, 10)},
         # A = 50 + 0.4 B, B = 10 + 0.5 A  =>  A = 67.5, B = 43.75
         {"A": (67.5, 67.5), "B": (43.75, 43.75)}, {"CN", "RU"}),
    # >=: A is blocked at 50, so B holds 10 + 50, and then A holds 50 + 40.
    Case("cross-holding with control", CROSS, {"CN", "RU"}, {"A": (90, 90), "B": (60, 60)},
         {"A": (67.5, 67.5), "B": (43.75, 43.75)}, {"CN", "RU", "A", "B"}, threshold=GE),
    Case("band 40-60", [("CN", "X", (40, 60)), ("X", "Y", 100)], {"CN"},
         {"X": (40, 60), "Y": (0, 100)}, {"X": (40, 60), "Y": (40, 60)}, {"CN"}),
    Case("exclusive min crosses >", [("CN", "X", EXCL), ("X", "Y", 100)], {"CN"},
         {"X": (50, 75), "Y": (100, 100)}, {"X": (50, 75), "Y": (50, 75)}, {"CN", "X", "Y"}),
    Case("unknown owner", [("U", "X", 60), ("X", "Y", 100), ("CN", "Y", 10)], {"CN"},
         {"X": (0, 60), "Y": (10, 100)}, {"U": (0, 100), "X": (0, 60), "Y": (10, 70)},
         {"CN"}, unknown={"U"}),
    Case("unknown intermediary passes the lower bound", [("CN", "U", 60), ("U", "X", 100)],
         {"CN"}, {"U": (60, 60), "X": (100, 100)}, {"U": (60, 100), "X": (60, 100)},
         {"CN", "U", "X"}, unknown={"U"}),
    Case("restricted entity ignores its owners", [("A", "CN", 100), ("CN", "A", 10)], {"CN"},
         {"CN": (100, 100), "A": (10, 10)}, {"CN": (100, 100), "A": (10, 10)}, {"CN"}),
    Case("bands summing to 100 inside a cycle clamp the upper bound",
         [("CN", "A", (0, 50)), ("B", "A", (50, 100)), ("A", "B", (50, 100))], {"CN"},
         {"A": (0, 50), "B": (0, 0)}, {"A": (0, 100), "B": (0, 100)}, {"CN"}),
    Case("over-reported shares clamp", [("CN", "X", 70), ("RU", "X", 40)], {"CN", "RU"},
         {"X": (100, 100)}, {"X": (100, 100)}, {"CN", "RU", "X"}),
    # OFAC FAQ 401: "50 percent or more" is ">="; the stakegate default ">" blocks none of them.
    Case("FAQ 401 ex1 >", FAQ1, {"X"}, {"A": (50, 50), "B": (0, 0)},
         {"A": (50, 50), "B": (25, 25)}, {"X"}),
    Case("FAQ 401 ex1 >=", FAQ1, {"X"}, {"A": (50, 50), "B": (50, 50)},
         {"A": (50, 50), "B": (25, 25)}, {"X", "A", "B"}, threshold=GE),
    Case("FAQ 401 ex2 >", FAQ2, {"X"}, {"A": (50, 50), "B": (50, 50), "C": (0, 0)},
         {"C": (25, 25)}, {"X"}),
    Case("FAQ 401 ex2 >=", FAQ2, {"X"}, {"A": (50, 50), "B": (50, 50), "C": (50, 50)},
         {"C": (25, 25)}, {"X", "A", "B", "C"}, threshold=GE),
    Case("FAQ 401 ex3 >", FAQ3, {"X"}, {"A": (50, 50), "B": (10, 10)},
         {"B": (30, 30)}, {"X"}),
    Case("FAQ 401 ex3 >=", FAQ3, {"X"}, {"A": (50, 50), "B": (50, 50)},
         {"B": (30, 30)}, {"X", "A", "B"}, threshold=GE),
    Case("FAQ 401 ex4 >", FAQ4, {"X"}, {"A": (25, 25), "C": (0, 0)}, {"C": (25, 25)}, {"X"}),
    Case("FAQ 401 ex4 >=", FAQ4, {"X"}, {"A": (25, 25), "C": (0, 0)}, {"C": (25, 25)}, {"X"},
         threshold=GE),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case(case: Case) -> None:
    result = run(case)
    for entity, pair in case.control.items():
        assert close(result.control(entity), pair), (entity, result.control(entity))
    for entity, pair in case.look_through.items():
        assert close(result.look_through(entity), pair), (entity, result.look_through(entity))
    if case.blocked is not None:
        blocked = {
            entity
            for entity in result.graph.ids
            if case.threshold.lower_crosses(
                result.control(entity).min, result.control(entity).min_exclusive
            )
        }
        assert blocked == case.blocked


def test_exclusive_flags_propagate() -> None:
    result = run(Case("", [("CN", "X", EXCL), ("X", "Y", 50), ("Y", "Z", 100)], {"CN"}))
    assert result.control("X") == Interval(50, 75, min_exclusive=True)
    assert result.control("Y") == Interval(50, 50)
    assert result.look_through("Y") == Interval(25, 37.5, min_exclusive=True)
    assert result.look_through("Z") == Interval(25, 37.5, min_exclusive=True)


def test_restricted_entity_is_wholly_restricted() -> None:
    result = run(Case("", CHAIN, {"CN"}))
    assert result.control("CN") == Interval(100, 100)
    assert result.look_through("CN") == Interval(100, 100)
    assert [e.to_json() for e in result.evidence("CN", "control")] == [
        {"path": ["CN"], "edges": [], "contribution": {"min": 100.0, "max": 100.0}}
    ]


def test_closed_cycle_raises_with_every_cycle() -> None:
    edges: list[tuple[str, str, Share]] = [
        ("A", "B", 100), ("B", "A", 100),
        ("C", "D", 100), ("D", "E", 100), ("E", "C", 40), ("D", "C", 60),
        ("F", "G", 30), ("G", "F", 100), ("CN", "G", 10),
    ]  # fmt: skip
    graph, status = build(edges, {"CN"})
    with pytest.raises(OwnershipCycleError) as info:
        compute_ownership(graph, status, Threshold(50))
    assert info.value.cycles == [["A", "B"], ["C", "D", "E"]]
    assert closed_cycles(graph) == [["A", "B"], ["C", "D", "E"]]
    assert info.value.exit_code == 2


def test_closed_cycle_through_a_restricted_entity_solves() -> None:
    graph, status = build([("A", "CN", 100), ("CN", "A", 100)], {"CN"})
    assert closed_cycles(graph) == [["A", "CN"]]
    result = compute_ownership(graph, status, Threshold(50))
    assert result.control("A") == Interval(100, 100)
    assert result.look_through("A") == Interval(100, 100)


def test_entity_wholly_owning_itself_is_a_closed_cycle() -> None:
    graph, status = build([("A", "A", 100)], set())
    with pytest.raises(OwnershipCycleError):
        compute_ownership(graph, status, Threshold(50))


def test_long_chain_has_no_recursion_limit() -> None:
    depth = 3000
    ids = ["CN"] + [f"E{i}" for i in range(depth)]
    edges = [(ids[i], ids[i + 1], Interval.exact(100)) for i in range(depth)]
    graph = OwnershipGraph.build(ids, edges)
    status = [Status.RESTRICTED] + [Status.CLEAR] * depth
    result = compute_ownership(graph, status, Threshold(50))
    bottom = ids[-1]
    assert result.control(bottom) == Interval(100, 100)
    assert result.look_through(bottom) == Interval(100, 100)
    for method in ("control", "look_through"):
        (evidence,) = result.evidence(bottom, method, max_paths=5, max_path_nodes=4)
        assert evidence.path == tuple(ids[-4:])
        assert len(evidence.edges) == 3
        assert evidence.contribution == Interval(100, 100)


def test_evidence_of_a_chain() -> None:
    result = run(Case("", CHAIN, {"CN"}))
    assert [e.to_json() for e in result.evidence("SG", "control")] == [
        {
            "path": ["CN", "KY", "SG"],
            "edges": [{"min": 60.0, "max": 60.0}, {"min": 60.0, "max": 60.0}],
            "contribution": {"min": 60.0, "max": 60.0},
        }
    ]
    assert [e.to_json() for e in result.evidence("SG", "look_through")] == [
        {
            "path": ["CN", "KY", "SG"],
            "edges": [{"min": 60.0, "max": 60.0}, {"min": 60.0, "max": 60.0}],
            "contribution": {"min": 36.0, "max": 36.0},
        }
    ]


def test_evidence_order_and_bounds() -> None:
    edges: list[tuple[str, str, Share]] = [
        ("CN", "X", 10), ("RU", "X", 20), ("IR", "B", 100), ("B", "X", 20), ("KP", "X", (5, 30)),
        ("C", "X", 5),
    ]  # fmt: skip
    result = run(Case("", edges, {"CN", "RU", "IR", "KP"}))
    paths = [e.path for e in result.evidence("X", "look_through")]
    # IR via B and RU tie at 20: the shorter path first.
    assert paths == [("KP", "X"), ("RU", "X"), ("IR", "B", "X"), ("CN", "X")]
    assert [e.path for e in result.evidence("X", "control", max_paths=2)] == [
        ("KP", "X"),
        ("RU", "X"),
    ]
    assert result.evidence("C", "look_through") == []
    assert result.evidence("C", "control") == []


def test_unknown_source_evidence_has_zero_lower_contribution() -> None:
    result = run(Case("", [("U", "X", 60), ("CN", "U", 50)], {"CN"}, unknown={"U"}))
    evidence = result.evidence("X", "look_through")
    assert [(e.path, e.contribution.min, e.contribution.max) for e in evidence] == [
        (("U", "X"), 0.0, 60.0),
        (("CN", "U", "X"), 30.0, 30.0),
    ]
    (control,) = result.evidence("X", "control")  # U is possibly restricted by itself
    assert control.path == ("U", "X")
    assert control.contribution == Interval(0, 60)


def test_cycle_evidence_is_simple() -> None:
    result = run(Case("", CROSS, {"CN", "RU"}))
    for entity in ("A", "B"):
        for e in result.evidence(entity, "look_through", max_paths=50):
            assert len(set(e.path)) == len(e.path)
    assert [e.path for e in result.evidence("B", "look_through")] == [
        ("CN", "A", "B"),
        ("RU", "B"),
    ]


def test_evidence_bounds_are_checked() -> None:
    result = run(Case("", CHAIN, {"CN"}))
    with pytest.raises(ValueError):
        result.evidence("SG", "control", max_path_nodes=0)


def test_status_length_must_match() -> None:
    graph, _ = build(CHAIN, {"CN"})
    with pytest.raises(ValueError):
        compute_ownership(graph, [Status.CLEAR], Threshold(50))


@pytest.mark.slow
def test_a_100k_cycle_heavy_graph_has_no_recursion() -> None:
    """Every entity in a two-member cross-holding, tied into 100k-node chains: one big walk
    for Tarjan, 50k cyclic components for look-through, long paths for evidence."""
    n = 100_000
    ids = [str(i) for i in range(n)]
    edges = [
        (ids[i], ids[i + 1], Interval.exact(60)) for i in range(n - 1)
    ]  # a chain through everything
    edges += [(ids[i + 1], ids[i], Interval.exact(5)) for i in range(0, n - 1, 2)]  # cross-holdings
    graph = OwnershipGraph.build(ids, edges)
    status = [Status.RESTRICTED] + [Status.CLEAR] * (n - 1)
    result = compute_ownership(graph, status, Threshold(50))
    assert sum(graph.components().cyclic) == n // 2
    assert result.control(ids[-1]).min == 60.0
    assert 0.0 <= result.look_through(ids[-1]).max < 1e-9
    assert result.evidence(ids[-1], "control")[0].path[-1] == ids[-1]

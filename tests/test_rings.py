"""Big ownership cycles stay near-linear: work and report sizes are counted, never timed.

A closed 100% ring of 100k entities took over 300 s and 3k entities in ``--data-faults
review`` over 200 s: every member's fault listed every record of the ring (facts, decisions
and messages grew with the ring, so the run grew with its square), the fault collection scanned
every holding once per cycle, the look-through evidence search walked the whole ring for every
member, and the cycle solver could take one sweep per member. Each test below counts one of
those (the size of a message or of one entity's facts, calls, holdings scans, solver row reads)
on a ring big enough that the old code fails it, and checks the decisions stay fail-closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from stakegate.cli.main import cli
from stakegate.errors import DataFaultError, OwnershipCycleError
from stakegate.ownership import _linear
from stakegate.ownership import evidence as evidence_module
from stakegate.ownership import look_through as look_through_module
from stakegate.ownership._linear import DENSE_LIMIT, solve_clamped
from stakegate.ownership.compute import compute_ownership
from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval, Threshold
from stakegate.policy.facts import compute_facts
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import parse_registry
from stakegate.registry.model import Registry

from .conftest import offline_view

CN = {"CN": "CN"}
VIEW = offline_view(CN)


def ring_document(n: int, percent: float = 100, *, start: int = 0) -> dict[str, Any]:
    """``r{i}`` owns ``percent`` of ``r{i+1}``, and the last owns the first."""
    ids = [f"r{start + i}" for i in range(n)]
    return {
        "entities": [{"id": e, "type": "company", "jurisdiction": "SG"} for e in ids],
        "ownership": [
            {"owner": ids[i], "owned": ids[(i + 1) % n], "percent": percent} for i in range(n)
        ],
    }


def ring(n: int) -> Registry:
    return parse_registry(ring_document(n), f"ring-{n}")


def size(doc: object) -> int:
    return len(orjson.dumps(doc))


# --- the data faults of a closed ring ------------------------------------------------------


def test_error_message_names_the_ring_in_bounded_size():
    with pytest.raises(DataFaultError) as small:
        compute_facts(ring(20), VIEW)
    with pytest.raises(DataFaultError) as big:
        compute_facts(ring(5000), VIEW)
    (line,) = big.value.faults  # one line for the whole cycle, not one per member
    assert "closed ownership cycle of 5,000 entities" in line
    assert "ownership[0] (r0 -> r1)" in line and "r0, r1, r10" in line
    assert "and 4,990 more" in line
    # The first members and records are listed and the rest counted: the message of a 5,000
    # ring is as long as the one of a 20 ring, give or take the digits of the counts.
    assert len(str(big.value)) <= len(str(small.value)) + 40


def test_review_facts_of_a_member_do_not_grow_with_the_ring():
    sizes = []
    for n in (30, 3000):
        facts = compute_facts(ring(n), VIEW, mode="review")
        doc = facts.entity_facts("r1")
        (fault,) = doc["faults"]
        assert fault["kind"] == "closed_cycle"
        # The member's own records: the one that owns it wholly, and the one it holds.
        assert fault["records"] == ["ownership[0] (r0 -> r1)", "ownership[1] (r1 -> r2)"]
        assert fault["details"]["size"] == n
        assert fault["details"]["members"][:3] == ["r0", "r1", "r10"]
        assert len(fault["details"]["members"]) == min(n, 10)
        # Fail closed: wide open, so the member and what it owns get review.
        assert doc["ownership"]["look_through"]["max"] == 100.0
        assert doc["ownership"]["control"]["max"] == 100.0
        sizes.append(size(doc))
    assert sizes[1] <= sizes[0] + 100


def test_member_with_many_records_inside_the_cycle_lists_a_bounded_number():
    # k entities each owning 1/(k-1) of every other one: a closed cycle, dense inside.
    k = 60
    ids = [f"d{i}" for i in range(k)]
    doc = {
        "entities": [{"id": e, "type": "company", "jurisdiction": "SG"} for e in ids],
        "ownership": [
            {"owner": a, "owned": b, "percent": 100 / (k - 1)} for a in ids for b in ids if a != b
        ],
    }
    facts = compute_facts(parse_registry(doc, "dense"), VIEW, mode="review")
    (fault,) = facts.faults["d0"]
    assert len(fault.records) == 10
    assert fault.details["records"] == 2 * (k - 1)
    assert fault.details["size"] == k


class CountingList(list[Any]):
    """A list that counts how often it is walked from the start."""

    walks = 0

    def __iter__(self) -> Iterator[Any]:
        CountingList.walks += 1
        return super().__iter__()


def test_fault_collection_walks_the_holdings_a_fixed_number_of_times():
    pairs = 200  # closed two-member cycles
    doc: dict[str, Any] = {"entities": [], "ownership": []}
    for p in range(pairs):
        part = ring_document(2, start=2 * p)
        doc["entities"] += part["entities"]
        doc["ownership"] += part["ownership"]
    registry = parse_registry(doc, "pairs")
    counted = Registry(
        registry.source, registry.entities, CountingList(registry.holdings), registry.faults
    )
    CountingList.walks = 0
    facts = compute_facts(counted, VIEW, mode="review")
    assert len(facts.faults) == 2 * pairs
    assert CountingList.walks <= 5  # was one walk per cycle


def test_ownership_cycle_error_is_bounded():
    n = 5000
    ids = [f"r{i}" for i in range(n)]
    graph = OwnershipGraph.build(
        ids, [(ids[i], ids[(i + 1) % n], Interval.exact(100)) for i in range(n)]
    )
    with pytest.raises(OwnershipCycleError) as caught:
        compute_ownership(graph, [Status.CLEAR] * n, Threshold(50))
    assert len(caught.value.cycles[0]) == n  # the whole cycle stays on the exception
    message = str(caught.value)
    assert "5,000 entities" in message and len(message) < 400


# --- evidence ---------------------------------------------------------------------------------


def test_evidence_in_an_unknown_ring_stops_at_the_top_paths(monkeypatch: pytest.MonkeyPatch):
    """Every member of a closed ring screened in review is unknown, so every path around the
    ring ties at [0, 100]; the search must stop after the shortest few, not walk the ring."""
    n = 3000
    facts = compute_facts(ring(n), VIEW, mode="review")
    built = 0
    real_path = evidence_module._path

    def counting_path(*args: Any) -> Any:
        nonlocal built
        built += 1
        return real_path(*args)

    monkeypatch.setattr(evidence_module, "_path", counting_path)
    evidence = facts.result.evidence("r5", "look_through", max_paths=5)
    assert [e.path for e in evidence] == [
        ("r4", "r5"),
        ("r3", "r4", "r5"),
        ("r2", "r3", "r4", "r5"),
        ("r1", "r2", "r3", "r4", "r5"),
        ("r0", "r1", "r2", "r3", "r4", "r5"),
    ]
    assert all(e.contribution == Interval(0, 100) for e in evidence)
    assert built <= 10  # was n - 1 paths, each as long as its depth


def test_evidence_through_a_long_ring_is_cut_at_the_reported_length(
    monkeypatch: pytest.MonkeyPatch,
):
    """A 100% ring through one restricted member is no fault, and every member is wholly
    restricted; the one path from the source to a member far round the ring is as long as the
    ring. The search stops where the reported path does (it walked to the source, checking each
    step against the path so far: the ring's cube over all members)."""
    n = 3000
    ids = [f"r{i}" for i in range(n)]
    graph = OwnershipGraph.build(
        ids, [(ids[i], ids[(i + 1) % n], Interval.exact(100)) for i in range(n)]
    )
    status = [Status.CLEAR] * n
    status[0] = Status.RESTRICTED
    result = compute_ownership(graph, status, Threshold(50))
    steps = 0
    real_on_path = evidence_module._on_path

    def counting_on_path(*args: Any) -> bool:
        nonlocal steps
        steps += 1
        return bool(real_on_path(*args))

    monkeypatch.setattr(evidence_module, "_on_path", counting_on_path)
    (far,) = result.evidence("r2000", "look_through", max_paths=5, max_path_nodes=32)
    assert far.path == tuple(ids[1969:2001])
    assert len(far.edges) == 31
    assert far.contribution == Interval(100, 100)  # r1969's own share times 100% along
    (near,) = result.evidence("r3", "look_through", max_paths=5, max_path_nodes=32)
    assert near.path == ("r0", "r1", "r2", "r3")  # from the source, as before
    assert steps <= 40


def test_evidence_ties_prefer_shorter_paths():
    ids = ["CN", "RU", "B", "X"]
    edges = [
        ("CN", "B", Interval.exact(100)),
        ("B", "X", Interval.exact(20)),
        ("RU", "X", Interval.exact(20)),
    ]
    graph = OwnershipGraph.build(ids, edges)
    status = [Status.RESTRICTED, Status.RESTRICTED, Status.CLEAR, Status.CLEAR]
    result = compute_ownership(graph, status, Threshold(50))
    for method in ("control", "look_through"):
        assert [e.path for e in result.evidence("X", method)] == [("RU", "X"), ("CN", "B", "X")]


# --- the cycle solver -------------------------------------------------------------------------


class CountingRows(Sequence[Sequence[tuple[int, float]]]):
    """Rows of a cycle system that count how often a row is read."""

    def __init__(self, rows: list[list[tuple[int, float]]]) -> None:
        self.rows = rows
        self.reads = 0

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: Any) -> Any:
        self.reads += 1
        return self.rows[i]


def backward_ring(n: int, coeff: float) -> tuple[list[float], CountingRows]:
    """``i`` is owned by ``i + 1`` (the last by the first); value flows in at the last one.
    In index order each sweep moves the value one member along, so sweeps grow with n."""
    b = [0.0] * n
    b[n - 1] = 100.0 * (1 - coeff) if coeff < 1 else 100.0
    rows = [[((i + 1) % n, coeff)] for i in range(n)]
    return b, CountingRows(rows)


@pytest.mark.parametrize("coeff", [1.0, 0.5])
@pytest.mark.parametrize("upper", [False, True])
def test_ring_solve_reads_each_row_a_few_times(coeff: float, upper: bool):
    n = 4 * DENSE_LIMIT + 1  # iterated, not eliminated
    b, rows = backward_ring(n, coeff)
    values = solve_clamped(b, rows, stall_to_full=upper)
    if coeff == 1.0:
        assert values == [100.0] * n  # clamped at 100 all round
    else:
        # 100 * (1 - c) flows in at the last member and halves at every step back.
        assert values[n - 1] == pytest.approx(50.0 / (1 - 0.5**n))
        assert values[n - 2] == pytest.approx(values[n - 1] / 2)
    assert rows.reads <= 6 * n  # was one sweep per member: n * n reads


def test_slowly_converging_ring_stops_within_its_work_budget(monkeypatch: pytest.MonkeyPatch):
    """Shares a hair under 100% round a ring: iteration would need millions of sweeps. It stops
    after its work budget; the upper bound then fails closed at 100, the lower stays below."""
    monkeypatch.setattr(_linear, "_MAX_WORK", 200_000)
    n = 1000
    b, rows = backward_ring(n, 1 - 1e-9)
    b[n - 1] = 1e-6
    upper = solve_clamped(b, rows, stall_to_full=True)
    assert upper == [100.0] * n
    assert rows.reads <= 200_000 // 2 + 4 * n  # a row and its term per sweep, a few to order
    lower = solve_clamped(b, backward_ring(n, 1 - 1e-9)[1], stall_to_full=False)
    exact = 1e-6 / (1 - (1 - 1e-9) ** n)  # about 1 at the last member
    assert 0.0 < lower[n - 1] < exact


class CountingIndex(list[int]):
    """A list of ints that counts item reads (one per entity visit in the ownership loops)."""

    reads = 0

    def __getitem__(self, i: Any) -> Any:
        CountingIndex.reads += 1
        return super().__getitem__(i)


def counted(graph: OwnershipGraph) -> OwnershipGraph:
    graph.components()  # Tarjan reads rows too; count only what compute_ownership does
    graph.in_start = CountingIndex(graph.in_start)
    CountingIndex.reads = 0
    return graph


def test_ring_through_a_restricted_member_solves_in_linear_work(monkeypatch: pytest.MonkeyPatch):
    """A 100% ring through a restricted entity is no fault: every member is wholly restricted.
    Run backwards (each member owned by the next), index-order sweeps needed one per member."""
    n = 2000
    ids = [f"r{i}" for i in range(n)]
    edges = [(ids[(i + 1) % n], ids[i], Interval.exact(100)) for i in range(n)]
    graph = OwnershipGraph.build(ids, edges)
    status = [Status.CLEAR] * n
    status[n // 2] = Status.RESTRICTED
    solved: list[CountingRows] = []

    def counting_solve(b: list[float], rows: Any, stall_to_full: bool) -> list[float]:
        solved.append(CountingRows(rows))
        return solve_clamped(b, solved[-1], stall_to_full)

    monkeypatch.setattr(look_through_module, "solve_clamped", counting_solve)
    result = compute_ownership(graph, status, Threshold(50))
    for x in (0, n // 2 - 1, n // 2 + 1, n - 1):
        assert result.look_through(x) == Interval(100, 100)
        assert result.control(x) == Interval(100, 100)
    assert [len(rows) for rows in solved] == [n - 1, n - 1]  # lower and upper bound
    assert all(rows.reads <= 6 * n for rows in solved)


def test_exclusive_bound_spreads_round_a_big_ring():
    """One exclusive band on a 99% ring: exclusivity reaches every member in work linear in the
    ring (it took one pass over the ring per member)."""
    n = 3000
    ids = ["CN", *(f"r{i}" for i in range(n))]
    edges = [(ids[1 + (i + 1) % n], ids[1 + i], Interval.exact(99)) for i in range(n)]
    edges.append(("CN", "r0", Interval(0.5, 1.0, min_exclusive=True)))
    graph = counted(OwnershipGraph.build(ids, edges))
    status = [Status.RESTRICTED] + [Status.CLEAR] * n
    result = compute_ownership(graph, status, Threshold(50))
    assert CountingIndex.reads <= 40 * n
    assert result.look_through("r0").min_exclusive
    assert result.look_through(f"r{n // 2}").min_exclusive
    assert not result.look_through(f"r{n // 2}").max_exclusive


# --- end to end, through a real OPA -------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.integration
@pytest.mark.slow
def test_screen_review_of_a_ring_is_bounded_and_fail_closed(tmp_path: Path, opa_server: LocalOpa):
    n = 2000
    path = tmp_path / "ring.json"
    doc = ring_document(n)
    # An entity the ring owns 60% of, and one it owns 10% of: review only where it matters.
    doc["entities"] += [
        {"id": "big-sub", "type": "company", "jurisdiction": "SG"},
        {"id": "small-sub", "type": "company", "jurisdiction": "SG"},
    ]
    doc["ownership"] += [
        {"owner": "r7", "owned": "big-sub", "percent": 60},
        {"owner": "r7", "owned": "small-sub", "percent": 10},
    ]
    path.write_text(json.dumps(doc))
    result = run(
        "screen", "--registry", str(path), "--opa-url", opa_server.url, "--data-faults", "review"
    )
    assert result.exit_code == 0, result.output
    (warning, line) = result.stderr.splitlines()
    assert "1 data fault" in warning and f"on {n} entities" in warning
    assert "closed ownership cycle of 2,000 entities" in line and len(line) < 1000
    decisions = {d["entity"]: d for d in map(json.loads, result.stdout.splitlines())}
    assert len(decisions) == n + 2
    assert decisions["big-sub"]["decision"] == "review"
    assert decisions["small-sub"]["decision"] == "allow"
    lines = result.stdout.splitlines()
    assert max(len(x) for x in lines) < 4000  # every member's decision is bounded
    for i in (0, n // 2, n - 1):
        member = decisions[f"r{i}"]
        assert member["decision"] == "review"
        assert [r["code"] for r in member["reasons"]][0] == "data_fault"


@pytest.mark.integration
def test_screen_error_mode_on_a_ring_is_one_bounded_line(tmp_path: Path, opa_server: LocalOpa):
    path = tmp_path / "ring.json"
    path.write_text(json.dumps(ring_document(3000)))
    out = tmp_path / "out.jsonl"
    result = run("screen", "--registry", str(path), "--opa-url", opa_server.url, "--out", str(out))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"stakegate: error: {path}: 1 data fault ")
    assert "closed ownership cycle of 3,000 entities" in result.stderr
    assert len(result.stderr) < 1500
    assert not out.exists()

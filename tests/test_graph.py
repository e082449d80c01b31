"""The compact ownership graph: building, merging parallel records, and components."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stakegate.ownership.graph import OwnershipGraph
from stakegate.ownership.interval import Interval

E = Interval.exact


def test_build_indexes_both_directions() -> None:
    graph = OwnershipGraph.build(["a", "b", "c"], [("a", "b", E(60)), ("a", "c", E(10))])
    assert len(graph) == 3
    assert graph.edge_count == 2
    assert graph.owners(graph.index("b")) == [(0, E(60))]
    assert graph.owned(graph.index("a")) == [(1, E(60)), (2, E(10))]
    assert repr(graph) == "<OwnershipGraph entities=3 edges=2 cyclic_components=?>"


def test_unknown_and_duplicate_ids_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown entity 'zz'"):
        OwnershipGraph.build(["a"], [("a", "zz", E(1))])
    with pytest.raises(ValueError, match="duplicate entity id 'a'"):
        OwnershipGraph.build(["a", "a"], [])
    with pytest.raises(ValueError, match="unknown entity 'q'"):
        OwnershipGraph.build(["a"], []).index("q")


def test_parallel_records_are_summed() -> None:
    band = Interval(10, 20, max_exclusive=True)
    graph = OwnershipGraph.build(["a", "b"], [("a", "b", E(30)), ("a", "b", band)])
    assert graph.owners(1) == [(0, Interval(40, 50, False, True))]
    assert graph.owned(0) == [(1, Interval(40, 50, False, True))]


def test_components_come_owners_first_and_flag_cycles() -> None:
    edges = [("a", "b", E(50)), ("b", "c", E(50)), ("c", "b", E(10)), ("d", "d", E(5))]
    graph = OwnershipGraph.build(["c", "b", "a", "d"], edges)
    comps = graph.components()
    groups = [
        (sorted(graph.ids[x] for x in comps.members[comps.start[c] : comps.start[c + 1]]),
         comps.cyclic[c])
        for c in range(len(comps))
    ]  # fmt: skip
    assert sorted(groups) == [(["a"], 0), (["b", "c"], 1), (["d"], 1)]
    order = [g for g, _ in groups]
    assert order.index(["a"]) < order.index(["b", "c"])
    assert [sorted(graph.ids[x] for x in g) for g in comps.cyclic_members()] in (
        [["b", "c"], ["d"]],
        [["d"], ["b", "c"]],
    )


@pytest.mark.slow
def test_a_million_level_chain_has_no_recursion() -> None:
    n = 1_000_000
    ids = [str(i) for i in range(n)]
    graph = OwnershipGraph.build(ids, ((ids[i], ids[i + 1], E(100)) for i in range(n - 1)))
    comps = graph.components()
    assert len(comps) == n
    assert comps.members[:3] == [0, 1, 2]
    assert not any(comps.cyclic)


@st.composite
def _graphs(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str, Interval]]]:
    n = draw(st.integers(1, 10))
    ids = [f"e{i}" for i in draw(st.permutations(range(n)))]
    pairs = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=25))
    return ids, [(o, d, E(float(k + 1))) for k, (o, d) in enumerate(pairs)]


@given(_graphs())
@settings(max_examples=300, deadline=None)
def test_rows_and_components_match_a_brute_force_reading(
    graph_input: tuple[list[str], list[tuple[str, str, Interval]]],
) -> None:
    """Rows, merged parallel records and components (any graph: self-holdings, cycles, repeats)
    against a reading written without sorting: mutual reachability by transitive closure."""
    ids, edges = graph_input
    graph = OwnershipGraph.build(ids, edges)
    at = {e: i for i, e in enumerate(ids)}
    for x, entity in enumerate(ids):
        row: dict[int, float] = {}  # owner -> summed share, in record order
        for o, d, share in edges:
            if d == entity:
                row[at[o]] = row.get(at[o], 0.0) + share.min
        assert [(o, s.min) for o, s in graph.owners(x)] == list(row.items())
        owned = [(d, s.min) for d, s in graph.owned(x)]
        assert owned == sorted(owned, key=lambda pair: pair[0])
        assert {d for d, _ in owned} == {at[d] for o, d, _ in edges if o == entity}
    n = len(ids)
    reach = [[x == y for y in range(n)] for x in range(n)]
    for o, d, _ in edges:
        reach[at[o]][at[d]] = True
    for k in range(n):
        for x in range(n):
            for y in range(n):
                reach[x][y] = reach[x][y] or (reach[x][k] and reach[k][y])
    comps = graph.components()
    comp_of = comps.comp_of
    for x in range(n):
        for y in range(n):
            assert (comp_of[x] == comp_of[y]) == (reach[x][y] and reach[y][x])
    for o, d, _ in edges:  # owners first
        assert comp_of[at[o]] <= comp_of[at[d]]
    for c in range(len(comps)):
        group = comps.members[comps.start[c] : comps.start[c + 1]]
        assert group == sorted(group) and all(comp_of[x] == c for x in group)
        looped = any(o == d and at[o] == group[0] for o, d, _ in edges)
        assert comps.cyclic[c] == (len(group) > 1 or looped)

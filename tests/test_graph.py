"""The compact ownership graph: building, merging parallel records, and components."""

from __future__ import annotations

import pytest

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

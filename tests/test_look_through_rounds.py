"""Look-through in rounds (``ownership/look_through_rounds.py``) gives the loop's bits exactly.

The loop is held to exact linear solves, path enumeration and naive fixpoints by
``test_ownership_properties.py``; the rounds are held to the loop, bit for bit, on the same
registers, on chains long enough to stop the rounds midway, and on entities with more owners
than a round sums by array steps.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stakegate.ownership.graph import OwnershipGraph, Status
from stakegate.ownership.interval import Interval
from stakegate.ownership.look_through import look_through_bounds
from stakegate.ownership.look_through_rounds import _BIG_CYCLE, _WIDE

from .test_ownership_properties import Register, registers

Bounds = tuple[list[float], list[float], bytearray]


def _bits(bounds: Bounds) -> tuple[list[str], list[str], bytes]:
    lo, hi, flags = bounds
    assert all(type(v) is float for v in lo + hi)  # plain floats, as the loop gives
    return [v.hex() for v in lo], [v.hex() for v in hi], bytes(flags)


def _both(ids: tuple[str, ...], status: tuple[Status, ...], edges: list, width: int) -> None:
    loop = look_through_bounds(OwnershipGraph.build(ids, edges), status, rounds_from=10**9)
    rounds = look_through_bounds(
        OwnershipGraph.build(ids, edges), status, rounds_from=0, width=width
    )
    assert _bits(rounds) == _bits(loop)


@settings(max_examples=300, deadline=None)
@given(registers(), st.sampled_from([0, 1, 2, 3, 10**6]))
def test_rounds_equal_the_loop(reg: Register, width: int) -> None:
    _both(reg.ids, reg.status, list(reg.edges), width)


def _share(rng: random.Random) -> Interval:
    low = rng.choice([0.0, 10.0, 33.33333333333333, 50.0, 60.0, 100.0, rng.uniform(0, 100)])
    high = rng.choice([low, min(100.0, low + rng.uniform(0, 40))])
    exclusive = low < high
    return Interval(low, high, exclusive and rng.random() < 0.3, exclusive and rng.random() < 0.3)


@pytest.mark.parametrize("seed", range(6))
def test_long_chains_stop_the_rounds_midway(seed: int) -> None:
    """A chain of 300 with branches and cycles: the rounds stop (width 10**6 allows only the
    first free rounds) and the loop finishes, skipping what they solved."""
    rng = random.Random(seed)
    n = 300
    ids = tuple(f"e{i}" for i in range(n))
    kinds = [Status.CLEAR] * 6 + [Status.UNKNOWN, Status.RESTRICTED]
    status = tuple(rng.choice(kinds) for _ in ids)
    edges = [(ids[i - 1], ids[i], _share(rng)) for i in range(1, n)]
    for _ in range(120):
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            edges.append((ids[a], ids[b], _share(rng)))
    for width in (1, 4, 10**6):
        _both(ids, status, edges, width)


def test_an_entity_with_many_owners_is_summed_in_order() -> None:
    """More owners than a round sums by array steps: summed alone (a cumulative sum), same
    bits."""
    rng = random.Random(7)
    owners = 3 * _WIDE
    ids = tuple(f"e{i}" for i in range(owners + 2))
    status = tuple([Status.RESTRICTED, Status.UNKNOWN] * (owners // 2) + [Status.CLEAR] * 2)
    edges = [(ids[i], ids[owners], Interval(s, s)) for i, s in
             ((i, rng.uniform(0, 100 / owners)) for i in range(owners))]  # fmt: skip
    edges[5] = (ids[5], ids[owners], Interval(0.1, 0.3, True, True))
    edges.append((ids[owners], ids[owners + 1], Interval(0.5, 0.5)))
    _both(ids, status, edges, 1)


@pytest.mark.parametrize("roots", [0, 300])
def test_a_big_cycle_is_left_to_the_loop(roots: int) -> None:
    """A cycle of more than ``_BIG_CYCLE`` members ends the rounds (the loop solves it on
    lists): with no round run at all, and after a round over owners outside it."""
    rng = random.Random(roots)
    ring, tails = _BIG_CYCLE + 10, 200
    n = ring + roots + tails
    ids = tuple(f"e{i}" for i in range(n))
    status = tuple(Status.RESTRICTED if i % 97 == 0 else Status.CLEAR for i in range(n))
    edges = [(ids[i], ids[(i + 1) % ring], Interval(60.0, 60.0)) for i in range(ring)]
    edges += [(ids[ring + r], ids[rng.randrange(ring)], _share(rng)) for r in range(roots)]
    edges += [(ids[rng.randrange(ring)], ids[ring + roots + t], _share(rng)) for t in range(tails)]
    _both(ids, status, edges, 1)

"""Solving one cross-holding cycle of the look-through method.

Inside a strongly connected component the look-through shares depend on each other, so they
are the least fixpoint of ``L = min(100, b + M·L)``: ``b`` is what flows in from outside and
``M[i][j]`` the share entity ``j`` holds in entity ``i`` (a fraction). Components are small in
real registers (two companies holding each other), so a dense Gaussian elimination is both exact
and cheap; numpy is deliberately not a dependency. When the linear answer is not the fixpoint
(a singular system, or shares summing to 100% or more inside the cycle, which only banded data
produces) or the component is too large for a dense solve, clamped Gauss-Seidel iteration from
zero climbs to the least fixpoint.

Iteration visits the members in depth-first order along the flow of ownership, starting where
value enters, unless the index order leaves fewer terms stale: in index order a ring run against
it moved the value one member per sweep, so a ring of n took n sweeps of n rows. Along the flow,
one sweep carries it round the ring. Sweeps
are bounded by work too (``_MAX_WORK`` row terms per component), so a huge component that
converges slowly gives up in bounded time instead of after 20,000 sweeps.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DENSE_LIMIT", "solve_clamped"]

# Largest component solved by dense elimination (cubic cost); larger ones iterate.
DENSE_LIMIT = 200
# Iteration stops when no value moved by more than this many percentage points in a sweep.
_ITERATION_TOLERANCE = 1e-12
# Sweeps allowed before iteration gives up (then ``stall_to_full`` decides, see solve_clamped):
# at most _MAX_SWEEPS, and at most _MAX_WORK row terms in all (a sweep reads every term once),
# but never fewer than _MIN_SWEEPS.
_MAX_SWEEPS = 20_000
_MAX_WORK = 20_000_000
_MIN_SWEEPS = 10
_PIVOT_EPSILON = 1e-12
_SLACK = 1e-9


def solve_clamped(
    b: Sequence[float],
    rows: Sequence[Sequence[tuple[int, float]]],
    stall_to_full: bool,
) -> list[float]:
    """Least fixpoint of ``L[i] = min(100, b[i] + sum(c * L[j] for j, c in rows[i]))``.

    ``stall_to_full``: when iteration does not settle within its budget, answer 100 for the whole
    component (right for upper bounds: fail closed) instead of the partial sums (right for lower
    bounds, which iteration from zero only ever underestimates).
    """
    size = len(b)
    if size <= DENSE_LIMIT:
        solution = _dense(b, rows)
        if solution is not None and all(-_SLACK <= v <= 100.0 + _SLACK for v in solution):
            # A non-negative solution of (I - M) L = b with M >= 0 means the spectral radius of M
            # is below 1, so it is the unique fixpoint, and no clamp was needed.
            return [min(100.0, max(0.0, v)) for v in solution]
    return _iterate(b, rows, stall_to_full)


def _dense(b: Sequence[float], rows: Sequence[Sequence[tuple[int, float]]]) -> list[float] | None:
    """Solve ``(I - M) L = b`` by Gaussian elimination with partial pivoting; None if singular."""
    size = len(b)
    a = [[0.0] * (size + 1) for _ in range(size)]
    for i, row in enumerate(rows):
        ai = a[i]
        ai[i] = 1.0
        for j, coeff in row:
            ai[j] -= coeff
        ai[size] = b[i]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < _PIVOT_EPSILON:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        top = a[col]
        inv = 1.0 / top[col]
        for r in range(col + 1, size):
            ar = a[r]
            factor = ar[col] * inv
            if factor != 0.0:
                for c in range(col, size + 1):
                    ar[c] -= factor * top[c]
    solution = [0.0] * size
    for r in range(size - 1, -1, -1):
        ar = a[r]
        acc = ar[size]
        for c in range(r + 1, size):
            acc -= ar[c] * solution[c]
        solution[r] = acc / ar[r]
    return solution


def _iterate(
    b: Sequence[float], rows: Sequence[Sequence[tuple[int, float]]], stall_to_full: bool
) -> list[float]:
    """Clamped Gauss-Seidel from zero: monotone, so every iterate is below the least fixpoint."""
    size = len(b)
    value = [0.0] * size
    order, terms = _sweep_order(b, rows)
    sweeps = max(_MIN_SWEEPS, min(_MAX_SWEEPS, _MAX_WORK // max(1, terms + size)))
    for _ in range(sweeps):
        biggest = 0.0
        for i in order:
            acc = b[i]
            for j, coeff in rows[i]:
                acc += coeff * value[j]
            if acc > 100.0:
                acc = 100.0
            step = acc - value[i]
            if step > biggest:
                biggest = step
            value[i] = acc
        if biggest <= _ITERATION_TOLERANCE:
            return value
    return [100.0] * size if stall_to_full else value


def _sweep_order(
    b: Sequence[float], rows: Sequence[Sequence[tuple[int, float]]]
) -> tuple[Sequence[int], int]:
    """The order to sweep in, and the number of row terms: the flow order (below) or the index
    order, whichever has fewer terms read before they are updated in a sweep (each of those
    carries a change over to the next sweep). Registers number owners before what they own
    often enough that the index order wins on some components."""
    flow, terms = _flow_order(b, rows)
    index = range(len(b))
    return (flow if _stale_terms(flow, rows) < _stale_terms(index, rows) else index), terms


def _stale_terms(order: Sequence[int], rows: Sequence[Sequence[tuple[int, float]]]) -> int:
    """Terms ``(j, c)`` of row ``i`` where ``j`` comes after ``i`` in ``order``."""
    pos = [0] * len(order)
    for k, i in enumerate(order):
        pos[i] = k
    return sum(1 for i in order for j, _ in rows[i] if pos[j] > pos[i])


def _flow_order(
    b: Sequence[float], rows: Sequence[Sequence[tuple[int, float]]]
) -> tuple[list[int], int]:
    """Members in reverse postorder of a depth-first walk from owner to owned, started at the
    members value flows into (``b > 0``), then at the rest; and the number of row terms.

    In that order every owner comes before what it owns except along the edges that close a
    cycle, so a Gauss-Seidel sweep carries value as far as it can go.
    """
    size = len(b)
    owned: list[list[int]] = [[] for _ in range(size)]
    terms = 0
    for i in range(size):
        row = rows[i]
        terms += len(row)
        for j, _ in row:
            owned[j].append(i)
    seen = bytearray(size)
    post: list[int] = []
    starts = [i for i in range(size) if b[i] > 0.0]
    starts += [i for i in range(size) if b[i] <= 0.0]
    for root in starts:
        if seen[root]:
            continue
        seen[root] = 1
        stack = [(root, 0)]
        while stack:
            v, k = stack[-1]
            out = owned[v]
            while k < len(out) and seen[out[k]]:
                k += 1
            if k < len(out):
                w = out[k]
                stack[-1] = (v, k + 1)
                seen[w] = 1
                stack.append((w, 0))
            else:
                stack.pop()
                post.append(v)
    post.reverse()
    return post, terms

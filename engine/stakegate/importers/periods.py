"""One owner's share of one entity over time, from dated claims that overlap.

A source may state one holding several times (BODS: several share classes of one relationship,
several relationships of one owner and owned entity), each claim with its own period. The native
registry wants one record per holding and period, since two records of one holding that count on
the same day are a duplicate. ``share_history`` cuts the time line at every start and end date,
combines the claims live on each piece (the claims of one statement added up, statements by the
band covering each), and joins neighbouring pieces with equal shares: records whose periods do
not overlap, each valid on every day of its period.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from stakegate.importers.base import UNKNOWN_SHARE, Period, timestamp_day
from stakegate.ownership.interval import Interval
from stakegate.registry.dates import live_at, parse_day

__all__ = [
    "MAX_CUTS",
    "Group",
    "Piece",
    "add_up",
    "cover",
    "ended_by",
    "share_history",
    "statement_day",
]

# Cuts of one holding's time line beyond which it is written as one band over its whole span
# (the work is quadratic in them; real registers have a handful per holding).
MAX_CUTS: Final = 256
_ANYTHING: Final = Interval(UNKNOWN_SHARE["min"], UNKNOWN_SHARE["max"])

Share = Interval | None  # None: not stated


@dataclass(frozen=True, slots=True)
class Group:
    """The claims of one statement, held side by side; ``error`` refuses them when they add up
    to more than 100 (naming the statement)."""

    claims: Sequence[tuple[Period, Share]]
    error: Callable[[str], Exception]


@dataclass(frozen=True, slots=True)
class Piece:
    """The share that holds over ``period``; ``overlaps`` when statements were combined."""

    period: Period
    share: Share
    overlaps: bool = False
    too_many_dates: bool = False


def share_history(groups: Sequence[Group], as_of: date | None) -> list[Piece]:
    """The pieces of one holding's history (only the one live on ``as_of`` when given).

    Every start and end date is a cut, so each claim is live on the whole of a piece or on none
    of it."""
    cuts = sorted(
        {d for g in groups for p, _ in g.claims for d in (p.start, p.end) if d is not None}
    )
    if len(cuts) > MAX_CUTS:
        span = _span(groups)
        if as_of is not None and not span.is_live(as_of):
            return []
        return [Piece(span, _ANYTHING, too_many_dates=True)]
    edges: list[date | None] = [None, *cuts, None]
    pieces: list[Piece] = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        if as_of is not None and not live_at(lo, hi, as_of):
            continue
        shares = [
            add_up(live, g.error)
            for g in groups
            if (live := [share for p, share in g.claims if _covers(p, lo, hi)])
        ]
        if not shares:
            continue
        share = shares[0]
        for other in shares[1:]:
            share = cover(share, other)
        last = pieces[-1] if pieces else None
        if last is not None and last.period.end == lo and last.share == share:
            period = Period(last.period.start, hi)
            pieces[-1] = Piece(period, share, last.overlaps or len(shares) > 1)
        else:
            pieces.append(Piece(Period(lo, hi), share, len(shares) > 1))
    return pieces


def add_up(parts: list[Share], error: Callable[[str], Exception]) -> Share:
    """Interests held side by side add up; an unknown part is anything up to 100."""
    if len(parts) == 1:
        return parts[0]
    known = [p or _ANYTHING for p in parts]
    low = math.fsum(p.min for p in known)
    high = min(math.fsum(p.max for p in known), 100.0)
    if low > 100:
        raise error(f"the shares of one relationship add up to {low:g} percent")
    return Interval(
        low,
        high,
        any(p.min_exclusive for p in known),
        high < 100 and any(p.max_exclusive for p in known),
    )


def cover(a: Share, b: Share) -> Share:
    """The band covering both claims (two live statements about the same holding)."""
    if a is None or b is None:
        return None
    low = min((a.min, a.min_exclusive), (b.min, b.min_exclusive))  # inclusive is looser
    high = max((a.max, not a.max_exclusive), (b.max, not b.max_exclusive))
    return Interval(low[0], high[0], low[1], not high[1])


def _covers(period: Period, lo: date | None, hi: date | None) -> bool:
    """Whether ``period`` counts on every day from ``lo`` to before ``hi`` (None: unbounded)."""
    starts = period.start is None or (lo is not None and period.start <= lo)
    lasts = period.end is None or (hi is not None and period.end >= hi)
    return starts and lasts


def _span(groups: Sequence[Group]) -> Period:
    """From the earliest start to the latest end of every claim (open if any claim is)."""
    periods = [p for g in groups for p, _ in g.claims]
    starts = [p.start for p in periods]
    ends = [p.end for p in periods]
    start = None if None in starts else min(d for d in starts if d is not None)
    end = None if None in ends else max(d for d in ends if d is not None)
    return Period(start, end)


def statement_day(value: object) -> date | None:
    """The day a statement ends what it closes: its ``statementDate`` (a timestamp after
    midnight: the next day); None when it cannot be read."""
    return parse_day(timestamp_day(value, end=True)) if isinstance(value, str) else None


def ended_by(period: Period, closed: date | None) -> Period | None:
    """``period`` ending by ``closed`` at the latest; None if it would not begin before it."""
    if closed is None or (period.end is not None and period.end <= closed):
        return period
    if period.start is not None and period.start >= closed:
        return None
    return Period(period.start, closed, period.notes)

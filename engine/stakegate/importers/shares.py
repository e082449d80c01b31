"""Shares as the importers write them: native ``percent`` values, and words for notes."""

from __future__ import annotations

from typing import Any

from stakegate.ownership.interval import Interval

__all__ = ["describe_share", "native_percent", "near"]


def near(a: Interval, b: Interval, tolerance: float) -> bool:
    """Whether two shares are equal within ``tolerance`` percentage points at both bounds."""
    return abs(a.min - b.min) <= tolerance and abs(a.max - b.max) <= tolerance


def _number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def native_percent(share: Interval | None) -> float | int | dict[str, Any] | None:
    """A share as the native registry writes ``percent``: a number, or a band with its
    exclusive bounds; None for a share the source does not state."""
    if share is None:
        return None
    if share.min == share.max and not (share.min_exclusive or share.max_exclusive):
        return _number(share.min)
    band: dict[str, Any] = {"min": _number(share.min), "max": _number(share.max)}
    if share.min_exclusive:
        band["min_exclusive"] = True
    if share.max_exclusive:
        band["max_exclusive"] = True
    return band


def describe_share(share: Interval) -> str:
    """``40%`` or ``more than 50 to 75%``, for notes and reports."""
    if share.min == share.max:
        return f"{share.min:g}%"
    low = f"more than {share.min:g}" if share.min_exclusive else f"{share.min:g}"
    high = f"less than {share.max:g}" if share.max_exclusive else f"{share.max:g}"
    return f"{low} to {high}%"

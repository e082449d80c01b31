"""Percent intervals and the threshold test, shared by the registry, the ownership math and facts.

Register data is often a band ("more than 50% up to 75%"), so every share is an interval whose
bounds may be exclusive. An exact share is an interval of width zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Comparison", "Interval", "Threshold"]

Comparison = Literal[">", ">="]


@dataclass(frozen=True, slots=True)
class Interval:
    """A share in percent, ``min <= share <= max``; an exclusive bound is strict."""

    min: float
    max: float
    min_exclusive: bool = False
    max_exclusive: bool = False

    @classmethod
    def exact(cls, value: float) -> Interval:
        return cls(value, value)

    def to_json(self) -> dict[str, float | bool]:
        return {
            "min": self.min,
            "max": self.max,
            "min_exclusive": self.min_exclusive,
            "max_exclusive": self.max_exclusive,
        }


@dataclass(frozen=True, slots=True)
class Threshold:
    """The policy's ownership test: ``share > value`` (or ``>=``), compared with a tolerance.

    The tolerance absorbs binary floating-point noise (0.03 + 0.29 + 0.18 is not exactly 0.5 in
    floats); it is a policy parameter (``percent_tolerance``) and the Rego side uses the same one.
    """

    value: float
    comparison: Comparison = ">"
    tolerance: float = 1e-9

    def _at(self, share: float) -> bool:
        return abs(share - self.value) <= self.tolerance

    def lower_crosses(self, share: float, exclusive: bool = False) -> bool:
        """True when every share at or above this lower bound crosses the threshold."""
        if self.comparison == ">":
            return share > self.value + self.tolerance or (self._at(share) and exclusive)
        return share >= self.value - self.tolerance

    def upper_crosses(self, share: float, exclusive: bool = False) -> bool:
        """True when some share at or below this upper bound crosses the threshold."""
        if self.comparison == ">":
            return share > self.value + self.tolerance
        return share > self.value + self.tolerance or (self._at(share) and not exclusive)

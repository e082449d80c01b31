"""Percent intervals and the threshold test, shared by the registry, the ownership math and facts.

Register data is often a band ("more than 50% up to 75%"), so every share is an interval whose
bounds may be exclusive. An exact share is an interval of width zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["Comparison", "Interval", "Threshold", "outward"]

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

    def upper_crosses_many(self, shares: np.ndarray) -> np.ndarray:
        """``upper_crosses`` of each inclusive upper bound in ``shares``, in one numpy pass (the
        same IEEE operations, so the same answers: ``tests/test_threshold_cases.py``)."""
        above = shares > self.value + self.tolerance
        if self.comparison == ">":
            return above
        return above | (np.abs(shares - self.value) <= self.tolerance)


def outward(values: np.ndarray, *, up: bool = False) -> np.ndarray:
    """Each value rounded down (``up``: up) to the nearest decimal of 15 significant digits,
    as a float that prints as that decimal; a value of 15 digits or fewer, or outside
    [1e-7, 100], unchanged.

    Exact in binary floating point: a 15-digit decimal is ``N / 10**k`` with ``N < 2**53`` and
    ``10**k`` exact (``k <= 22``), which one IEEE division rounds correctly, and no two such
    decimals are one float. Whether a step landed on the right side of the value is decided
    between floats: a decimal whose float lies above the value's lies above anything that
    prints as the value."""
    x = np.asarray(values, dtype=np.float64)
    out = x.copy()
    inside = (x >= 1e-7) & (x <= 100.0)
    v = x[inside]
    k = 14.0 - np.floor(np.log10(v))
    scaled = v * 10.0**k
    k += (scaled < 1e14).astype(np.float64) - (scaled >= 1e15)  # log10 one off near 10**n
    scale = 10.0**k
    scaled = v * scale
    short = np.round(scaled) / scale == v  # the nearest 15-digit decimal prints as v itself
    step = np.ceil(scaled) if up else np.floor(scaled)
    wrong = step / scale < v if up else step / scale > v
    step[wrong] += 1.0 if up else -1.0
    out[inside] = np.where(short, v, step / scale)
    return out

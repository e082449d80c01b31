"""The shared threshold table, run against the Python side (the Rego side runs it in opa test).

policies/stakegate/testdata/threshold_cases.json is the one list of threshold cases: the Python
control fixpoint (stakegate.ownership.interval.Threshold) and the Rego decision
(data.stakegate.threshold) must agree on every case, so both test suites read the same file.
It lives under policies/ so that ``opa test policies/`` loads it as data
(data.stakegate.testdata.threshold_cases), and it is not named data.json, so bundles, which take
only data.json, leave it out (policies/stakegate/testdata/README.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stakegate.ownership.interval import Comparison, Threshold

CASES = Path(__file__).resolve().parents[1] / "policies/stakegate/testdata/threshold_cases.json"


def _cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CASES.read_text())["threshold_cases"]
    return cases


@pytest.mark.parametrize(
    "case", _cases(), ids=lambda c: f"{c['comparison']}{c['value']} {c['note']}"
)
def test_threshold_case(case: dict[str, Any]) -> None:
    threshold = Threshold(case["value"], case["comparison"], case["tolerance"])
    interval = case["interval"]
    assert (
        threshold.lower_crosses(interval["min"], interval["min_exclusive"]) is case["lower_crosses"]
    )
    assert (
        threshold.upper_crosses(interval["max"], interval["max_exclusive"]) is case["upper_crosses"]
    )


def test_table_covers_both_comparisons_and_outcomes() -> None:
    seen = {(c["comparison"], c["lower_crosses"], c["upper_crosses"]) for c in _cases()}
    assert seen >= {
        (cmp, lower, upper)
        for cmp in (">", ">=")
        for lower, upper in [(True, True), (True, False), (False, True), (False, False)]
    }


@pytest.mark.parametrize("case", [c for c in _cases() if not c["interval"]["max_exclusive"]])
def test_the_vector_form_agrees_on_each_case(case: dict[str, Any]) -> None:
    """``upper_crosses_many`` (the batch form's plan, over a whole register) answers each
    inclusive case of the table as ``upper_crosses`` does."""
    threshold = Threshold(case["value"], case["comparison"], case["tolerance"])
    shares = np.array([case["interval"]["max"]], dtype=np.float64)
    assert threshold.upper_crosses_many(shares).tolist() == [case["upper_crosses"]]


_SHARE = st.floats(min_value=-1.0, max_value=101.0) | st.sampled_from(
    [math.nan, 50.0, 50.000000001, 49.999999999, math.nextafter(50.000000001, 99)]
)


@given(
    st.lists(_SHARE, max_size=30),
    st.sampled_from([">", ">="]),
    st.sampled_from([50.0, 25.0, 0.0, 100.0]),
    st.sampled_from([1e-9, 0.0, 1e-6]),
)
def test_the_vector_form_equals_the_scalar_one(
    shares: list[float], comparison: Comparison, value: float, tolerance: float
) -> None:
    threshold = Threshold(value, comparison, tolerance)
    many = threshold.upper_crosses_many(np.array(shares, dtype=np.float64)).tolist()
    assert many == [threshold.upper_crosses(share) for share in shares]

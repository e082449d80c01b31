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
from pathlib import Path
from typing import Any

import pytest

from stakegate.ownership.interval import Threshold

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

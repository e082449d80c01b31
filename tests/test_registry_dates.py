"""Dated holdings and designations: one reading of dates, checked records, views of a day."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from stakegate.errors import RegistryError
from stakegate.policy.pipeline import check
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.dates import live_at
from stakegate.registry.faults import registry_as_of
from stakegate.registry.load import parse_registry
from stakegate.registry.model import Designation

D = date.fromisoformat
HOLD: dict[str, Any] = {"owner": "cn", "owned": "sg", "percent": 60}


def _doc(ownership: list[dict[str, Any]], **entity: Any) -> dict[str, Any]:
    return {
        "entities": [
            {"id": "cn", "type": "company", "jurisdiction": "CN"},
            {"id": "sg", "type": "company", "jurisdiction": "SG", **entity},
        ],
        "ownership": ownership,
    }


@pytest.mark.parametrize(
    ("start", "end", "day", "live"),
    [
        (None, None, "2000-01-01", True),
        ("2020-01-01", None, "2019-12-31", False),
        ("2020-01-01", None, "2020-01-01", True),  # counts from its first day
        (None, "2025-06-30", "2025-06-29", True),
        (None, "2025-06-30", "2025-06-30", False),  # on its end date it no longer counts
        ("2020-01-01", "2020-01-01", "2020-01-01", False),  # ended the day it began
    ],
)
def test_one_rule_for_when_a_dated_fact_counts(start, end, day, live):
    assert live_at(start and D(start), end and D(end), D(day)) is live


def test_a_holding_counts_only_while_it_is_held():
    holding = {"owner": "cn", "owned": "sg", "percent": 60, "start": "2020-01-01"}
    registry = parse_registry(_doc([{**holding, "end": "2025-06-30"}]), "dated")
    assert len(registry.holdings) == 1  # without a day, every record counts
    assert [len(registry_as_of(registry, D(d)).holdings) for d in ("2019-06-01", "2025-01-01")] == [
        0,
        1,
    ]
    assert registry_as_of(registry, D("2026-01-01")).holdings == []


def test_successive_records_of_one_holding_are_history_and_overlapping_ones_a_fault():
    first = {"owner": "cn", "owned": "sg", "percent": 60, "end": "2024-01-01"}
    later = {"owner": "cn", "owned": "sg", "percent": 40, "start": "2024-01-01"}
    registry = parse_registry(_doc([first, later]), "history")
    for day, share in (("2023-12-31", 60.0), ("2024-01-01", 40.0)):
        view = registry_as_of(registry, D(day))
        assert view.faults == [] and [h.share.min for h in view.holdings] == [share]
    overlapping = {**later, "start": "2023-06-01"}
    view = registry_as_of(parse_registry(_doc([first, overlapping]), "overlap"), D("2023-07-01"))
    assert [f.kind for f in view.faults] == ["duplicate_holding"]


def test_designations_count_between_since_and_until():
    designations = [
        {"list": "us_ofac_sdn", "program": "SDGT", "since": "2021-03-01"},
        {"list": "gb_fcdo_sanctions", "since": "2020-01-01", "until": "2022-01-01"},
    ]
    entity = parse_registry(_doc([], designations=designations), "d").entities["sg"]
    assert entity.designations[0] == Designation("us_ofac_sdn", "SDGT", D("2021-03-01"), None)
    assert [d.list for d in entity.designations_at(D("2021-06-01"))] == [
        "us_ofac_sdn",
        "gb_fcdo_sanctions",
    ]
    assert [d.list for d in entity.designations_at(D("2022-01-01"))] == ["us_ofac_sdn"]  # delisted
    assert entity.designations_at(D("2019-01-01")) == ()


@pytest.mark.parametrize(
    ("ownership", "entity", "message"),
    [
        ([{**HOLD, "start": "2020/01/01"}], {}, "field 'start'"),
        ([{**HOLD, "end": "2025-02-30"}], {}, "calendar"),
        ([{**HOLD, "start": "2025-01-01", "end": "2024-01-01"}], {}, "is before start"),
        ([], {"designations": [{"list": " "}]}, "designations.0.list"),
        ([], {"designations": [{"list": "x", "listed": "2020-01-01"}]}, "unknown field"),
        ([], {"designations": "us_ofac_sdn"}, "must be a list"),
        ([], {"designations": [{"list": "x", "since": "2022-01-01", "until": "2021-01-01"}]},
         "before since"),
    ],
)  # fmt: skip
def test_bad_dates_and_designations_are_refused_naming_the_record(ownership, entity, message):
    with pytest.raises(RegistryError) as caught:
        parse_registry(_doc(ownership, **entity), "bad.yaml")
    assert "bad.yaml" in str(caught.value) and message in str(caught.value)


@pytest.mark.integration
def test_a_decision_as_of_each_day_of_a_holding(opa_server: LocalOpa):
    """A CN owner's 60% from 2020-01-01 to 2025-06-30: allow before, deny during, allow after,
    and each decision says the day it is for."""
    holding = {
        "owner": "cn",
        "owned": "sg",
        "percent": 60,
        "start": "2020-01-01",
        "end": "2025-06-30",
    }
    registry = parse_registry(_doc([holding]), "dated")
    for day, outcome in (("2019-06-01", "allow"), ("2025-01-01", "deny"), ("2026-01-01", "allow")):
        decision = check("sg", registry, opa_url=opa_server.url, as_of=D(day))
        assert (decision["decision"], decision["as_of"]) == (outcome, day)

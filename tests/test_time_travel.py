"""Time travel in the library: a screening as of a day is the screening of that day's registry.

``stakegate.screen(registry, as_of=D)`` must decide exactly as ``screen`` of the registry cut
down to the holdings live on D (their dates dropped), through the real policy in a real OPA:
one reading of dates, whatever the path. Registries are small and generated (hypothesis), with
dates drawn from a handful of days so that starts, ends and D often coincide.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import stakegate
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.dates import live_at
from stakegate.registry.load import parse_registry

pytestmark = pytest.mark.integration

BASE = date(2024, 1, 1)
DAYS = [BASE + timedelta(days=n) for n in (0, 1, 30, 31, 365)]
IDS = [f"e{n}" for n in range(5)]
# e0 and e1 are restricted, so that what they own decides; the others may be anywhere.
COUNTRIES = ["CN", "SG", "GB", "US", None]


@st.composite
def dated_registries(draw: st.DrawFn) -> dict[str, Any]:
    entities = []
    for entity_id in IDS:
        entity: dict[str, Any] = {"id": entity_id, "type": "company"}
        country = {"e0": "CN", "e1": "RU"}.get(entity_id) or draw(st.sampled_from(COUNTRIES))
        if country is not None:
            entity["jurisdiction"] = country
        entities.append(entity)
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(IDS), st.sampled_from(IDS)).filter(lambda p: p[0] != p[1]),
            unique=True,
            max_size=8,
        )
    )
    ownership = []
    owners: dict[str, int] = {}
    for owner, owned in pairs:
        # At most two owners of an entity, 75 and 20 at most: never over 100 (no data faults);
        # the first often around the threshold.
        owners[owned] = n = owners.get(owned, 0) + 1
        if n > 2:
            continue
        share = st.sampled_from([20, 50, 51, 75]) if n == 1 else st.integers(1, 20)
        record: dict[str, Any] = {
            "owner": owner,
            "owned": owned,
            "percent": draw(share | st.sampled_from([{"min": 10, "max": 20}])),
        }
        start, end = sorted(
            draw(st.lists(st.sampled_from([None, *DAYS]), min_size=2, max_size=2)),
            key=lambda d: d or date.max,
        )
        if start is not None and draw(st.booleans()):
            record["start"] = start.isoformat()
        if end is not None and draw(st.booleans()):
            record["end"] = end.isoformat()
        ownership.append(record)
    return {"entities": entities, "ownership": ownership}


def live_on(document: dict[str, Any], day: date) -> dict[str, Any]:
    """The registry of ``day``: the holdings live on it, their dates dropped."""
    kept = []
    for record in document["ownership"]:
        start = date.fromisoformat(record["start"]) if "start" in record else None
        end = date.fromisoformat(record["end"]) if "end" in record else None
        if live_at(start, end, day):
            kept.append({k: v for k, v in record.items() if k not in ("start", "end")})
    return {"entities": document["entities"], "ownership": kept}


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=dated_registries(), day=st.sampled_from([BASE - timedelta(days=1), *DAYS]))
def test_screening_as_of_a_day_is_screening_that_days_registry(
    opa_server: LocalOpa, document: dict[str, Any], day: date
):
    dated = parse_registry(document, "dated")
    of_the_day = parse_registry(live_on(document, day), "of the day")
    with_dates = stakegate.screen(dated, opa_url=opa_server.url, as_of=day)
    without = stakegate.screen(of_the_day, opa_url=opa_server.url, as_of=day)
    assert with_dates == without
    # What the examples cover (pytest --hypothesis-show-statistics).
    event(f"the day cut holdings: {len(of_the_day.holdings) != len(dated.holdings)}")
    codes = {r["code"] for d in with_dates for r in d["reasons"]}
    event(f"denied for ownership: {'restricted_ownership' in codes}")
    assert {d["as_of"] for d in with_dates} == {day.isoformat()}
    # check() takes the same path as screen() for one entity.
    assert stakegate.check("e4", dated, opa_url=opa_server.url, as_of=day) == with_dates[4]

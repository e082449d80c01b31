"""UK PSC snapshot importer: bands, owners, countries, counts, errors, and decisions end to end.

The sample is real Companies House data (``fixtures/uk_psc``); single cases are hand-written
JSON lines in the tests. Decisions are checked by hand: company 07102351 is 75% or more owned by
a Chinese government body, so it is denied under the default policy.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stakegate.errors import RegistryError
from stakegate.importers import import_document, uk_psc
from stakegate.importers.base import ImportReport, RegistryBuilder
from stakegate.importers.uk_psc import nature_of_control
from stakegate.policy.client import PolicyClient
from stakegate.policy.pipeline import Connection, Screener
from stakegate.registry.load import parse_registry

from .conftest import FIXTURES

SAMPLE = FIXTURES / "uk_psc" / "psc_snapshot_sample.jsonl"
SAFE = "GB-COH-07102351/psc/I9Y9flc5ndlcZRtXPL03fjn2hDo"


def write_lines(tmp_path: Path, records: list[Any], name: str = "psc.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def psc(company: str, kind: str = "individual-person-with-significant-control", **data: Any):
    base = {
        "kind": kind,
        "links": {"self": f"/company/{company}/persons-with-significant-control/x/ID{company}"},
        "natures_of_control": ["ownership-of-shares-50-to-75-percent"],
        "name": "A Person",
    }
    return {"company_number": company, "data": {**base, **data}}


def import_as_of(path: Path, as_of: date) -> tuple[dict[str, Any], ImportReport]:
    """``import_document`` with ``ceased_on`` read as of ``as_of`` (``import --as-of``)."""
    builder = RegistryBuilder(str(path), as_of=as_of)
    uk_psc.import_files([path], builder)
    document = builder.document()
    parse_registry(document, str(path))
    return document, builder.report


def holdings(doc: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    return {
        (h["owner"], h["owned"], h.get("interest", "shares")): h.get("percent")
        for h in doc["ownership"]
    }


# --- the real sample ------------------------------------------------------------------------


def test_sample_counts():
    doc, report = import_document("uk-psc", [SAMPLE])
    # Every PSC is kept with its dates: the one that ceased (10308742) is history, not skipped.
    assert (report.entities, report.edges) == (34, 29)
    assert report.skipped == {
        "PSC statement, no person named: no-individual-or-entity-with-signficant-control": 1,
        "snapshot totals line": 1,
        "super-secure PSC: identity withheld by law": 1,
    }
    assert report.notes["share not stated: recorded as 0-100 band"] == 4
    assert report.notes["overseas entity: country of registration not in the snapshot"] == 2


def test_sample_chinese_state_body_owns_75_or_more():
    doc, _ = import_document("uk-psc", [SAMPLE])
    entities = {e["id"]: e for e in doc["entities"]}
    assert entities[SAFE] == {
        "id": SAFE,
        "type": "state",
        "name": "State Administration Of Foreign Exchange",
        "jurisdiction": "CN",
        "headquarters": "CN",
    }
    assert entities["GB-COH-07102351"] == {
        "id": "GB-COH-07102351",
        "type": "company",
        "jurisdiction": "GB",
    }
    assert holdings(doc)[(SAFE, "GB-COH-07102351", "shares")] == {"min": 75, "max": 100}


def test_sample_bands_interests_and_links():
    doc, _ = import_document("uk-psc", [SAMPLE])
    got = holdings(doc)
    bunyan = "GB-COH-03136191/psc/55y0_U-Q2wwTXDXh6mmo0BJPpM8"
    assert got[(bunyan, "GB-COH-03136191", "shares")] == {
        "min": 25,
        "max": 50,
        "min_exclusive": True,
    }
    wpp = "GB-COH-06452920/psc/wvnck5c6qyZHeG02DZYH-0_dGYM"
    assert got[(wpp, "GB-COH-06452920", "voting")] == {"min": 25, "max": 50, "min_exclusive": True}
    # Czech government, overseas entity: "more than 25%", two statements kept as one band.
    czech = "GB-COH-OE031044/psc/28NaTOioatSpvI7hNY3qz_fKYoI"
    assert got[(czech, "GB-COH-OE031044", "shares")] == {
        "min": 25,
        "max": 100,
        "min_exclusive": True,
    }
    # A corporate PSC registered at Companies House is that company: chains connect.
    assert got[("GB-COH-03530981", "GB-COH-04120481", "shares")] == {"min": 75, "max": 100}
    assert got[("GB-COH-03530981", "GB-COH-04120481", "other")] == {"min": 0.0, "max": 100.0}
    entities = {e["id"]: e for e in doc["entities"]}
    assert entities["GB-COH-03530981"]["name"] == "Clientlogic Holding Limited"
    assert entities["GB-COH-02847483/psc/YIVGZxjcS8tcf-5WdYZBtTTW-so"]["jurisdiction"] == "US"
    # "Companies Act 2006" names a UK statute; "English Law" names no country: left out.
    assert entities["GB-COH-07731393/psc/-iBI6UKj4US1_nH3eVDHZ160gA4"]["jurisdiction"] == "GB"
    assert "jurisdiction" not in entities["GB-COH-04609051/psc/XZ5ewy79htdkXc01WPUKUw0vfn0"]


# --- mapping rules --------------------------------------------------------------------------

NATURES = [
    (
        "ownership-of-shares-25-to-50-percent",
        ("shares", {"min": 25, "max": 50, "min_exclusive": True}),
    ),
    (
        "ownership-of-shares-50-to-75-percent",
        ("shares", {"min": 50, "max": 75, "min_exclusive": True, "max_exclusive": True}),
    ),
    ("ownership-of-shares-75-to-100-percent", ("shares", {"min": 75, "max": 100})),
    ("ownership-of-shares-75-to-100-percent-as-trust", ("shares", {"min": 75, "max": 100})),
    (
        "voting-rights-50-to-75-percent-as-firm",
        ("voting", {"min": 50, "max": 75, "min_exclusive": True, "max_exclusive": True}),
    ),
    (
        "voting-rights-25-to-50-percent-limited-liability-partnership",
        ("voting", {"min": 25, "max": 50, "min_exclusive": True}),
    ),
    (
        "ownership-of-shares-more-than-25-percent-as-control-over-trust-registered-overseas-entity",
        ("shares", {"min": 25, "max": 100, "min_exclusive": True}),
    ),
    (
        "right-to-share-surplus-assets-75-to-100-percent-limited-liability-partnership",
        ("shares", {"min": 75, "max": 100}),
    ),
    (
        "part-right-to-share-surplus-assets-25-to-50-percent",
        ("shares", {"min": 25, "max": 50, "min_exclusive": True}),
    ),
    ("right-to-appoint-and-remove-directors", ("other", None)),
    ("right-to-appoint-and-remove-members-limited-liability-partnership", ("other", None)),
    ("significant-influence-or-control-as-trust", ("other", None)),
    ("registered-owner-as-nominee-person-england-wales-registered-overseas-entity", None),
    ("ownership-of-shares-10-to-20-percent", None),
]


@pytest.mark.parametrize(("nature", "expected"), NATURES)
def test_nature_of_control(nature: str, expected: Any):
    assert nature_of_control(nature) == expected


def test_person_residence_normalised_and_unknown_counted(tmp_path: Path):
    path = write_lines(
        tmp_path,
        [
            psc("00000001", country_of_residence="Mainland China"),
            psc("00000002", country_of_residence="Atlantis"),
            psc("00000003"),
        ],
    )
    doc, report = import_document("uk-psc", [path])
    persons = {e["id"]: e for e in doc["entities"] if e["type"] == "person"}
    assert [p.get("jurisdiction") for p in persons.values()] == ["CN", None, None]
    assert report.notes == {
        "country not recognised (person's residence): 'Atlantis'; left out, not guessed": 1,
        "country not stated (person's residence): left out, jurisdiction unknown": 1,
    }


def test_skips_have_reasons(tmp_path: Path):
    path = write_lines(
        tmp_path,
        [
            psc("00000001", ceased=True),
            psc(
                "00000002",
                natures_of_control=[
                    "registered-owner-as-nominee-person-scotland-registered-overseas-entity"
                ],
            ),
            psc("00000003", kind="something-new"),
            {"company_number": "00000004", "data": {"kind": "super-secure-beneficial-owner"}},
        ],
    )
    doc, report = import_document("uk-psc", [path])
    assert doc == {"entities": [], "ownership": []}
    assert report.skipped == {
        "ceased PSC without a readable ceased_on date": 1,
        "nature of control: nominee for land, not control": 1,
        "PSC with no nature of control that concerns the company": 1,
        "unknown PSC kind: something-new": 1,
        "super-secure PSC: identity withheld by law": 1,
    }


UNREADABLE_CEASED_ON = "unreadable ceased_on: counted as live"
UNREADABLE_NOTIFIED_ON = "unreadable notified_on: counted from the beginning"
AS_OF = date(2025, 6, 30)
OWNER = "GB-COH-00000001/psc/ID00000001"
BAND = {"min": 50, "max": 75, "min_exclusive": True, "max_exclusive": True}


@pytest.mark.parametrize(
    ("ceased_on", "end"),
    [
        ("2025-06-29", "2025-06-29"),
        ("2025-06-30", "2025-06-30"),
        ("2025-07-01", "2025-07-01"),
        ("2025-06", "2025-06-30"),
        ("2025", "2025-12-31"),
        ("unknown", None),
        ("2025-02-30", None),
        ("30/06/2020", None),
        (20200101, None),
    ],
)
def test_the_dates_are_kept(tmp_path: Path, ceased_on: Any, end: str | None):
    """notified_on starts the records, ceased_on ends them (a month or year on its last day);
    an unreadable ceased_on ends nothing, and says so."""
    record = psc("00000001", notified_on="2016-04-06", ceased_on=ceased_on)
    doc, report = import_document("uk-psc", [write_lines(tmp_path, [record])])
    expected = {"owner": OWNER, "owned": "GB-COH-00000001", "percent": BAND, "start": "2016-04-06"}
    assert doc["ownership"] == [expected | ({"end": end} if end else {})]
    assert report.skipped == {}
    assert report.notes.get(UNREADABLE_CEASED_ON, 0) == (end is None)


@pytest.mark.parametrize(
    ("ceased_on", "live"),
    [
        ("2025-06-29", False),
        ("2025-06-30", False),
        ("2025-06", False),
        ("2025-07-01", True),
        ("2025-07", True),
        ("2025", True),
        ("unknown", True),
        ("2025-02-30", True),
    ],
)
def test_as_of_writes_only_the_psc_live_that_day(tmp_path: Path, ceased_on: Any, live: bool):
    """Ceased only on or before the as-of date; a later or unreadable date is still a PSC."""
    doc, report = import_as_of(write_lines(tmp_path, [psc("00000001", ceased_on=ceased_on)]), AS_OF)
    if not live:
        assert doc == {"entities": [], "ownership": []}
        assert report.skipped == {"ceased PSC": 1}
        assert report.notes == {}
    else:
        assert holdings(doc) == {(OWNER, "GB-COH-00000001", "shares"): BAND}
        assert report.skipped == {}


def test_a_psc_notified_after_the_as_of_date_is_not_written(tmp_path: Path):
    records = [psc("00000001", notified_on="2025-07-01"), psc("00000002", notified_on="2025-06-30")]
    doc, report = import_as_of(write_lines(tmp_path, records), AS_OF)
    assert [h["owned"] for h in doc["ownership"]] == ["GB-COH-00000002"]
    assert report.skipped == {"PSC notified after the as-of date": 1}


@pytest.mark.parametrize("notified_on", ["soon", "2016-02-30", 2016])
def test_an_unreadable_notified_on_counts_from_the_beginning(tmp_path: Path, notified_on: Any):
    doc, report = import_as_of(
        write_lines(tmp_path, [psc("00000001", notified_on=notified_on)]), AS_OF
    )
    assert doc["ownership"] == [{"owner": OWNER, "owned": "GB-COH-00000001", "percent": BAND}]
    assert report.notes[UNREADABLE_NOTIFIED_ON] == 1


def test_ceased_true_without_a_date_is_skipped(tmp_path: Path):
    """Ceased at a time the record does not say: it cannot be dated, and is not current. With
    a date, the date says when (a ceased_on still ahead is counted until then: fail closed)."""
    records = [
        psc("00000001", ceased=True),
        psc("00000002", ceased=True, ceased_on="later"),
        psc("00000003", ceased=True, ceased_on="2030-01-01"),
    ]
    doc, report = import_as_of(write_lines(tmp_path, records), AS_OF)
    assert report.skipped == {"ceased PSC without a readable ceased_on date": 2}
    assert [(h["owned"], h.get("end")) for h in doc["ownership"]] == [
        ("GB-COH-00000003", "2030-01-01")
    ]


def test_date_notes_count_only_psc_that_become_holdings(tmp_path: Path):
    record = psc("00000001", ceased_on="later", natures_of_control=["something-else"])
    _, report = import_as_of(write_lines(tmp_path, [record]), AS_OF)
    assert UNREADABLE_CEASED_ON not in report.notes


def test_sample_psc_that_ceased_is_history():
    """The real sample's only PSC of 10308742 (a resident of Poland, 75% or more of shares and
    votes, and other control) ceased on 2018-02-27: kept with that end, written as of the day
    before, left out as of that day."""
    doc, _ = import_document("uk-psc", [SAMPLE])
    ended = [h for h in doc["ownership"] if "10308742" in h["owned"]]
    assert {h.get("interest", "shares") for h in ended} == {"shares", "voting", "other"}
    assert {h["end"] for h in ended} == {"2018-02-27"}
    doc, report = import_as_of(SAMPLE, date(2018, 2, 26))
    assert "ceased PSC" not in report.skipped
    kinds = {kind: band for (_, owned, kind), band in holdings(doc).items() if "10308742" in owned}
    assert kinds["shares"] == kinds["voting"] == {"min": 75, "max": 100}
    assert set(kinds) == {"shares", "voting", "other"}
    _, report = import_as_of(SAMPLE, date(2018, 2, 27))
    assert report.skipped["ceased PSC"] == 1
    assert report.skipped["PSC notified after the as-of date"] == 2  # 2018-12-06, 2021-12-13


def test_legal_person_that_is_not_a_government_is_other(tmp_path: Path):
    record = psc(
        "00000001",
        kind="legal-person-person-with-significant-control",
        name="The Trustees Of Something",
        identification={"legal_authority": "Charities Act", "legal_form": "Charity"},
    )
    doc, _ = import_document("uk-psc", [write_lines(tmp_path, [record])])
    assert doc["entities"][1]["type"] == "other"


# --- errors ---------------------------------------------------------------------------------

BAD = [
    ('{"company_number": "1", "data": {"kind": "x"}}\n{oops\n', "line 2", None, "malformed JSON"),
    ('[{"a": 1}]\n', "line 1", None, "got a JSON array"),
    ('"text"\n', "line 1", None, "must be a JSON object"),
    ('{"company_number": "1"}\n', "line 1", "data", "must be a mapping"),
    ('{"company_number": "1", "data": {"kind": 3}}\n', "line 1", "data.kind", "non-empty"),
    (
        '{"data": {"kind": "individual-person-with-significant-control"}}\n',
        "line 1",
        "company_number",
        "must be a string",
    ),
    (
        '{"company_number": "12 34", "data": {"kind": "x"}}\n',
        "line 1",
        "company_number",
        "not a company number",
    ),
    (
        '{"company_number": "1", "data": {"kind": "individual-person-with-significant-control", '
        '"natures_of_control": "ownership-of-shares-25-to-50-percent"}}\n',
        "line 1",
        "data.natures_of_control",
        "list of strings",
    ),
    (
        '{"company_number": "1", "data": {"kind": "individual-person-with-significant-control", '
        '"natures_of_control": ["significant-influence-or-control"]}}\n',
        "line 1",
        "data.links.self",
        "links.self",
    ),
    (b'{"company_number": "\xff"}\n', "line 1", None, "malformed JSON"),
]


@pytest.mark.parametrize(("text", "record", "field", "words"), BAD)
def test_malformed_input_names_file_line_and_field(
    tmp_path: Path, text: str | bytes, record: str, field: str | None, words: str
):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(RegistryError) as err:
        import_document("uk-psc", [path])
    assert (err.value.source, err.value.record, err.value.field) == (str(path), record, field)
    assert words in str(err.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(RegistryError, match="cannot read"):
        import_document("uk-psc", [tmp_path / "nope.jsonl"])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = [
    "kind",
    "links",
    "natures_of_control",
    "identification",
    "country_of_residence",
    "name",
    "address",
    "ceased_on",
    "etag",
]


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=300))
def test_fuzz_bytes_never_crash(tmp_path: Path, blob: bytes):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(blob)
    try:
        import_document("uk-psc", [path])
    except RegistryError:
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    company=JSON_VALUES,
    changes=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=4),
)
def test_fuzz_fields_never_crash(tmp_path: Path, company: Any, changes: dict[str, Any]):
    record = psc("00000001")
    record["company_number"] = company
    record["data"].update(changes)
    path = write_lines(tmp_path, [record])
    try:
        doc, _ = import_document("uk-psc", [path])
    except RegistryError:
        return
    json.dumps(doc)  # the document is plain JSON


# --- decisions, end to end ------------------------------------------------------------------


def _interest_supported() -> bool:
    doc = {
        "entities": [{"id": "a", "type": "company"}, {"id": "b", "type": "company"}],
        "ownership": [{"owner": "a", "owned": "b", "percent": 60, "interest": "voting"}],
    }
    try:
        parse_registry(doc, "probe")
    except RegistryError:
        return False
    return True


@pytest.mark.integration
def test_sample_decisions(opa_server):
    doc, _ = import_document("uk-psc", [SAMPLE])
    if not _interest_supported():
        # Until the registry accepts ``interest`` (issue 4), screen the share records only;
        # the decisions below rest on them alone.
        doc["ownership"] = [h for h in doc["ownership"] if "interest" not in h]
    registry = parse_registry(doc, str(SAMPLE))
    client = PolicyClient(opa_server.url)
    try:
        decisions = {
            d["entity"]: d
            for d in Screener(Connection(client, opa_server.revision), registry).screen()
        }
    finally:
        client.close()
    assert decisions[SAFE]["decision"] == "deny"
    # 75% or more held by a restricted state body: the band's floor is over 50.
    assert decisions["GB-COH-07102351"]["decision"] == "deny"
    assert [r["code"] for r in decisions["GB-COH-07102351"]["reasons"]] == ["restricted_ownership"]
    assert decisions["GB-COH-08209948"]["decision"] == "allow"
    assert decisions["GB-COH-03136191"]["decision"] == "allow"

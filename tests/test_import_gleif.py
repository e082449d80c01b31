"""GLEIF importer: LEI records, relationships and exceptions from XML and CSV, errors, decisions.

Fixtures are real golden-copy excerpts (``fixtures/gleif``). The hand-checked case is the chain
MONOOVA FX PTY LTD -> MONOOVA GLOBAL PAYMENTS PTY LTD -> MONEYTECH GROUP LIMITED, each directly
consolidated by the next, all in Australia: allowed under the shipped policy, and all three
denied once a policy restricts AU (the top by jurisdiction, the other two because accounting
consolidation counts as majority control).
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stakegate.errors import RegistryError
from stakegate.importers import import_document
from stakegate.policy.client import PolicyClient
from stakegate.policy.pipeline import Connection, Screener
from stakegate.registry.load import parse_registry

from .conftest import FIXTURES

G = FIXTURES / "gleif"
FX, PAYMENTS, MONEYTECH = "98450051BS9C610A8T78", "2138002YAB7Z9KO21397", "984500501A1B1045PB30"
CHAIN_XML = [G / "lei-updates-data2.xml", G / "rr-updates-data2.xml", G / "repex-updates-data2.xml"]
CHAIN_CSV = [G / "lei.csv", G / "rr.csv", G / "repex.csv"]


def edges(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(h["owner"], h["owned"], h.get("interest", "shares")) for h in doc["ownership"]}


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in doc["entities"]}


def test_chain_from_xml():
    doc, report = import_document("gleif", CHAIN_XML)
    assert edges(doc) == {
        (PAYMENTS, FX, "consolidation"),
        (MONEYTECH, PAYMENTS, "consolidation"),
        ("549300JB1P61FUTPEZ75", "097900BHF50000076475", "consolidation"),
        ("9845002B9874D50A4531", "097900BJGO0000201513", "consolidation"),
    }
    assert all("percent" not in h for h in doc["ownership"])
    assert by_id(doc)[FX] == {
        "id": FX,
        "type": "company",
        "name": "MONOOVA FX PTY LTD",
        "jurisdiction": "AU",
        "headquarters": "AU",
    }
    assert (report.entities, report.edges) == (12, 4)
    assert report.skipped == {
        "IS_FUND-MANAGED_BY: fund management, not ownership": 4,
        "ultimate parent: implied by the chain of direct parents": 3,
    }
    assert report.notes == {
        "direct parent not reported: NATURAL_PERSONS": 2,
        "direct parent not reported: NON_CONSOLIDATING": 2,
        "direct parent not reported: NO_KNOWN_PERSON": 1,
        "direct parent not reported: NO_LEI": 1,
        "ultimate parent not reported: NON_CONSOLIDATING": 1,
    }


def test_csv_gives_the_same_chain_as_xml():
    xml_doc, _ = import_document("gleif", CHAIN_XML)
    csv_doc, report = import_document("gleif", CHAIN_CSV)
    assert edges(csv_doc) == edges(xml_doc) - {
        ("549300JB1P61FUTPEZ75", "097900BHF50000076475", "consolidation")
    }
    assert by_id(csv_doc)[MONEYTECH] == by_id(xml_doc)[MONEYTECH]
    assert report.skipped == {"ultimate parent: implied by the chain of direct parents": 3}


def test_file_order_does_not_matter():
    forward, _ = import_document("gleif", CHAIN_XML)
    backward, _ = import_document("gleif", list(reversed(CHAIN_XML)))
    assert edges(forward) == edges(backward)
    assert by_id(forward) == by_id(backward)


def test_full_sample_keeps_subdivisions_and_adds_unknown_parents():
    doc, report = import_document(
        "gleif", [G / "lei-data.xml", G / "rr-data.xml", G / "repex-data.xml"]
    )
    entities = by_id(doc)
    assert entities["004L5FPTUREIWK9T2N63"]["jurisdiction"] == "US-DE"
    assert entities["00TR8NKAEL48RGTZEW89"]["headquarters"] == "CW"
    # Neither the child nor its parents have an LEI record in these files: kept, country unknown.
    assert "jurisdiction" not in entities["ZZG38T0MDR3QY1ETUA76"]
    assert edges(doc) == {
        ("ZZG38T0MDR3QY1ETUA76", "010CMKZ3VON21WF2ZD45", "consolidation"),
        # the ultimate parent is not reached through direct parents in the data: kept
        ("3C7474T6CDKPR9K6YT90", "010CMKZ3VON21WF2ZD45", "consolidation"),
    }
    assert (report.entities, report.edges) == (16, 2)
    assert report.notes["LEI without an LEI record in the input: jurisdiction unknown"] == 3
    assert report.notes["direct parent not reported: NON_PUBLIC"] == 1


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


RR_HEADER = (
    "Relationship.StartNode.NodeID,Relationship.EndNode.NodeID,"
    "Relationship.RelationshipType,Relationship.RelationshipStatus,Registration.RegistrationStatus\n"
)


def test_a_later_inactive_or_retired_record_undoes_a_relationship(tmp_path: Path):
    first = write(
        tmp_path,
        "rr1.csv",
        RR_HEADER + f"{FX},{PAYMENTS},IS_DIRECTLY_CONSOLIDATED_BY,ACTIVE,PUBLISHED\n"
        f"{PAYMENTS},{MONEYTECH},IS_DIRECTLY_CONSOLIDATED_BY,ACTIVE,PUBLISHED\n",
    )
    later = write(
        tmp_path,
        "rr2.csv",
        RR_HEADER + f"{FX},{PAYMENTS},IS_DIRECTLY_CONSOLIDATED_BY,INACTIVE,PUBLISHED\n"
        f"{PAYMENTS},{MONEYTECH},IS_DIRECTLY_CONSOLIDATED_BY,ACTIVE,RETIRED\n",
    )
    doc, report = import_document("gleif", [G / "lei.csv", first, later])
    assert doc["ownership"] == []
    assert report.skipped == {
        "relationship inactive: not current": 1,
        "relationship retired: not current": 1,
    }


def test_the_relationship_period_dates_the_record():
    """The real record FX -> PAYMENTS has an ACCOUNTING_PERIOD ending 2020-06-30 (the accounts,
    not the relationship) and a RELATIONSHIP_PERIOD from 2018-06-30: only the latter counts."""
    doc, _ = import_document("gleif", CHAIN_XML)
    (record,) = [h for h in doc["ownership"] if (h["owner"], h["owned"]) == (PAYMENTS, FX)]
    assert (record.get("start"), record.get("end")) == ("2018-06-30", None)


RR_DATED_HEADER = (
    "Relationship.StartNode.NodeID,Relationship.EndNode.NodeID,Relationship.RelationshipType,"
    "Relationship.RelationshipStatus,Relationship.Period.1.startDate,"
    "Relationship.Period.1.endDate,Relationship.Period.1.periodType,"
    "Relationship.Period.2.startDate,Relationship.Period.2.endDate,"
    "Relationship.Period.2.periodType,Registration.RegistrationStatus\n"
)


@pytest.mark.parametrize(
    ("status", "start", "end", "kept"),
    [
        # A timestamp counts by the day as written; an end after midnight ends the next day.
        ("ACTIVE", "2017-12-06T01:00:00+01:00", "", ("2017-12-06", None)),
        ("ACTIVE", "2017-12-06", "2021-12-31T00:00:00.000Z", ("2017-12-06", "2021-12-31")),
        ("ACTIVE", "2017-12-06", "2021-12-31T01:00:00+01:00", ("2017-12-06", "2022-01-01")),
        # An inactive relationship with an end is history; without one it is skipped.
        ("INACTIVE", "2017-12-06", "2021-12-31", ("2017-12-06", "2021-12-31")),
        ("INACTIVE", "2017-12-06", "", None),
        # Unreadable dates bound nothing.
        ("ACTIVE", "06/12/2017", "someday", (None, None)),
    ],
)
def test_csv_relationship_periods(
    tmp_path: Path, status: str, start: str, end: str, kept: tuple[str | None, ...] | None
):
    rr = write(
        tmp_path,
        "rr.csv",
        RR_DATED_HEADER + f"{FX},{PAYMENTS},IS_DIRECTLY_CONSOLIDATED_BY,{status},"
        f"2020-01-01,2020-12-31,ACCOUNTING_PERIOD,{start},{end},RELATIONSHIP_PERIOD,PUBLISHED\n",
    )
    doc, report = import_document("gleif", [G / "lei.csv", rr])
    if kept is None:
        assert doc["ownership"] == []
        assert report.skipped == {"relationship inactive: not current": 1}
        return
    (record,) = doc["ownership"]
    assert (record.get("start"), record.get("end")) == kept
    if kept == (None, None):
        assert report.notes["unreadable relationship StartDate: counted from the beginning"] == 1
        assert report.notes["unreadable relationship EndDate: counted as live"] == 1


def test_as_of_writes_the_relationships_live_that_day(tmp_path: Path):
    rr = write(
        tmp_path,
        "rr.csv",
        RR_DATED_HEADER
        + f"{FX},{PAYMENTS},IS_DIRECTLY_CONSOLIDATED_BY,INACTIVE,,,,2017-12-06,2021-12-31,"
        "RELATIONSHIP_PERIOD,PUBLISHED\n"
        f"{PAYMENTS},{MONEYTECH},IS_DIRECTLY_CONSOLIDATED_BY,ACTIVE,,,,2022-01-01,,"
        "RELATIONSHIP_PERIOD,PUBLISHED\n",
    )
    files = [G / "lei.csv", rr]
    written = {
        day: [
            (h["owner"], h["owned"]) for h in import_document("gleif", files, day)[0]["ownership"]
        ]
        for day in (date(2021, 12, 30), date(2021, 12, 31), date(2022, 1, 1))
    }
    assert written == {
        date(2021, 12, 30): [(PAYMENTS, FX)],
        date(2021, 12, 31): [],
        date(2022, 1, 1): [(MONEYTECH, PAYMENTS)],
    }


def test_an_ended_direct_chain_does_not_imply_the_ultimate_parent(tmp_path: Path):
    """The ultimate parent is kept unless current direct relationships reach it."""
    rr = write(
        tmp_path,
        "rr.csv",
        RR_DATED_HEADER
        + f"{FX},{PAYMENTS},IS_DIRECTLY_CONSOLIDATED_BY,ACTIVE,,,,2017-12-06,2021-12-31,"
        "RELATIONSHIP_PERIOD,PUBLISHED\n"
        f"{PAYMENTS},{MONEYTECH},IS_DIRECTLY_CONSOLIDATED_BY,ACTIVE,,,,,,,PUBLISHED\n"
        f"{FX},{MONEYTECH},IS_ULTIMATELY_CONSOLIDATED_BY,ACTIVE,,,,,,,PUBLISHED\n",
    )
    doc, _ = import_document("gleif", [G / "lei.csv", rr])
    assert edges(doc) == {
        (PAYMENTS, FX, "consolidation"),
        (MONEYTECH, PAYMENTS, "consolidation"),
        (MONEYTECH, FX, "consolidation"),
    }


def test_branch_is_wholly_held_by_its_head_office(tmp_path: Path):
    rr = write(
        tmp_path,
        "rr.csv",
        RR_HEADER + f"{FX},{MONEYTECH},IS_INTERNATIONAL_BRANCH_OF,ACTIVE,PUBLISHED\n",
    )
    doc, _ = import_document("gleif", [G / "lei.csv", rr])
    assert [(h["owner"], h["owned"], h["percent"]) for h in doc["ownership"]] == [
        (MONEYTECH, FX, 100)
    ]


def test_annulled_lei_is_skipped_with_its_relationships(tmp_path: Path):
    lei = write(
        tmp_path,
        "lei.csv",
        "LEI,Entity.LegalName,Entity.LegalJurisdiction,Registration.RegistrationStatus\n"
        f"{FX},X,AU,ANNULLED\n{PAYMENTS},Y,AU,ISSUED\n",
    )
    rr = write(
        tmp_path,
        "rr.csv",
        RR_HEADER + f"{FX},{PAYMENTS},IS_DIRECTLY_CONSOLIDATED_BY,ACTIVE,PUBLISHED\n",
    )
    doc, report = import_document("gleif", [lei, rr])
    assert [e["id"] for e in doc["entities"]] == [PAYMENTS]
    assert report.skipped == {
        "LEI record annulled: names no real entity": 1,
        "relationship names an annulled or duplicate LEI": 1,
    }


def test_zipped_golden_copy(tmp_path: Path):
    archive = tmp_path / "golden.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path in CHAIN_XML:
            z.write(path, path.name)
    zipped, _ = import_document("gleif", [archive])
    plain, _ = import_document("gleif", CHAIN_XML)
    assert zipped == plain


# --- errors ---------------------------------------------------------------------------------

LEI_XML = (
    '<lei:LEIData xmlns:lei="http://www.gleif.org/data/schema/leidata/2016"><lei:LEIRecords>'
    "{}</lei:LEIRecords></lei:LEIData>"
)
BAD = [
    (
        "a.xml",
        LEI_XML.format("<lei:LEIRecord><lei:LEI>bad</lei:LEI></lei:LEIRecord>"),
        "1 (LEI bad)",
        "LEI",
        "not valid",
    ),
    (
        "a.xml",
        LEI_XML.format("<lei:LEIRecord><lei:Entity/></lei:LEIRecord>"),
        "1 (LEI ?)",
        "LEI",
        "is required",
    ),
    ("a.xml", "<lei:LEIData><unclosed>", None, None, "malformed XML at line 1"),
    ("a.xml", "<html><body/></html>", None, None, "not a GLEIF file: root element 'html'"),
    ("a.xml", "<!-- nothing -->", None, None, "malformed XML"),
    ("a.csv", "", None, None, "empty file"),
    ("a.csv", "Name,Country\nx,y\n", "line 1", None, "not a GLEIF golden-copy CSV"),
    ("a.csv", f"LEI,Entity.LegalName\n{FX},a,b\n", "line 2", None, "expected 2 columns"),
    (
        "a.csv",
        RR_HEADER + ",x,IS_DIRECTLY_CONSOLIDATED_BY,ACTIVE,PUBLISHED\n",
        "line 2",
        "Relationship.StartNode.NodeID",
        "is required",
    ),
    ("a.csv", 'LEI,Entity.LegalName\n"x\n', "line 2", None, "malformed CSV"),
]


@pytest.mark.parametrize(("name", "text", "record", "field", "words"), BAD)
def test_malformed_input_names_file_record_and_field(
    tmp_path: Path, name: str, text: str, record: str | None, field: str | None, words: str
):
    path = write(tmp_path, name, text)
    with pytest.raises(RegistryError) as err:
        import_document("gleif", [path])
    assert (err.value.source, err.value.record, err.value.field) == (str(path), record, field)
    assert words in str(err.value)


def test_xml_field_is_named_as_in_xml(tmp_path: Path):
    rr = (
        '<rr:RelationshipData xmlns:rr="http://www.gleif.org/data/schema/rr/2016"><rr:Records>'
        "<rr:RelationshipRecord><rr:Relationship><rr:StartNode><rr:NodeID>A</rr:NodeID>"
        "</rr:StartNode></rr:Relationship></rr:RelationshipRecord></rr:Records></rr:RelationshipData>"
    )
    with pytest.raises(RegistryError) as err:
        import_document("gleif", [write(tmp_path, "rr.xml", rr)])
    assert (err.value.record, err.value.field) == ("1", "Relationship/EndNode/NodeID")


def test_not_utf8_csv(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"LEI,Entity.LegalName\n" + FX.encode() + b",\xff\xfe\n")
    with pytest.raises(RegistryError, match="not UTF-8"):
        import_document("gleif", [path])


SAMPLE_BYTES = (G / "rr-updates-data2.xml").read_bytes()


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=400), suffix=st.sampled_from(["xml", "csv", "zip"]))
def test_fuzz_bytes_never_crash(tmp_path: Path, blob: bytes, suffix: str):
    path = tmp_path / f"fuzz.{suffix}"
    path.write_bytes(blob)
    try:
        import_document("gleif", [path])
    except RegistryError:
        pass


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cut=st.integers(0, len(SAMPLE_BYTES)),
    start=st.integers(0, len(SAMPLE_BYTES)),
    junk=st.binary(max_size=20),
)
@example(cut=30, start=30, junk=b"a")  # encoding="aUTF-8": LookupError escaped as a traceback
def test_fuzz_damaged_xml_never_crashes(tmp_path: Path, cut: int, start: int, junk: bytes):
    lo, hi = sorted((cut, start))
    path = tmp_path / "rr.xml"
    path.write_bytes(SAMPLE_BYTES[:lo] + junk + SAMPLE_BYTES[hi:])
    try:
        import_document("gleif", [path])
    except RegistryError:
        pass


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(st.text(max_size=25), min_size=5, max_size=5), max_size=5))
def test_fuzz_csv_rows_never_crash(tmp_path: Path, rows: list[list[str]]):
    import csv

    path = tmp_path / "rr.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write(RR_HEADER)
        csv.writer(f).writerows(rows)
    try:
        import_document("gleif", [path])
    except RegistryError:
        pass


# --- decisions, end to end ------------------------------------------------------------------


def decide(server: Any, files: list[Path]) -> dict[str, str]:
    doc, _ = import_document("gleif", files)
    registry = parse_registry(doc, "gleif")
    client = PolicyClient(server.url)
    try:
        return {
            d["entity"]: d["decision"]
            for d in Screener(Connection(client, server.revision), registry).screen()
        }
    finally:
        client.close()


@pytest.mark.integration
@pytest.mark.parametrize("files", [CHAIN_XML, CHAIN_CSV], ids=["xml", "csv"])
def test_three_level_chain_decisions(opa_server, opa_with_config, files: list[Path]):
    chain = (FX, PAYMENTS, MONEYTECH)
    shipped = decide(opa_server, files)
    assert [shipped[e] for e in chain] == ["allow", "allow", "allow"]
    with_au = opa_with_config({"restricted_regions": ["CN", "RU", "KP", "IR", "AU"]})
    restricted = decide(with_au, files)
    assert [restricted[e] for e in chain] == ["deny", "deny", "deny"]


def test_unknown_xml_encoding_is_a_clean_error(tmp_path: Path):
    """An XML declaration naming an unknown encoding raised LookupError (a traceback)."""
    path = tmp_path / "rr.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="no-such-codec"?><rr:RelationshipData/>')
    with pytest.raises(RegistryError, match="malformed XML"):
        import_document("gleif", [path])

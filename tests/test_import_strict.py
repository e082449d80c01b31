"""Importer inputs read strictly: duplicate keys, columns and elements, and bounded records.

Each duplicate was resolved silently before (the last key, the last column, the first element
won), and a GLEIF zip holding one long line took twice the line's size in memory. Now each is
refused naming the file, the record (line) and the key, column or element; the caps are set
small through settings so the files stay small.
"""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from stakegate import settings
from stakegate.errors import RegistryError
from stakegate.importers import import_document

from .conftest import FIXTURES

HEADER = (
    '"LEI","Entity.LegalName","Entity.LegalJurisdiction","Entity.LegalJurisdiction",'
    '"Registration.RegistrationStatus"\n'
)
LEI = "98450051BS9C610A8T78"
LEI_XML = (
    '<lei:LEIData xmlns:lei="http://www.gleif.org/data/schema/leidata/2016"><lei:LEIRecords>'
    "<lei:LEIRecord><lei:LEI>{lei}</lei:LEI><lei:Entity><lei:LegalName>X</lei:LegalName>"
    "{entity}</lei:Entity></lei:LEIRecord></lei:LEIRecords></lei:LEIData>"
)
PSC = FIXTURES / "uk_psc" / "psc_snapshot_sample.jsonl"
BODS = FIXTURES / "bods" / "v0.4-indirect-ownership.json"


def _import(fmt: str, path: Path) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        import_document(fmt, [path])
    return caught.value


def test_gleif_csv_with_a_column_twice_is_refused(tmp_path: Path):
    path = tmp_path / "lei.csv"
    path.write_text(HEADER + f'"{LEI}","X","CN","SG","ISSUED"\n')
    error = _import("gleif", path)
    assert (error.source, error.record, error.field) == (
        str(path),
        "line 1",
        "Entity.LegalJurisdiction",
    )
    assert "column appears twice in the header" in str(error)


def test_gleif_xml_with_an_element_twice_is_refused(tmp_path: Path):
    path = tmp_path / "lei.xml"
    twice = "<lei:LegalJurisdiction>CN</lei:LegalJurisdiction>" * 2
    path.write_text(LEI_XML.format(lei=LEI, entity=twice.replace("CN", "SG", 1)))
    error = _import("gleif", path)
    assert (error.source, error.record, error.field) == (
        str(path),
        "1",
        "Entity/LegalJurisdiction",
    )
    assert "appears more than once" in str(error)


def test_gleif_xml_quantifiers_may_repeat(tmp_path: Path):
    rr = (
        '<rr:RelationshipData xmlns:rr="http://www.gleif.org/data/schema/rr/2016"><rr:Records>'
        "<rr:RelationshipRecord><rr:Relationship>"
        f"<rr:StartNode><rr:NodeID>{LEI}</rr:NodeID></rr:StartNode>"
        "<rr:EndNode><rr:NodeID>2138002YAB7Z9KO21397</rr:NodeID></rr:EndNode>"
        "<rr:RelationshipType>IS_DIRECTLY_CONSOLIDATED_BY</rr:RelationshipType>"
        "<rr:RelationshipQuantifiers>"
        + "<rr:RelationshipQuantifier><rr:QuantifierAmount>60</rr:QuantifierAmount>"
        "</rr:RelationshipQuantifier>"
        * 2
        + "</rr:RelationshipQuantifiers></rr:Relationship></rr:RelationshipRecord>"
        "</rr:Records></rr:RelationshipData>"
    )
    path = tmp_path / "rr.xml"
    path.write_text(rr)
    doc, _ = import_document("gleif", [path])
    assert len(doc["ownership"]) == 1


def test_bods_duplicate_key_is_refused_in_an_array_and_in_json_lines(tmp_path: Path):
    statements = json.loads(BODS.read_text())
    text = json.dumps(statements[0])
    duplicated = text.replace('"recordType": "entity"', '"recordType": "entity", "recordType": "x"')
    assert duplicated != text
    rest = [json.dumps(s) for s in statements[1:]]
    array = tmp_path / "statements.json"
    array.write_text("[\n" + ",\n".join([duplicated, *rest]) + "\n]\n")
    error = _import("bods", array)
    assert (error.source, error.record, error.field) == (str(array), "line 2", "recordType")
    assert "duplicate key 'recordType'" in str(error)
    lines = tmp_path / "statements.jsonl"
    lines.write_text("\n".join([*rest[:1], duplicated, *rest[1:]]) + "\n")
    error = _import("bods", lines)
    assert (error.record, error.field) == ("line 2", "recordType")


def test_bods_nan_is_refused(tmp_path: Path):
    statements = json.loads(BODS.read_text())
    path = tmp_path / "statements.jsonl"
    path.write_text("\n".join(json.dumps(s) for s in statements).replace('"0.4"', "NaN", 1))
    error = _import("bods", path)
    assert error.field == "publicationDetails.bodsVersion"
    assert "NaN is not a JSON number" in str(error)


def test_uk_psc_duplicate_key_is_refused(tmp_path: Path):
    first, *rest = PSC.read_text().splitlines()
    assert first.startswith('{"company_number":"08209948",')
    path = tmp_path / "psc.jsonl"
    path.write_text("\n".join([*rest[:2], '{"company_number":"00000001",' + first[1:]]) + "\n")
    error = _import("uk-psc", path)
    assert (error.source, error.record, error.field) == (str(path), "line 3", "company_number")
    assert "duplicate key 'company_number'" in str(error)


# --- bounded lines and records -------------------------------------------------------------


def _peak(call) -> tuple[BaseException, int]:
    tracemalloc.start()
    try:
        with pytest.raises(RegistryError) as caught:
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return caught.value, peak


LONG = 16 << 20  # the line, against a cap of 1 MiB


def test_gleif_zip_with_one_long_line_is_refused_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(settings, "IMPORT_MAX_RECORD", 1 << 20)
    archive = tmp_path / "golden.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("lei.csv", "w") as member:
            member.write(b'"LEI","Entity.LegalName"\n"' + LEI.encode() + b'","')
            for _ in range(LONG >> 16):
                member.write(b"A" * (1 << 16))
            member.write(b'"\n')
    assert archive.stat().st_size < 100_000
    error, peak = _peak(lambda: import_document("gleif", [archive]))
    assert (error.source, error.record) == (f"{archive}!lei.csv", "line 2")  # type: ignore[attr-defined]
    assert "longer than 1,048,576 characters" in str(error)
    assert peak < LONG // 2  # the whole line (and its copy) was twice LONG


def test_gleif_xml_record_longer_than_the_cap_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(settings, "IMPORT_MAX_RECORD", 1 << 20)
    path = tmp_path / "lei.xml"
    name = "<lei:LegalName>" + "A" * LONG + "</lei:LegalName>"
    path.write_text(
        LEI_XML.format(lei=LEI, entity=name).replace("<lei:LegalName>X</lei:LegalName>", "")
    )
    error, peak = _peak(lambda: import_document("gleif", [path]))
    assert (error.source, error.record) == (str(path), "1")  # type: ignore[attr-defined]
    assert "longer than 1,048,576 bytes" in str(error)
    assert peak < LONG // 2


def test_uk_psc_line_longer_than_the_cap_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(settings, "IMPORT_MAX_RECORD", 1 << 20)
    path = tmp_path / "psc.jsonl"
    first = PSC.read_text().splitlines()[0]
    path.write_text(first + "\n" + '{"x": "' + "A" * LONG + '"}\n')
    error, peak = _peak(lambda: import_document("uk-psc", [path]))
    assert (error.source, error.record) == (str(path), "line 2")  # type: ignore[attr-defined]
    assert "longer than 1,048,576 bytes" in str(error)
    assert peak < LONG // 2


def test_bods_value_longer_than_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "IMPORT_MAX_RECORD", 1 << 20)
    path = tmp_path / "statements.jsonl"
    path.write_text('{"statementId": "' + "A" * LONG + '"}\n')
    error, peak = _peak(lambda: import_document("bods", [path]))
    assert (error.source, error.record) == (str(path), "line 1")  # type: ignore[attr-defined]
    assert "a JSON value longer than 1,048,576 characters" in str(error)
    assert peak < LONG // 2

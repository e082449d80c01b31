"""FollowTheMoney importer: entities, designations, dated ownership, country codes, errors.

``fixtures/ftm/sanctions.ftm.jsonl`` is hand-written in the shape of OpenSanctions' FtM export
(its README says what it covers); single cases are JSON lines written in the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from stakegate import settings as stakegate_settings
from stakegate.cli.main import cli
from stakegate.errors import RegistryError
from stakegate.importers import import_document
from stakegate.importers.ftm import iso_code
from stakegate.registry.load import parse_registry

from .conftest import FIXTURES

SAMPLE = FIXTURES / "ftm" / "sanctions.ftm.jsonl"


def lines(tmp_path: Path, records: list[Any], raw: str = "") -> Path:
    path = tmp_path / "entities.ftm.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + raw, encoding="utf-8")
    return path


def company(entity_id: str, **props: list[str]) -> dict[str, Any]:
    return {"id": entity_id, "schema": "Company", "properties": props, "datasets": ["test"]}


def ownership(owner: str, asset: str, **props: list[str]) -> dict[str, Any]:
    return {
        "id": f"own-{owner}-{asset}",
        "schema": "Ownership",
        "properties": {"owner": [owner], "asset": [asset], **props},
    }


def test_sample_imports_as_written() -> None:
    doc, report = import_document("ftm", [SAMPLE])
    registry = parse_registry(doc, str(SAMPLE))
    entities = {e["id"]: e for e in doc["entities"]}
    assert entities["NK-volkov"] == {
        "id": "NK-volkov",
        "type": "person",
        "name": "Ivan Volkov",
        "jurisdiction": "RU",
        "designations": [
            {"list": "gb_fcdo_sanctions", "since": "2022-03-01"},
            {"list": "us_ofac_sdn", "program": "RUSSIA-EO14024", "since": "2022-03-15"},
        ],
    }
    assert entities["NK-orel"]["designations"] == [{"list": "eu_fsf"}]
    # A delisting: no sanction topic any more, the ended Sanction record kept as history.
    assert entities["NK-delisted"]["designations"] == [
        {"list": "eu_fsf", "since": "2022-04-08", "until": "2025-03-14"}
    ]
    assert entities["NK-ministry"]["type"] == "state"
    # FtM's own codes (zz: global; ua-cri: Crimea) are unknown, never guessed.
    assert "jurisdiction" not in entities["NK-global"]
    assert "jurisdiction" not in entities["NK-crimea"]
    held = {(h["owner"], h["owned"]): h for h in doc["ownership"]}
    assert held["NK-volkov", "NK-baltic"] == {
        "owner": "NK-volkov",
        "owned": "NK-baltic",
        "percent": 30.0,
        "interest_id": "own-1",
        "start": "2021-01-01",
    }
    assert held["NK-baltic", "NK-global"]["percent"] == {"min": 0.0, "max": 100.0}
    assert held["NK-baltic", "NK-global"]["end"] == "2024-12-31"
    assert held["NK-delisted", "NK-crimea"]["percent"] == {"min": 60.0, "max": 65.0}
    assert ("NK-volkov", "vessel-1") not in held
    assert report.skipped["FtM Vessel: not an owner or an owned entity"] == 1
    assert report.notes["FtM country code that is not an ISO 3166 code: left out, not guessed"] == 2
    assert len(registry.entities) == 7


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ru", "RU"),
        ("gb-sct", "GB-SCT"),
        ("xk", "XK"),
        ("zz", None),
        ("eu", None),
        ("suhh", None),
        ("ua-cri", None),
        ("ddde", None),
        ("un", None),
        ("x-so", None),
    ],
)
def test_country_codes(code: str, expected: str | None) -> None:
    assert iso_code(code) == expected


def test_several_codes_are_not_chosen(tmp_path: Path) -> None:
    path = lines(tmp_path, [company("c", jurisdiction=["cy", "ru"], country=["ru"])])
    doc, report = import_document("ftm", [path])
    assert "jurisdiction" not in doc["entities"][0]
    assert report.notes["several jurisdiction codes: left out, not chosen"] == 1


def test_referents_are_followed(tmp_path: Path) -> None:
    parent = company("parent", jurisdiction=["cn"]) | {"referents": ["old-parent"]}
    path = lines(tmp_path, [ownership("old-parent", "child"), company("child"), parent])
    doc, _ = import_document("ftm", [path])
    assert [(h["owner"], h["owned"]) for h in doc["ownership"]] == [("parent", "child")]


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({"schema": "Company", "properties": {}}, "id", "non-blank"),
        ({"id": "x", "schema": "Firm", "properties": {}}, "schema", "not a FollowTheMoney"),
        ({"id": "x", "schema": "Company", "properties": []}, "properties", "mapping"),
        ({"id": "x", "schema": "Company", "properties": {"name": "A"}}, "properties.name", "list"),
        ({"id": "x", "schema": "Company", "properties": {"name": [1]}}, "properties.name", "list"),
        ({"id": "x", "schema": "Company", "properties": {}, "datasets": "d"}, "datasets", "list"),
        (ownership("a", "b", percentage=["abc"]), "properties.percentage", "not a percentage"),
        (ownership("a", "b", percentage=["150"]), "properties.percentage", "not a percentage"),
        (ownership("a", "b", percentage=["-5"]), "properties.percentage", "not a percentage"),
        (
            {"id": "o", "schema": "Ownership", "properties": {"owner": ["a", "b"], "asset": ["c"]}},
            "properties.owner",
            "exactly one owner",
        ),
        (
            ownership("a", "b", startDate=["2024-01-01"], endDate=["2020-01-01"]),
            "properties.endDate",
            "before startDate",
        ),
        ({"id": "s", "schema": "Sanction", "properties": {}}, "properties.entity", "must name"),
    ],
)
def test_bad_records_name_the_line_and_field(
    tmp_path: Path, record: dict[str, Any], field: str, message: str
) -> None:
    path = lines(tmp_path, [company("ok"), record])
    with pytest.raises(RegistryError, match=message) as caught:
        import_document("ftm", [path])
    assert caught.value.record == "line 2"
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json}\n", "column"),
        ('["a", "b"]\n', "must be a JSON object"),
        ('{"id": "x", "id": "y", "schema": "Company", "properties": {}}\n', "duplicate"),
    ],
)
def test_bad_lines(tmp_path: Path, raw: str, message: str) -> None:
    path = lines(tmp_path, [company("ok")], raw)
    with pytest.raises(RegistryError, match=message) as caught:
        import_document("ftm", [path])
    assert caught.value.record == "line 2"


def test_record_size_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stakegate_settings, "IMPORT_MAX_RECORD", 200)
    path = lines(tmp_path, [company("ok"), company("big", name=["x" * 500])])
    with pytest.raises(RegistryError, match="longer than 200") as caught:
        import_document("ftm", [path])
    assert caught.value.record == "line 2"


def test_unreadable_dates_are_no_bound(tmp_path: Path) -> None:
    path = lines(
        tmp_path,
        [company("a"), company("b"), ownership("a", "b", startDate=["soon"], endDate=["later"])],
    )
    doc, report = import_document("ftm", [path])
    (held,) = doc["ownership"]
    assert "start" not in held and "end" not in held
    assert report.notes["unreadable startDate: left out (no bound)"] == 1
    assert report.notes["unreadable endDate: left out (no bound)"] == 1


def test_zero_percent_is_skipped(tmp_path: Path) -> None:
    path = lines(tmp_path, [company("a"), company("b"), ownership("a", "b", percentage=["0"])])
    doc, report = import_document("ftm", [path])
    assert doc["ownership"] == []
    assert report.skipped["Ownership with a percentage of 0"] == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=3))
def test_any_percentage_text_is_read_or_refused(values: list[str]) -> None:
    """No percentage text is read as something it does not say: a number in [0, 100] (with an
    optional %), or a RegistryError naming the field."""
    from stakegate.importers.base import RegistryBuilder
    from stakegate.importers.ftm import _FtmImporter

    importer = _FtmImporter(RegistryBuilder("t"))
    try:
        got = importer.percent(values, 1)
    except RegistryError as err:
        assert err.field == "properties.percentage"
        return
    if not values:
        assert got is None
        return
    numbers = [float(v.strip().rstrip("%").strip()) for v in values]
    assert all(0 <= n <= 100 for n in numbers)
    band = {"min": min(numbers), "max": max(numbers)}
    assert got == (numbers[0] if len(set(numbers)) == 1 else band)


def test_cli_import_and_screen(tmp_path: Path) -> None:
    out = tmp_path / "registry.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "ftm", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "imported 7 entities, 4 ownership records" in result.stderr
    assert json.loads(out.read_text())["entities"][0]["id"] == "NK-volkov"


def test_an_entity_given_twice_is_refused(tmp_path: Path) -> None:
    """The second line of one id replaced the first: a CN company became one with no country
    (review instead of deny), a sanction topic could vanish the same way."""
    path = lines(tmp_path, [company("a", country=["cn"]), company("a", name=["A"])])
    with pytest.raises(RegistryError, match="appears again") as caught:
        import_document("ftm", [path])
    assert caught.value.record == "line 2"
    assert caught.value.field == "id"
    twice = lines(tmp_path, [company("a"), company("b"), ownership("a", "b", percentage=["60"])])
    other = tmp_path / "more.ftm.json"
    other.write_text(json.dumps(ownership("a", "b", percentage=["10"])) + "\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="appears again"):
        import_document("ftm", [twice, other])

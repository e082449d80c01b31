"""Registry loading: good files give the model, each bad file a ``RegistryError`` naming its record
and field, and the fast record check agrees with the JSON Schema on every bad file and on
generated records."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stakegate.errors import InputError, RegistryError
from stakegate.ownership.interval import Interval
from stakegate.registry.check import Problem as _Problem
from stakegate.registry.check import fast_problems as _fast_problems
from stakegate.registry.check import registry_schema
from stakegate.registry.check import schema_problems as _schema_problems
from stakegate.registry.dates import DATE_PATTERN
from stakegate.registry.load import load_registry, parse_registry
from stakegate.registry.model import Entity, EntityType, Holding, InterestType, Registry
from stakegate.registry.parse import parse_document

from .conftest import FIXTURES

REGISTRIES = FIXTURES / "registries"
GOOD = REGISTRIES / "good"
BAD = REGISTRIES / "bad"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "registry.yaml"


def sorted_problems(problems: list[_Problem]) -> list[_Problem]:
    return sorted(set(problems), key=_Problem.key)


# --- good files ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["full.yaml", "full.json"])
def test_full_registry_loads_into_the_model(name: str):
    registry = load_registry(GOOD / name)
    assert registry.source == str(GOOD / name)
    assert list(registry.entities) == [
        "acme-cn",
        "acme-sg",
        "acme-uk",
        "p1",
        "moscow-co",
        "state-x",
        "mystery",
    ]
    assert registry.entities["acme-sg"] == Entity(
        "acme-sg", EntityType.COMPANY, "Acme Pte Ltd", "SG", "CN"
    )
    assert registry.entities["p1"] == Entity("p1", EntityType.PERSON, None, "IR", None)
    assert registry.entities["state-x"].type is EntityType.STATE
    assert registry.holdings == [
        Holding("acme-cn", "acme-sg", Interval(60.0, 60.0), 0),
        Holding("p1", "acme-sg", Interval(25.0, 40.0), 1),
        Holding("acme-cn", "acme-uk", Interval(50.0, 75.0, min_exclusive=True), 2),
        Holding("moscow-co", "acme-uk", Interval(0.0, 25.0, max_exclusive=True), 3),
        Holding("mystery", "acme-uk", Interval(0.5, 0.5), 4),
        Holding("state-x", "moscow-co", Interval(100.0, 100.0), 5),
    ]


def test_codes_are_upper_cased_and_a_missing_jurisdiction_is_unknown():
    registry = load_registry(GOOD / "full.yaml")
    assert registry.entities["acme-cn"].jurisdiction == "CN"
    assert registry.entities["moscow-co"].jurisdiction == "RU-MOW"
    assert registry.entities["mystery"] == Entity("mystery", EntityType.OTHER)


def test_yaml_and_json_give_the_same_registry():
    from_yaml, from_json = load_registry(GOOD / "full.yaml"), load_registry(GOOD / "full.json")
    assert from_yaml.entities == from_json.entities
    assert from_yaml.holdings == from_json.holdings


def test_ownership_is_optional():
    registry = load_registry(GOOD / "minimal.yaml")
    assert registry.entities == {"solo": Entity("solo", EntityType.COMPANY)}
    assert registry.holdings == []


def test_shares_adding_up_to_exactly_100_with_float_noise_are_fine():
    registry = load_registry(GOOD / "exactly_100.yaml")
    assert len(registry.holdings) == 5


def test_the_bundled_example_loads():
    registry = load_registry(EXAMPLE)
    assert len(registry.entities) >= 15


def test_repr_does_not_dump_a_large_registry():
    registry = load_registry(GOOD / "full.yaml")
    assert repr(registry) == (
        f"Registry(source={str(GOOD / 'full.yaml')!r}, entities=7, holdings=6, faults=0)"
    )


def test_model_objects_are_frozen():
    entity = load_registry(GOOD / "minimal.yaml").entities["solo"]
    with pytest.raises(AttributeError):
        entity.jurisdiction = "CN"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".txt", json.dumps({"entities": [{"id": "a", "type": "company"}]})),
        (".txt", "entities:\n  - {id: a, type: company}\n"),
        ("", "entities: [{id: a, type: company}]\n"),
    ],
)
def test_other_suffixes_try_json_then_yaml(tmp_path: Path, suffix: str, text: str):
    path = tmp_path / f"registry{suffix}"
    path.write_text(text)
    assert list(load_registry(path).entities) == ["a"]


def test_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch):
    text = "entities:\n  - {id: a, type: company, jurisdiction: cn}\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    registry = load_registry("-")
    assert registry.source == "<stdin>"
    assert registry.entities["a"].jurisdiction == "CN"


def test_parse_registry_takes_a_parsed_document():
    doc = {"entities": [{"id": "a", "type": "person", "jurisdiction": "ir"}]}
    registry = parse_registry(doc, "inline")
    assert registry == Registry("inline", {"a": Entity("a", EntityType.PERSON, None, "IR")}, [])


def test_identical_exact_shares_may_share_one_interval():
    doc = {
        "entities": [{"id": x, "type": "company"} for x in "abc"],
        "ownership": [
            {"owner": "a", "owned": "c", "percent": 25},
            {"owner": "b", "owned": "c", "percent": 25.0},
        ],
    }
    first, second = parse_registry(doc, "inline").holdings
    assert first.share == second.share == Interval(25.0, 25.0)
    assert (first.record, second.record) == (0, 1)


# --- bad files -----------------------------------------------------------------------------

OWN = "ownership[0] (acme-cn -> acme-sg)"
PCN = "ownership[0] (parent-cn -> sub-sg)"
# file, record, field, words the message must contain
BAD_CASES: list[tuple[str, str | None, str | None, str]] = [
    ("malformed_yaml.yaml", None, None, "malformed YAML at line 4, column 5"),
    ("malformed_json.json", None, None, "malformed JSON at line 3, column 41"),
    ("empty.yaml", None, None, "must be a mapping with 'entities'"),
    ("not_a_mapping.yaml", None, None, "must be a mapping with 'entities'"),
    ("missing_entities.yaml", None, "entities", "is required"),
    ("unknown_top_field.yaml", None, "ownerships", "did you mean 'ownership'?"),
    ("entities_not_a_list.yaml", None, "entities", "must be a list, got a mapping"),
    ("entity_not_a_mapping.yaml", "entities[1]", None, "must be a mapping, got string 'acme-sg'"),
    (
        "entity_unknown_field.yaml",
        "entities[0] (id 'acme-cn')",
        "jurisdication",
        "unknown field; did you mean 'jurisdiction'?",
    ),
    ("entity_missing_id.yaml", "entities[1]", "id", "is required"),
    ("entity_empty_id.yaml", "entities[0] (id '')", "id", "must not be empty"),
    ("entity_numeric_id.yaml", "entities[0]", "id", "must be a string, got number 12345"),
    (
        "unknown_type.yaml",
        "entities[0] (id 'acme-cn')",
        "type",
        "'corporation' is not one of: company, person, state, other",
    ),
    (
        "bad_jurisdiction.yaml",
        "entities[0] (id 'acme-cn')",
        "jurisdiction",
        "'China' is not an ISO 3166 country or subdivision code",
    ),
    (
        "bad_headquarters.yaml",
        "entities[0] (id 'acme-sg')",
        "headquarters",
        "'CHN' is not an ISO 3166",
    ),
    ("norway_boolean.yaml", "entities[0] (id 'nordic')", "jurisdiction", "NO for Norway"),
    ("null_jurisdiction.yaml", "entities[0] (id 'acme-cn')", "jurisdiction", "got null"),
    (
        "code_trailing_newline.yaml",
        "entities[0] (id 'acme-cn')",
        "jurisdiction",
        "'CN\\n' is not an ISO 3166",
    ),
    (
        "duplicate_id.yaml",
        "entities[2] (id 'acme-sg')",
        "id",
        "duplicate id, first defined at entities[1]",
    ),
    ("ownership_not_a_list.yaml", None, "ownership", "must be a list, got a mapping"),
    ("holding_missing_percent.yaml", OWN, "percent", "is required"),
    ("holding_unknown_field.yaml", OWN, "share", "unknown field"),
    (
        "unknown_owner.yaml",
        "ownership[0] (acme-cm -> acme-sg)",
        "owner",
        "'acme-cm' is not an entity id in this registry; did you mean 'acme-cn'?",
    ),
    (
        "unknown_owned.yaml",
        "ownership[0] (acme-cn -> acme-uk)",
        "owned",
        "'acme-uk' is not an entity id",
    ),
    ("percent_zero.yaml", OWN, "percent", "must be more than 0, got 0"),
    ("percent_negative.yaml", OWN, "percent", "must be more than 0, got -5"),
    ("percent_over_100.yaml", OWN, "percent", "must be at most 100, got 120"),
    ("percent_string.yaml", OWN, "percent", "must be a number or a band {min, max}, got string"),
    ("percent_nan.yaml", OWN, "percent", "'.nan' is not a plain decimal number"),
    ("band_min_over_max.yaml", OWN, "percent", "band min 60 is more than max 40"),
    ("band_empty_exclusive.yaml", OWN, "percent", "with an exclusive bound: no share fits"),
    ("band_negative_min.yaml", OWN, "percent.min", "must be at least 0, got -10"),
    ("band_max_over_100.yaml", OWN, "percent.max", "must be at most 100, got 101"),
    ("band_missing_max.yaml", OWN, "percent.max", "is required"),
    ("band_bad_exclusive.yaml", OWN, "percent.min_exclusive", "must be true or false"),
    ("many_problems.yaml", "entities[0] (id 'a')", "type", "'corp' is not one of"),
    # Read silently before (last key won, YAML 1.1 numbers, blank ids): refused now.
    ("dup_top_ownership.yaml", None, "ownership", "duplicate key 'ownership' (line 7, column 1)"),
    ("dup_top_ownership.json", None, "ownership", "duplicate key 'ownership'"),
    ("dup_percent.yaml", PCN, "percent", "duplicate key 'percent' (line 6"),
    ("dup_percent.json", PCN, "percent", "duplicate key 'percent'"),
    ("dup_jurisdiction.yaml", "entities[0] (id 'parent-cn')", "jurisdiction", "duplicate key"),
    ("dup_jurisdiction.json", "entities[0] (id 'parent-cn')", "jurisdiction", "duplicate key"),
    ("dup_band_key.yaml", PCN, "percent.min", "duplicate key 'min' (line 8"),
    ("dup_band_key.json", PCN, "percent.min", "duplicate key 'min'"),
    ("percent_octal.yaml", PCN, "percent", "'051' is not a plain decimal number"),
    ("percent_hexadecimal.yaml", PCN, "percent", "'0x3C' is not a plain decimal number"),
    ("percent_sexagesimal.yaml", PCN, "percent", "'1:00' is not a plain decimal number"),
    ("percent_infinity.json", PCN, "percent", "1e400 is out of range for a number"),
    ("alias_bomb.yaml", None, "notes.0", "anchors (&a) are not allowed in a registry (line 5"),
    ("blank_id.yaml", "entities[0] (id '  ')", "id", "must not be blank"),
    ("blank_owner.yaml", "entities[0] (id '  ')", "id", "must not be blank"),
]


def test_every_bad_fixture_has_a_case():
    assert sorted(p.name for p in BAD.iterdir()) == sorted(c[0] for c in BAD_CASES)


@pytest.mark.parametrize(
    ("name", "record", "field", "words"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_bad_registry_names_file_record_and_field(
    name: str, record: str | None, field: str | None, words: str
):
    path = BAD / name
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    error = caught.value
    assert (error.source, error.record, error.field) == (str(path), record, field)
    message = str(error)
    assert message.startswith(str(path))
    if record:
        assert f"record {record}" in message
    if field:
        assert f"field {field!r}" in message
    assert words in message
    assert isinstance(error, InputError) and error.exit_code == 2


def test_many_problems_lists_the_first_few_and_counts_the_rest():
    with pytest.raises(RegistryError) as caught:
        load_registry(BAD / "many_problems.yaml")
    lines = str(caught.value).splitlines()
    assert lines[1] == "  6 more problems:"
    assert lines[2:6] == [
        "  - record entities[1] (id 'b'), field 'jurisdiction': 'China' is not an ISO 3166 "
        "country or subdivision code such as 'CN' or 'RU-MOW'",
        "  - record entities[2] (id 'c'), field 'headquater': unknown field; did you mean "
        "'headquarters'? allowed: designations, headquarters, id, jurisdiction, name, notes, type",
        "  - record entities[3], field 'id': is required",
        "  - record ownership[0] (a -> b), field 'percent': must be more than 0, got 0",
    ]
    assert lines[6:] == ["  - ... and 2 more"]


def test_missing_file_is_a_registry_error(tmp_path: Path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(RegistryError, match="cannot read the registry"):
        load_registry(path)


def test_unknown_suffix_reports_the_json_error_for_json_looking_text(tmp_path: Path):
    path = tmp_path / "registry.txt"
    path.write_text('{"entities": [}')
    with pytest.raises(RegistryError, match="malformed JSON at line 1, column 15"):
        load_registry(path)


def test_unknown_suffix_reports_the_yaml_error_otherwise(tmp_path: Path):
    path = tmp_path / "registry"
    path.write_text("entities:\n  - {id: a\n")
    with pytest.raises(RegistryError, match="malformed YAML at line 3"):
        load_registry(path)


def test_over_100_owners_list_is_capped():
    entities = [{"id": f"o{i}", "type": "person"} for i in range(12)]
    entities.append({"id": "t", "type": "company"})
    ownership = [{"owner": f"o{i}", "owned": "t", "percent": 10} for i in range(12)]
    (fault,) = parse_registry({"entities": entities, "ownership": ownership}, "inline").faults
    assert "hold at least 120 percent" in fault.message
    assert fault.message.endswith("(o9 -> t) 10, and 2 more")
    assert len(fault.records) == 12
    assert fault.details == {"total_percent": 120.0, "exclusive": False}


# --- data faults: collected, not raised ----------------------------------------------------

FAULTY = REGISTRIES / "faulty"
# file, kind, entity, records, words the message must contain
FAULT_CASES: list[tuple[str, str, str, tuple[str, ...], str]] = [
    (
        "self_ownership.yaml",
        "self_ownership",
        "acme-sg",
        ("ownership[0] (acme-sg -> acme-sg)",),
        "cannot own itself",
    ),
    (
        "duplicate_edge.yaml",
        "duplicate_holding",
        "acme-sg",
        ("ownership[0] (acme-cn -> acme-sg)", "ownership[1] (acme-cn -> acme-sg)"),
        "'acme-cn' already owns 'acme-sg' at ownership[0]",
    ),
    (
        "oversubscribed.yaml",
        "oversubscribed",
        "acme-sg",
        ("ownership[0] (acme-cn -> acme-sg)", "ownership[1] (p1 -> acme-sg)"),
        "owners of 'acme-sg' hold at least 110 percent between them, more than 100: "
        "ownership[0] (acme-cn -> acme-sg) 60, ownership[1] (p1 -> acme-sg) 50",
    ),
    (
        "oversubscribed_exclusive.yaml",
        "oversubscribed",
        "acme-sg",
        ("ownership[0] (acme-cn -> acme-sg)", "ownership[1] (p1 -> acme-sg)"),
        "more than 100 percent between them (100, with exclusive bounds)",
    ),
]


def test_every_faulty_fixture_has_a_case():
    assert sorted(p.name for p in FAULTY.iterdir()) == sorted(c[0] for c in FAULT_CASES)


@pytest.mark.parametrize(
    ("name", "kind", "entity", "records", "words"), FAULT_CASES, ids=[c[0] for c in FAULT_CASES]
)
def test_data_faults_are_collected_with_their_records(
    name: str, kind: str, entity: str, records: tuple[str, ...], words: str
):
    registry = load_registry(FAULTY / name)
    (fault,) = registry.faults
    assert (fault.kind, fault.entity, fault.records) == (kind, entity, records)
    assert words in fault.message
    assert fault.to_json()["records"] == list(records)


def test_faulty_holdings_are_left_out_of_the_model():
    assert load_registry(FAULTY / "self_ownership.yaml").holdings == []
    (kept,) = load_registry(FAULTY / "duplicate_edge.yaml").holdings
    assert kept.record == 0


def test_same_interest_reported_twice_is_merged_not_a_fault():
    doc = {
        "entities": [{"id": x, "type": "company"} for x in "ab"],
        "ownership": [
            {"owner": "a", "owned": "b", "percent": 30, "interest_id": "i1"},
            {"owner": "a", "owned": "b", "percent": 30, "interest_id": "i1"},
            {"owner": "a", "owned": "b", "percent": 20, "interest_id": "i2"},
        ],
    }
    registry = parse_registry(doc, "inline")
    assert [h.record for h in registry.holdings] == [0]
    (fault,) = registry.faults
    assert fault.kind == "duplicate_holding"
    assert fault.records == ("ownership[0] (a -> b)", "ownership[2] (a -> b)")


def test_interest_types_and_consolidation_without_percent():
    doc = {
        "entities": [{"id": x, "type": "company"} for x in "abc"],
        "ownership": [
            {"owner": "a", "owned": "b", "interest": "consolidation"},
            {"owner": "a", "owned": "c", "percent": 40, "interest": "voting"},
            {"owner": "b", "owned": "c", "percent": {"min": 0, "max": 100}},
        ],
    }
    for full in (False, True):
        first, second, third = parse_registry(doc, "inline", full_schema=full).holdings
        assert (first.share, first.interest) == (None, InterestType.CONSOLIDATION)
        assert (second.share, second.interest) == (Interval(40, 40), InterestType.VOTING)
        assert (third.share, third.interest) == (Interval(0, 100), InterestType.SHARES)


@pytest.mark.parametrize(
    ("record", "field", "words"),
    [
        ({"owner": "a", "owned": "b", "interest": "voting"}, "percent", "is required"),
        ({"owner": "a", "owned": "b", "percent": 5, "interest": "vote"}, "interest", "'vote' is"),
        ({"owner": "a", "owned": "b", "percent": 5, "interest_id": ""}, "interest_id", "empty"),
        ({"owner": "a", "owned": "b", "percent": 5, "interest_id": 7}, "interest_id", "string"),
    ],
)
def test_bad_interest_fields_are_schema_errors(record: dict[str, Any], field: str, words: str):
    doc = {"entities": [{"id": x, "type": "company"} for x in "ab"], "ownership": [record]}
    assert sorted_problems(_fast_problems(doc)) == sorted_problems(_schema_problems(doc))
    with pytest.raises(RegistryError) as caught:
        parse_registry(doc, "inline")
    assert caught.value.field == field
    assert words in str(caught.value)


# --- the fast check agrees with the schema -------------------------------------------------


def parsed_bad_documents() -> list[tuple[str, Any]]:
    docs = []
    for path in sorted(BAD.iterdir()):
        try:  # the files the strict reader refuses never reach the record check
            parse_document(path.read_bytes(), path.suffix, path.name)
        except RegistryError:
            continue
        docs.append((path.name, yaml.load(path.read_bytes(), Loader=yaml.SafeLoader)))
    return docs


@pytest.mark.parametrize(("name", "doc"), parsed_bad_documents(), ids=lambda v: str(v)[:40])
def test_fast_check_and_schema_agree_on_bad_files(name: str, doc: Any):
    assert sorted_problems(_fast_problems(doc)) == sorted_problems(_schema_problems(doc))
    with pytest.raises(RegistryError) as fast:
        parse_registry(doc, name)
    with pytest.raises(RegistryError) as full:
        parse_registry(doc, name, full_schema=True)
    assert str(fast.value) == str(full.value)


def test_fast_check_reads_its_names_from_the_schema():
    defs = registry_schema()["$defs"]
    assert defs["entity"]["properties"]["type"]["enum"] == [t.value for t in EntityType]
    assert set(defs["entity"]["properties"]) == {
        "id",
        "name",
        "type",
        "jurisdiction",
        "headquarters",
        "notes",
        "designations",
    }
    assert defs["date"]["pattern"] == DATE_PATTERN


def test_registry_schema_is_valid_draft_2020_12():
    from jsonschema import Draft202012Validator

    schema = registry_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


# Values that probe every keyword: wrong types, empty strings, codes with and without a
# trailing newline, booleans, NaN and infinities, bounds at and past the limits.
ANY_VALUE: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            False,
            "",
            "x",
            "CN",
            "cn",
            "RU-MOW",
            "CN\n",
            "China",
            "company",
            "person",
            [],
            {},
            0,
            -1,
            0.0,
            50,
            100,
            100.5,
            float("nan"),
            float("inf"),
            -float("inf"),
        ]
    ),
    st.floats(min_value=-10, max_value=110),
)
BAND = st.dictionaries(
    st.sampled_from(["min", "max", "min_exclusive", "max_exclusive", "mni"]), ANY_VALUE
)
ENTITY = st.dictionaries(
    st.sampled_from(["id", "name", "type", "jurisdiction", "headquarters", "notes", "kind"]),
    ANY_VALUE,
)
HOLDING = st.dictionaries(
    st.sampled_from(["owner", "owned", "percent", "notes", "pct", "interest", "interest_id"]),
    st.one_of(ANY_VALUE, BAND, st.sampled_from(["consolidation", "voting", "shares"])),
)
DOCUMENT = st.one_of(
    st.fixed_dictionaries(
        {"entities": st.lists(st.one_of(ENTITY, ANY_VALUE), max_size=4)},
        optional={
            "ownership": st.one_of(st.lists(st.one_of(HOLDING, ANY_VALUE), max_size=4), ANY_VALUE),
            "notes": ANY_VALUE,
            "owners": ANY_VALUE,
        },
    ),
    ANY_VALUE,
)


@settings(max_examples=400, deadline=None)
@given(DOCUMENT)
def test_fast_check_and_schema_agree_on_generated_documents(doc: Any):
    assert sorted_problems(_fast_problems(doc)) == sorted_problems(_schema_problems(doc))


# --- YAML shapes the strict reader refuses (more in test_strict_parse.py) ------------------


def test_unhashable_yaml_key_is_malformed(tmp_path: Path):
    path = tmp_path / "key.yaml"
    path.write_text("? [1, 2]\n: complex key\n")
    with pytest.raises(RegistryError, match="a key must be text, not a mapping or list .line 1"):
        load_registry(path)


def test_two_yaml_documents_are_malformed(tmp_path: Path):
    path = tmp_path / "two.yaml"
    path.write_text("entities: []\n---\nentities: []\n")
    with pytest.raises(RegistryError, match="one YAML document; found a second one .line 2"):
        load_registry(path)


def test_loading_from_a_file_labels_every_bad_holding(tmp_path):
    """load_registry drops each ownership record from its own document once built; a problem
    with any record, early or late, still names it with its owner and owned entity."""
    path = tmp_path / "r.yaml"
    path.write_text(
        "entities:\n"
        "  - {id: a, type: company, jurisdiction: SG}\n"
        "  - {id: b, type: company, jurisdiction: SG}\n"
        "ownership:\n"
        "  - {owner: ghost, owned: a, percent: 10}\n"
        "  - {owner: a, owned: b, percent: 20}\n"
        "  - {owner: b, owned: phantom, percent: 30}\n"
    )
    with pytest.raises(RegistryError) as caught:
        load_registry(path)
    text = str(caught.value)
    assert "ownership[0] (ghost -> a)" in text
    assert "ownership[2] (b -> phantom)" in text

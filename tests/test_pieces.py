"""A large JSON registry read in pieces (``registry.pieces``) is read exactly as it is whole.

The pieces are cut with small ``PIECE_BYTES`` here, so every record boundary is tried; the
oracle is the strict whole reading (``strict_json.loads``), which refuses what the pieces must
never accept: repeated keys at any depth, NaN, text that is not JSON.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stakegate import forked
from stakegate.errors import ParseError, RegistryError
from stakegate.registry import load, pieces
from stakegate.registry.load import load_registry
from stakegate.registry.pieces import Unsplit
from stakegate.registry.strict_json import loads

from .conftest import FIXTURES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from generate import generate, write_registry  # noqa: E402

# Record texts chosen to sit where a cut is tried: '},{' and '],"notes":' inside strings and
# nested values, repeated keys, values orjson and the strict reader refuse.
GOOD_ENTITY = st.sampled_from(
    [
        '{"id": "a", "type": "company", "jurisdiction": "SG"}',
        '{"id": "b},{x", "type": "company", "name": "}, {\\"]} ,\\\\"}',
        '{"id": "d", "type": "company", "designations": [{"list": "L"}, {"list": "M"}],'
        ' "notes": "n"}',
        '{"id": "i", "type": "company", "name": "\\u00e9t\\u00e9 \u00e9t\u00e9"}',
    ]
)
# Refused, or valid but read whole: a '":' inside a string defeats the count of keys.
BAD_ENTITY = st.sampled_from(
    [
        '{"id": "c", "type": "person", "name": "],\\"notes\\": \\"]}"}',
        '{"id": "e", "type": "company", "designations": [{"list": "L", "list": "M"}]}',
        '{"id": "f", "type": "company", "id": "g"}',
        '{"id": "h", "type": "company", "n": NaN}',
        '"not a record"',
    ]
)
GOOD_HOLDING = st.sampled_from(
    [
        '{"owner": "a", "owned": "b", "percent": 60}',
        '{"owner": "a", "owned": "b", "percent": {"min": 1, "max": 2.5}}',
        '{"percent": {"min": 1, "max": 2}, "owner": "a", "owned": "b"}',
    ]
)
BAD_HOLDING = st.sampled_from(
    [
        '{"owner": "a", "owned": "b", "percent": {"min": 1, "max": 2, "min": 0}}',
        '{"owner": "a", "owned": "b", "percent": 1, "percent": 90}',
    ]
)
SPACE = st.sampled_from(["", " ", "\n  ", "\t"])


def _document(draw: st.DrawFn) -> tuple[bytes, bool]:
    gap = draw(SPACE)
    sep = "," + gap
    hostile = draw(st.booleans())
    entity = st.one_of(GOOD_ENTITY, BAD_ENTITY) if hostile else GOOD_ENTITY
    holding = st.one_of(GOOD_HOLDING, BAD_HOLDING) if hostile else GOOD_HOLDING
    entities = draw(st.lists(entity, max_size=6))
    holdings = draw(st.lists(holding, max_size=6))
    extras = ['"notes": 1', '"entities": []', '"other": 1'] if hostile else []
    members = [
        f'"entities":{gap}[{gap}{sep.join(entities)}{gap}]',
        f'"ownership": [{sep.join(holdings)}]',
        *draw(st.lists(st.sampled_from(['"notes": "x]} \\"]"', *extras]), max_size=1)),
    ]
    order = draw(st.permutations(members))
    return f"{gap}{{{gap}{sep.join(order)}{gap}}}{gap}".encode(), hostile


@st.composite
def documents(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A registry text, and whether it may hold what is refused or read whole."""
    return _document(draw)


def _sections(data: bytes) -> dict[str, list[object]]:
    out: dict[str, list[object]] = {}
    for section, first, records in pieces.pieces(data):
        assert first == len(out.setdefault(section, []))
        out[section] += records
    return out


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(documents(), st.sampled_from([1, 16, 64, 1 << 20]))
def test_pieces_read_what_the_whole_reading_reads(
    monkeypatch: pytest.MonkeyPatch, document: tuple[bytes, bool], piece_bytes: int
):
    data, hostile = document
    monkeypatch.setattr(pieces, "PIECE_BYTES", piece_bytes)
    try:
        exact = loads(data)
    except ParseError:
        exact = None
    try:
        read = _sections(data)
    except Unsplit:
        assert hostile, "an ordinary document was not read in pieces"
        event("read whole")
        return  # read whole instead
    event("read in pieces")
    assert isinstance(exact, dict), "the pieces accepted what the strict reading refuses"
    assert read == {k: v for k, v in exact.items() if k != "notes"}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_document_is_never_read_differently(data: st.DataObject):
    """Fuzz: a valid document with a byte changed, added or dropped is either refused by both
    readings, sent whole (``Unsplit``), or read as the strict reading reads it."""
    text = bytearray(
        b'{"entities": [{"id": "a", "type": "company"}, {"id": "b", "type": "company",'
        b' "designations": [{"list": "L"}]}, {"id": "c", "type": "person"}],'
        b' "ownership": [{"owner": "a", "owned": "b", "percent": {"min": 1, "max": 2}},'
        b' {"owner": "b", "owned": "c", "percent": 50}], "notes": "n"}'
    )
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text) - 1))
        char = data.draw(st.sampled_from(b'{}[],:" \\an'))
        action = data.draw(st.sampled_from(["set", "insert", "drop"]))
        if action == "set":
            text[at] = char
        elif action == "insert":
            text.insert(at, char)
        else:
            del text[at]
    old = pieces.PIECE_BYTES
    pieces.PIECE_BYTES = 1
    try:
        read = _sections(bytes(text))
    except Unsplit:
        event("read whole")
        return
    finally:
        pieces.PIECE_BYTES = old
    event("read in pieces")
    exact = loads(bytes(text))  # raises if the pieces accepted what it refuses
    assert isinstance(exact, dict)
    assert read == {k: v for k, v in exact.items() if k != "notes"}


def test_an_ordinary_document_is_read_in_pieces(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pieces, "PIECE_BYTES", 64)
    doc = {
        "notes": "n",
        "entities": [{"id": f"e{i}", "type": "company", "name": "a},{b"} for i in range(50)],
        "ownership": [{"owner": "e0", "owned": f"e{i}", "percent": 10} for i in range(1, 50)],
    }
    for text in (json.dumps(doc), json.dumps(doc, indent=2), json.dumps(doc, indent="\t")):
        got = list(pieces.pieces(text.encode()))
        assert len(got) > 10
        assert _sections(text.encode()) == {k: v for k, v in doc.items() if k != "notes"}


@pytest.mark.parametrize(
    "text",
    [
        b'{"entities": [], "entities": []}',
        b'{"entities": [{"id": "a", "type": "company", "id": "b"}]}',
        b'{"entities": [], "ownership": [{"owner": "a", "owned": "b", "percent": '
        b'{"min": 1, "min": 2, "max": 3}}]}',
        b'{"entities": [{"id": "a", "designations": [{"list": "L", "list": "M"}]}]}',
        b'{"entities": [], "ownership": [], "notes": "a", "notes": "b"}',
    ],
)
def test_a_repeated_key_is_never_read_in_pieces(text: bytes):
    with pytest.raises(Unsplit):
        _sections(text)


# --- the loader ---------------------------------------------------------------------------


def _load_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The loader's registry (or error message) read in pieces, then read whole."""
    out: list[object] = []
    monkeypatch.setattr(pieces, "PIECE_BYTES", 32)
    for minimum in (0, 1 << 62):
        monkeypatch.setattr(load, "PIECES_MIN", minimum)
        try:
            out.append(load_registry(path))
        except RegistryError as e:
            out.append(str(e))
    return out


def _as_json(source: Path) -> bytes | None:
    """The fixture as JSON text; None for a YAML file the strict reader refuses (no JSON form)."""
    if source.suffix == ".json":
        return source.read_bytes()
    try:
        return orjson.dumps(load.parse_document(source.read_bytes(), ".yaml", str(source)))
    except RegistryError:
        return None


REGISTRIES = {
    f"{p.parent.name}/{p.name}": text
    for p in [
        *sorted((FIXTURES / "registries").glob("*/*.*")),
        FIXTURES.parents[1] / "examples" / "registry.yaml",
    ]
    if (text := _as_json(p)) is not None
}


@pytest.mark.parametrize("beside", [False, True], ids=["checked-here", "checked-beside"])
@pytest.mark.parametrize("name", REGISTRIES)
def test_the_loader_reads_pieces_as_it_reads_the_whole(
    name: str, beside: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Every registry fixture with a JSON form: the same model, faults and errors either way,
    with the record checks and the search for faults made here or in a forked child."""
    if beside:
        if forked.PRCTL is None:
            pytest.skip("Linux with prctl only")
        monkeypatch.setattr(forked.threading, "active_count", lambda: 1)
    else:
        monkeypatch.setattr(load.forked, "start", lambda work: None)
    path = tmp_path / "registry.json"
    path.write_bytes(REGISTRIES[name])
    pieced, whole = _load_both(path, monkeypatch)
    assert pieced == whole
    assert repr(pieced) == repr(whole)


def test_a_large_register_is_loaded_in_a_fraction_of_the_whole_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Read whole, the 185 MB million-entity register took 1.98 GB at the peak; in pieces, the
    peak is the model and one piece. Here, 30k entities (5 MB): the traced peak of loading in
    pieces stays under half of the whole reading's."""
    path = tmp_path / "synthetic.json"
    write_registry(generate(30_000, seed=0), path)
    monkeypatch.setattr(pieces, "PIECE_BYTES", 1 << 18)  # ~20 pieces, as 1M has ~45
    peaks = []
    for minimum in (0, 1 << 62):
        monkeypatch.setattr(load, "PIECES_MIN", minimum)
        tracemalloc.start()
        try:
            registry = load_registry(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        peaks.append(peak)
        assert len(registry.entities) == 30_000
    assert peaks[0] < peaks[1] / 2, peaks


def test_a_place_the_section_may_end_is_tried_once(monkeypatch: pytest.MonkeyPatch):
    """Found in review: each failed cut tried every failed place of the section's end again,
    so a record with a '],"notes":' (designations, then notes) and 20 '},{' in a later string
    spent 40 of the 32 failed cuts allowed, and the register was read whole."""
    monkeypatch.setattr(pieces, "PIECE_BYTES", 1)
    doc = {
        "entities": [
            {
                "id": "a",
                "type": "company",
                "designations": [{"list": "L"}],
                "notes": "n",
                "name": "x},{" * 20,
            },
            {"id": "b", "type": "company"},
        ]
    }
    assert _sections(json.dumps(doc).encode()) == doc

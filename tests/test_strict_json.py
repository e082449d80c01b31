"""The one strict JSON reading (``registry.strict_json``) and the registry loader's bounds.

Python's decoder keeps the last of two equal keys and reads NaN, Infinity and 1e400; each
case here was read silently before (or, for the alias bomb, took gigabytes and a traceback).
"""

from __future__ import annotations

import io
import json
import math
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stakegate import settings as stakegate_settings
from stakegate.errors import ParseError, RegistryError
from stakegate.registry import strict_json
from stakegate.registry.load import load_registry
from stakegate.registry.strict_json import StreamDecoder, loads, loads_registry

from .conftest import FIXTURES


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        ('{"a": 1, "a": 2}', ("a",), "duplicate key 'a'"),
        ('{"a": [{"b": {"c": 1, "d": 2, "c": 3}}]}', ("a", 0, "b", "c"), "duplicate key 'c'"),
        ('[1, {"x": NaN}]', (1, "x"), "NaN is not a JSON number"),
        ('{"x": Infinity}', ("x",), "Infinity is not a JSON number"),
        ('{"x": -Infinity}', ("x",), "-Infinity is not a JSON number"),
        ('{"x": 1e400}', ("x",), "1e400 is out of range"),
        ('{"x": -1.5E+999}', ("x",), "out of range"),
        ('{"x": "a\\ud800b"}', ("x",), "lone UTF-16 surrogate"),
        ('{"x\\udc00": 1}', (), "a key holds a lone UTF-16 surrogate"),
    ],
)
def test_refused_values_name_their_path(text: str, path: tuple[object, ...], words: str):
    assert json.loads(text) is not None  # what Python's decoder read silently
    with pytest.raises(ParseError) as caught:
        loads(text.encode())
    assert caught.value.path == path
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"x": 0.0, "y": -0, "z": 0e5}', {"x": 0.0, "y": 0, "z": 0.0}),
        ('{"x": 1.5e+2, "y": 5e-324, "z": 1e-400}', {"x": 150.0, "y": 5e-324, "z": 0.0}),
        ('["\\ud83d\\ude00"]', ["\U0001f600"]),  # a surrogate pair is one character
        ('\ufeff{"a": 1}', {"a": 1}),
    ],
)
def test_ordinary_json_is_read_as_python_reads_it(text: str, value: object):
    assert loads(text.encode()) == value


def test_syntax_errors_name_line_and_column():
    with pytest.raises(ParseError, match="malformed JSON at line 2, column 11: Expecting value"):
        loads(b'{"a":\n  1, "b": }')
    with pytest.raises(ParseError, match="Extra data"):
        loads(b'{"a": 1} {"b": 2}')
    with pytest.raises(ParseError, match="not UTF-8 text"):
        loads(b'{"a": "\xff"}')
    with pytest.raises(ParseError, match="nested too deeply"):
        loads(b"[" * 100_000 + b"]" * 100_000)


def test_the_stream_decoder_reads_one_value_and_leaves_incomplete_ones_to_the_caller():
    decoder = StreamDecoder()
    assert decoder.raw_decode('  {"a": 1} [2]', 0) == ({"a": 1}, 10)
    with pytest.raises(json.JSONDecodeError):
        decoder.raw_decode('{"a": ', 0)
    with pytest.raises(ParseError) as caught:
        decoder.raw_decode('[1] {"a": {"b": 1, "b": 2}}', 3)
    assert caught.value.path == ("a", "b")


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)


def _infinite(value: object) -> bool:
    if isinstance(value, float):
        return math.isinf(value)
    if isinstance(value, dict):
        return any(_infinite(v) for v in value.values())
    return isinstance(value, list) and any(_infinite(v) for v in value)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUE)
def test_what_json_dumps_writes_reads_back_unless_it_is_infinite(value: object):
    text = json.dumps(value)
    if _infinite(value):  # json.dumps writes float infinity as Infinity, which is not JSON
        with pytest.raises(ParseError):
            loads(text)
    else:
        assert loads(text) == value


# --- the fast reading of large registries is the same reading --------------------------------

RECORD_TEXT = st.sampled_from(
    [
        '{"id": "a", "type": "company", "jurisdiction": "CN"}',
        '{"id": "b", "type": "company", "id": "c"}',  # a duplicate key
        '{"id": "d" , "type": "person"}',
        '{"id" : "e", "type": "person"}',  # a key not directly followed by ':'
        '{"id": "f\\":", "type": "person"}',  # '":' inside a string
        '{"id": "g", "type": "person", "name": {"x": 1, "x": 2}}',  # a mapping elsewhere
        '{"id": "h", "type": "person", "name": {"x": 1}}',
        '{"id": "i", "type": "person", "n": NaN}',
        '{"id": "j", "type": "person", "n": 1e400}',
        '{"id": "k", "type": "person", "n": 1e-400, "m": 0.1, "o": 123456789012345678}',
        '"not a record"',
        "[]",
    ]
)
HOLDING_TEXT = st.sampled_from(
    [
        '{"owner": "a", "owned": "b", "percent": 60}',
        '{"owner": "a", "owned": "b", "percent": {"min": 1, "max": 2.5}}',
        '{"owner": "a", "owned": "b", "percent": {"min": 1, "max": 2, "min": 0}}',
        '{"owner": "a", "owned": "b", "percent": 1, "percent": 90}',
        '{"owner": "a", "owned": "b", "percent": 33.333333333333333333}',
    ]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(RECORD_TEXT, max_size=4),
    st.lists(HOLDING_TEXT, max_size=3),
    st.sampled_from(["", ', "ownership": []', ', "notes": "x"', ', "notes": {"a": 1}']),
)
def test_the_fast_registry_reading_is_the_exact_reading(
    monkeypatch: pytest.MonkeyPatch, entities: list[str], holdings: list[str], extra: str
):
    monkeypatch.setattr(strict_json, "_FAST_MIN", 0)  # every document takes the fast path
    text = f'{{"entities": [{", ".join(entities)}], "ownership": [{", ".join(holdings)}]{extra}}}'
    try:
        exact: object = loads(text.encode())
    except ParseError as e:
        exact = str(e)
    try:
        fast: object = loads_registry(text.encode())
    except ParseError as e:
        fast = str(e)
    assert repr(fast) == repr(exact)


# --- the registry loader's bounds ----------------------------------------------------------


def test_a_registry_larger_than_the_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "big.yaml"
    path.write_text("entities:\n  - {id: a, type: company, jurisdiction: SG}\n")
    monkeypatch.setattr(stakegate_settings, "REGISTRY_MAX_BYTES", 20)
    with pytest.raises(RegistryError, match="larger than 20 bytes, the limit") as caught:
        load_registry(path)
    assert "STAKEGATE_REGISTRY_MAX_BYTES" in str(caught.value)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    with pytest.raises(RegistryError, match="<stdin>: the registry is larger than 20 bytes"):
        load_registry("-")
    monkeypatch.setattr(stakegate_settings, "REGISTRY_MAX_BYTES", 1 << 20)
    assert list(load_registry(path).entities) == ["a"]


def test_the_alias_bomb_is_refused_in_little_memory_and_time():
    bomb = FIXTURES / "registries" / "bad" / "alias_bomb.yaml"
    assert len(bomb.read_bytes()) < 600
    tracemalloc.start()
    try:
        with pytest.raises(RegistryError, match="anchors .&a. are not allowed"):
            load_registry(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # expanded, it is 9**8 strings: gigabytes


def test_a_record_that_is_not_a_mapping_cannot_hide_a_repeated_key(monkeypatch: pytest.MonkeyPatch):
    """Found by the property above: a string record counted its characters as keys and offset a
    repeated root key, so the fast reading took a document the exact reading refuses."""
    monkeypatch.setattr(strict_json, "_FAST_MIN", 0)
    text = b'{"entities": ["ab"], "ownership": [], "ownership": []}'
    with pytest.raises(ParseError, match="duplicate key 'ownership'"):
        loads_registry(text)

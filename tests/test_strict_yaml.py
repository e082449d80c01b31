"""The strict YAML rule (``registry.strict_yaml``): no text is read two ways, proven on scalars.

The property tests hold the rule to two independent readers: PyYAML (YAML 1.1) and
ruamel.yaml (YAML 1.2). Whatever plain scalar the strict reader accepts, both read the same
value and type; whatever either of them reads differently, or cannot read, is refused. And what
``dump_yaml`` writes (``stakegate import --out x.yaml``) reads back unchanged.
"""

from __future__ import annotations

import io
import math
from datetime import date
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from stakegate.errors import ParseError
from stakegate.registry.strict_yaml import dump_yaml, load_yaml

_RUAMEL = YAML(typ="safe", pure=True)


def _reading(load: Any, text: str) -> tuple[str, object]:
    """``("ok", value)`` or ``("error", kind)`` for the value of ``v`` in ``text``."""
    try:
        doc = load(text)
    except (ParseError, yaml.YAMLError, ValueError, TypeError) as e:
        return ("error", type(e).__name__)
    except Exception as e:  # ruamel.yaml's own error classes
        return ("error", type(e).__name__)
    if not isinstance(doc, dict) or "v" not in doc:
        return ("error", "shape")
    return ("ok", doc["v"])


def _same(a: object, b: object) -> bool:
    if isinstance(a, str) and type(b) is date:  # a day: 1.1's date and 1.2's text name it alike
        return a == b.isoformat()
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


_SYNTAX = {"ScannerError", "ParserError", "ComposerError", "ReaderError"}

# Scalars drawn where the two YAML versions and PyYAML differ: digits, signs, dots, colons,
# underscores, exponents, radix prefixes, the words of YAML 1.1 booleans and nulls.
SCALAR = st.one_of(
    st.text(alphabet="0123456789+-._:eExXoObB", min_size=1, max_size=10),
    st.from_regex(
        r"[-+]?(0[xob]?)?[0-9_]{0,6}(\.[0-9_]{0,4})?([eE][-+]?[0-9]{1,3})?", fullmatch=True
    ),
    st.from_regex(r"[0-9]{1,4}(:[0-9]{1,2}){1,3}(\.[0-9]*)?", fullmatch=True),
    st.from_regex(
        r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{2}:[0-9]{2})?", fullmatch=True
    ),
    st.sampled_from(
        "y Y yes Yes YES n N no No NO on On ON off Off OFF true True TRUE false False FALSE "
        "null Null NULL ~ .inf -.inf +.inf .Inf .INF .nan .NaN .NAN << = NL NZ SG CN".split()
    ),
    st.text(min_size=1, max_size=8),
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCALAR)
def test_an_accepted_plain_scalar_means_the_same_in_yaml_1_1_and_1_2(scalar: str):
    text = f"v: {scalar}\n"
    mine = _reading(lambda t: load_yaml(t.encode()), text)
    pyyaml = _reading(lambda t: yaml.load(t, Loader=yaml.SafeLoader), text)
    ruamel = _reading(_RUAMEL.load, text)
    if mine[0] == "ok":
        # A reference that cannot tokenize the text (pure-Python PyYAML refuses some tabs that
        # libyaml reads) has no reading to compare; every reading it has must be the same.
        if pyyaml[1] not in _SYNTAX:
            assert pyyaml[0] == "ok" and _same(mine[1], pyyaml[1]), (scalar, mine, pyyaml)
        if ruamel[1] not in _SYNTAX:
            assert ruamel[0] == "ok" and _same(mine[1], ruamel[1]), (scalar, mine, ruamel)
    if pyyaml[0] == ruamel[0] == "ok" and not _same(pyyaml[1], ruamel[1]):
        assert mine[0] == "error", (scalar, pyyaml, ruamel)  # read two ways: refused


@pytest.mark.parametrize(
    ("scalar", "yaml_1_1"),
    [
        ("051", 41),
        ("0x3C", 60),
        ("1:00", 60),
        ("0o17", "0o17"),
        ("0b11", 3),
        ("1_000", 1000),
        (".inf", math.inf),
        ("-.inf", -math.inf),
        ("+5", 5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e5", "1e5"),
        ("1.5e5", "1.5e5"),
        ("00", 0),
        ("08", "08"),
        ("1.0e+999", math.inf),
    ],
)
def test_numbers_that_are_not_plainly_decimal_are_refused(scalar: str, yaml_1_1: object):
    assert yaml.safe_load(f"v: {scalar}")["v"] == yaml_1_1  # what was read before
    with pytest.raises(ParseError) as caught:
        load_yaml(f"v: {scalar}\n".encode())
    assert caught.value.path == ("v",)
    assert (caught.value.line, caught.value.column) == (1, 4)


@pytest.mark.parametrize(
    ("scalar", "value"),
    [("51", 51), ("0", 0), ("-0", 0), ("51.5", 51.5), ("1.5e+1", 15.0), ("2.5E-1", 0.25)],
)
def test_plain_decimals_are_numbers(scalar: str, value: object):
    got = load_yaml(f"v: {scalar}\n".encode())
    assert isinstance(got, dict) and _same(got["v"], value)


@pytest.mark.parametrize("scalar", ["NO", "no", "yes", "Y", "n", "on", "OFF"])
def test_yaml_1_1_booleans_are_refused_with_a_hint(scalar: str):
    with pytest.raises(ParseError, match=f"plain {scalar} is read as a boolean by YAML 1.1"):
        load_yaml(f"jurisdiction: {scalar}\n".encode())


@pytest.mark.parametrize("scalar", ["2024-02-30", "2024-1-31 10:00:00", "2024-01-31T10:00:00Z"])
def test_unquoted_dates_are_refused(scalar: str):
    with pytest.raises(ParseError, match="read as a date by YAML 1.1"):
        load_yaml(f"notes: {scalar}\n".encode())


def test_an_unquoted_calendar_day_is_its_text():
    """1.1 reads the day's date, 1.2 its text: the same day, read as the text it is written."""
    assert yaml.safe_load("v: 2024-01-31")["v"] == date(2024, 1, 31)
    assert load_yaml(b"start: 2024-01-31\n") == {"start": "2024-01-31"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("v: '051'", "051"),
        ('v: "NO"', "NO"),
        ("v: !!str 051", "051"),
        ("v: |\n  051\n", "051\n"),
        ("v: ~", None),
        ("v:", None),
        ("v: true", True),
        ("v: FALSE", False),
        ("v: 7-eleven", "7-eleven"),
        ("v: 5493001KJTIIGC8Y1R12", "5493001KJTIIGC8Y1R12"),
        ("v: NL", "NL"),
    ],
)
def test_quoted_text_and_unambiguous_plain_scalars_are_read(text: str, value: object):
    assert load_yaml(text.encode()) == {"v": value}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a: &x [1]\nb: *x\n", "anchors (&x) are not allowed"),
        ("a: *x\n", "aliases (*x) are not allowed"),
        ("a: !!python/object/apply:os.system [echo]\n", "the tag tag:yaml.org,2002:python/"),
        ("a: !!binary aGk=\n", "the tag tag:yaml.org,2002:binary"),
        ("a: !!int 5\n", "the tag tag:yaml.org,2002:int"),
        ("a: !!set {x}\n", "the tag tag:yaml.org,2002:set"),
        ("a: !custom x\n", "the tag !custom"),
        ("a: !!seq {x: 1}\n", "the tag tag:yaml.org,2002:seq"),
        ("<<: {a: 1}\n", "merge key"),
        ("1: x\n", "a key must be text, got number 1"),
        ("? [a]\n: x\n", "a key must be text, not a mapping or list"),
        ("a: 1\na: 2\n", "duplicate key 'a'"),
        ("a: {b: [{c: 1, c: 2}]}\n", "duplicate key 'c'"),
        ("a: 1\n---\na: 2\n", "found a second one"),
    ],
)
def test_yaml_shapes_registries_never_need_are_refused(text: str, words: str):
    with pytest.raises((ParseError, yaml.YAMLError)) as caught:
        load_yaml(text.encode())
    assert words in str(caught.value)


def test_a_refusal_names_the_path_and_line():
    text = b"entities:\n  - {id: a, type: company}\n  - id: b\n    jurisdiction: NO\n"
    with pytest.raises(ParseError) as caught:
        load_yaml(text)
    error = caught.value
    assert error.path == ("entities", 1, "jurisdiction")
    assert (error.line, error.column) == (4, 19)
    assert error.parents[2] == {"id": "b"}  # the record read so far, to name it


def test_nesting_is_bounded(monkeypatch: pytest.MonkeyPatch):
    deep = b"notes: " + b"[" * 40 + b"]" * 40 + b"\n"
    with pytest.raises(ParseError, match="nested deeper than 32 levels"):
        load_yaml(deep)
    monkeypatch.setattr("stakegate.settings.REGISTRY_MAX_DEPTH", 3)
    assert load_yaml(b"a: {b: [1]}\n") == {"a": {"b": [1]}}
    with pytest.raises(ParseError, match="nested deeper than 3 levels"):
        load_yaml(b"a: {b: [[1]]}\n")


VALUE = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["051", "NO", "0x3C", "1:00", "2024-01-31", "y", "~", "", " x", "1e5", "<<"]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.lists(VALUE, max_size=3) | VALUE, max_size=4))
def test_what_dump_yaml_writes_reads_back_unchanged(doc: dict[str, Any]):
    assume(all(k not in ("<<",) for k in doc))
    out = io.StringIO()
    dump_yaml(doc, out)
    assert load_yaml(out.getvalue().encode()) == doc

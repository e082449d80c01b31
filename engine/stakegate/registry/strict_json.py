"""The one strict JSON reading of stakegate: registries, request bodies and importer inputs.

Python's decoder keeps the last of two equal keys, reads ``NaN`` and ``Infinity``, turns
``1e400`` into infinity, and accepts lone UTF-16 surrogates that no encoder will write again. In
ownership data each is a way to turn a deny into an allow, or a decision into a traceback, so
this reader refuses them all with a ``ParseError`` naming the key path. Numbers are otherwise
read as Python reads them: integers exactly, the rest as the nearest double (``1e-400`` is 0).
The common, valid document costs one hook call per object (large registries: see
``loads_registry``); the checks that name a path run only once something was refused, on a
second, marking pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import repeat
from typing import Final, cast

import orjson

from stakegate.errors import ParseError

__all__ = ["KEY_BEFORE_SPACE", "StreamDecoder", "loads", "loads_registry", "record_keys"]

# A ``\\u`` escape of a UTF-16 surrogate; only then are strings checked for lone ones.
_SURROGATE_ESCAPE: Final = re.compile(r"\\[uU][dD][89a-fA-F]")
_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")


class _Refused(Exception):
    """Raised by the fast pass's hooks; the marking pass then finds where and why."""


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise _Refused
    return mapping


def _constant(_name: str) -> object:
    raise _Refused


def _float(text: str) -> float:
    """The nearest double, as Python reads it; none is near a number beyond about 1.8e308."""
    value = float(text)
    if value - value != 0.0:
        raise _Refused
    return value


_FAST: Final = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float
)


# --- the marking pass: values that say what was refused ------------------------------------


class _Mark:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Duplicated(dict[str, object]):
    """An object with a repeated key (``key``); the path names it."""

    key: str = ""


def _mark_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    mapping = dict(pairs)
    if len(mapping) == len(pairs):
        return mapping
    marked = _Duplicated(mapping)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            marked.key = key
            break
        seen.add(key)
    return marked


def _mark_constant(name: str) -> object:
    return _Mark(f"{name} is not a JSON number")


def _mark_float(text: str) -> object:
    try:
        return _float(text)
    except _Refused:
        return _Mark(f"{text[:40]} is out of range for a number (a 64-bit float)")


_MARKING: Final = json.JSONDecoder(
    object_pairs_hook=_mark_pairs, parse_constant=_mark_constant, parse_float=_mark_float
)


def _walk(value: object) -> Iterator[tuple[tuple[str | int, ...], tuple[object, ...], object]]:
    """Every value with its path and parent containers, in document order (iteratively)."""
    todo: list[tuple[tuple[str | int, ...], tuple[object, ...], object]] = [((), (), value)]
    while todo:
        path, parents, item = todo.pop()
        yield path, parents, item
        if isinstance(item, dict):
            children = [((*path, k), (*parents, item), v) for k, v in item.items()]
        elif isinstance(item, list):
            children = [((*path, i), (*parents, item), v) for i, v in enumerate(item)]
        else:
            continue
        todo.extend(reversed(children))


def _first_fault(value: object) -> ParseError | None:
    for path, parents, item in _walk(value):
        if isinstance(item, _Duplicated):
            return ParseError(
                f"duplicate key {item.key!r}", (*path, item.key), parents=(*parents, item)
            )
        if isinstance(item, _Mark):
            return ParseError(item.reason, path, parents=parents)
        if isinstance(item, str) and _has_lone_surrogate(item):
            return ParseError(
                "a string holds a lone UTF-16 surrogate (not Unicode text)", path, parents=parents
            )
        if isinstance(item, dict):
            for key in item:
                if _has_lone_surrogate(key):
                    return ParseError(
                        "a key holds a lone UTF-16 surrogate (not Unicode text)",
                        path,
                        parents=parents,
                    )
    return None


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _located(value: object) -> ParseError:
    fault = _first_fault(value)
    assert fault is not None, "the fast pass refused what the marking pass accepts"
    return fault


# --- the public readers --------------------------------------------------------------------

# A key whose closing quote is not directly followed by ':' (the fast count would miss it).
KEY_BEFORE_SPACE: Final = re.compile(rb'"[ \t\r\n]+:')
_IS_DICT: Final = dict.__instancecheck__
_FAST_MIN: Final = 1 << 20


def loads_registry(data: bytes) -> object:
    """``loads`` for a registry document, about twice as fast on large ones.

    The same reading: a large document is decoded by orjson, which keeps the last of equal keys,
    so the keys are counted twice. Every key is a string directly followed by ``:`` (checked),
    so ``data.count(b'":')`` is at least the number of keys written, which is at least the
    number of keys of the registry's mappings (root, records, bands); the two are equal only
    when no key is repeated and there is no other mapping. Whenever they differ, or orjson
    refuses the text (NaN, out of range, a lone surrogate, deep nesting), the exact reader
    decides and names the fault. One difference, only in a document the record check refuses
    anyway: an integer beyond 64 bits is read as the nearest float.
    """
    if len(data) >= _FAST_MIN:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            value = _NOT_READ
        if value is not _NOT_READ and not KEY_BEFORE_SPACE.search(data):
            if _registry_keys(value) == data.count(b'":'):
                return value
    return loads(data)


_NOT_READ: Final = object()


def _registry_keys(doc: object) -> int | None:
    """The keys of the root and of the records (``record_keys``); None if not that shape.

    A record that is not a mapping would count its ``len`` (a string its characters) and could
    offset a repeated key: such a document goes to the exact reader, which names what it
    refuses first, as it would for any other document.
    """
    if type(doc) is not dict:
        return None
    entities, ownership = doc.get("entities", []), doc.get("ownership", [])
    if type(entities) is not list or type(ownership) is not list:
        return None
    if not (all(map(_IS_DICT, entities)) and all(map(_IS_DICT, ownership))):
        return None
    return len(doc) + record_keys(entities, "entities") + record_keys(ownership, "ownership")


def record_keys(records: list[dict[str, object]], section: str) -> int:
    """The keys of a section's records and of the mappings the schema puts in them: an
    ownership record's band, an entity's designations. Each mapping is counted once."""
    keys = sum(map(len, records))
    if section == "ownership":
        bands = cast(
            Iterator[dict[str, object]],
            filter(_IS_DICT, map(dict.get, records, repeat("percent"))),
        )
        return keys + sum(map(len, bands))
    for listed in filter(None, map(dict.get, records, repeat("designations"))):
        if type(listed) is list:
            keys += sum(len(item) for item in listed if type(item) is dict)
    return keys


def loads(data: bytes | str) -> object:
    """The JSON value of ``data``; ``ParseError`` names what is refused and where."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as e:
        raise ParseError(f"malformed JSON: not UTF-8 text ({e.reason} at byte {e.start})") from None
    value, end = StreamDecoder().raw_decode(text, 0, whole=True)
    return value


def _skip_space(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    assert match is not None  # '*' matches the empty string
    return match.end()


class StreamDecoder:
    """``raw_decode`` for readers that hold a buffer of many values (``importers.jsonstream``).

    An incomplete value raises ``json.JSONDecodeError`` (the caller may read more text); a
    refused one raises ``ParseError`` with the path inside that value.
    """

    __slots__ = ()

    def raw_decode(self, text: str, pos: int, *, whole: bool = False) -> tuple[object, int]:
        """Decode one value starting at ``pos`` (after whitespace); ``whole``: the text must
        hold nothing else, and a syntax error is a ``ParseError`` naming its line and column."""
        start = _skip_space(text, pos)
        try:
            value, end = _FAST.raw_decode(text, start)
            if whole and (rest := _skip_space(text, end)) != len(text):
                raise json.JSONDecodeError("Extra data", text, rest)
        except _Refused:
            value, end = _MARKING.raw_decode(text, start)
            raise _located(value) from None
        except json.JSONDecodeError as e:
            if not whole:
                raise
            raise ParseError(
                f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}"
            ) from None
        except RecursionError:
            raise ParseError("malformed JSON: nested too deeply") from None
        except ValueError as e:  # an integer with more digits than Python converts
            raise ParseError(f"malformed JSON: {e}") from None
        if _SURROGATE_ESCAPE.search(text, start, end):
            fault = _first_fault(value)
            if fault is not None:
                raise fault
        return value, end

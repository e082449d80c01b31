"""Registry YAML read by one fixed rule, so no text is read two ways.

YAML 1.1 (PyYAML) reads ``percent: 051`` as octal 41, ``0x3C`` and ``1:00`` as 60, ``NO`` as
false and ``2024-01-31`` as a date; YAML 1.2 reads the same text otherwise (51, a string, ...).
A registry read one way by us and another by the tool that wrote it is how a deny becomes an
allow. So a plain (unquoted) scalar is read here only when every reading agrees:

* ``~``, ``null``, ``Null``, ``NULL`` or nothing: null; ``true``/``false`` (also ``True``,
  ``TRUE``, ``False``, ``FALSE``): a boolean;
* a number only when written as ``-?(0|[1-9][0-9]*)`` (an integer) or with a fraction
  ``-?(0|[1-9][0-9]*)\\.[0-9]+``, optionally followed by a signed exponent ``[eE][-+][0-9]+``,
  and finite (read as the nearest double, as JSON numbers are);
* every other plain scalar that YAML 1.1 or 1.2 reads as a number, boolean, date, merge key or
  value (``051``, ``0x3C``, ``0o17``, ``0b11``, ``1_000``, ``1:00``, ``1e5``, ``+5``, ``.5``,
  ``.inf``, ``.nan``, ``yes``, ``NO``, ``on``, ``y``, ``2024-01-31T10:00:00``, ``<<``) is refused
  with a ``ParseError`` naming it: quote it if it is text, write it plainly if it is a number;
* except a calendar day written ``YYYY-MM-DD``: YAML 1.1 reads that day's date, 1.2 its text,
  the same day either way; it is read as the text (registry dates are text fields);
* anything else is text, as are quoted and block scalars.

Anchors, aliases and tags (other than ``!!str``, ``!!map``, ``!!seq``) are refused: registries
need none, and an alias bomb expands a few hundred bytes into gigabytes. Keys must be text and
unique, and nesting is bounded (``settings.REGISTRY_MAX_DEPTH``). ``tests/test_strict_yaml.py``
checks the rule against PyYAML (1.1) and ruamel.yaml (1.2) on generated scalars.

The document is built straight from the parser's events, without PyYAML's node graph and
constructors: that is also about twice as fast on large registries.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import IO, Any, Final

import yaml

from stakegate import settings
from stakegate.errors import ParseError

__all__ = ["dump_yaml", "load_yaml", "plain_scalar"]

_Loader: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG: Final = "tag:yaml.org,2002:"

_NULL: Final = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL: Final = {"true": True, "True": True, "TRUE": True}
_BOOL.update({"false": False, "False": False, "FALSE": False})
_INTEGER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL: Final = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+][0-9]+)?")
# The first characters of every plain scalar that any reading takes for something but text.
_SPECIAL_FIRST: Final = frozenset("0123456789+-.~<=nNyYtTfFoO")

# What YAML 1.1 (the spec's types and PyYAML) or YAML 1.2 (core and JSON schemas, and
# ruamel.yaml's reading of them) take for a number: a superset of every one of their forms.
_NUMBER_LIKE: Final = re.compile(
    r"[-+]?(?:0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+"
    r"|[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9._]*)?(?:[eE][-+]?[0-9]+)?"
    r"|\.[0-9._]*(?:[eE][-+]?[0-9]+)?"
    r"|\.(?:inf|Inf|INF|nan|NaN|NAN))"
    r"|[-+][0-9_]+(?::[0-5]?[0-9])*(?:\.[0-9._]*)?(?:[eE][-+]?[0-9]+)?"  # ruamel: -_0 is 0
)
_BOOL_1_1: Final = frozenset(
    "y Y yes Yes YES n N no No NO on On ON off Off OFF".split()  # true/false handled above
)
_DATE_1_1: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?"
)
_QUOTE: Final = "; quote it if it is text"
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_calendar_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def plain_scalar(text: str) -> object:
    """What a plain scalar means under the rule above; ``ValueError`` (the reason) if refused."""
    if not text or text[0] in _SPECIAL_FIRST:
        return _special(text)
    return text


def _special(text: str) -> object:
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INTEGER.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # more digits than Python converts
            raise ValueError(f"{text[:20]}... has too many digits for a number") from None
    if _DECIMAL.fullmatch(text):
        value = float(text)
        if math.isinf(value):
            raise ValueError(f"{text} is out of range for a number (a 64-bit float)")
        return value
    if _NUMBER_LIKE.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a plain decimal number: YAML 1.1 and 1.2 read it differently "
            f"(write a number as 12 or 12.5, without leading zeros){_QUOTE}"
        )
    if text in _BOOL_1_1:
        raise ValueError(
            f"plain {text} is read as a boolean by YAML 1.1 and as text by YAML 1.2 "
            f"(e.g. NO for Norway){_QUOTE}, or write true or false"
        )
    if _DAY.fullmatch(text) and _is_calendar_day(text):
        # YAML 1.1 reads the date of that day, 1.2 the text naming it: the same day either
        # way, and dates in a registry are text fields (start, end, since, until).
        return text
    if _DATE_1_1.fullmatch(text):
        raise ValueError(f"plain {text} is read as a date by YAML 1.1 and as text by 1.2{_QUOTE}")
    if text in ("<<", "="):
        raise ValueError(
            f"plain {text} is a merge key or value in YAML 1.1 and not allowed{_QUOTE}"
        )
    return text


class _Dumper(yaml.SafeDumper):
    """Quotes every string that ``plain_scalar`` would not read back as that same string, and
    every string with a character that is not printable."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    try:
        plain = plain_scalar(text) == text and text.isprintable()
    except ValueError:
        plain = False
    # Double quotes escape what single quotes would fold (NEL, LS, PS are line breaks).
    return dumper.represent_scalar(_TAG + "str", text, style=None if plain else '"')


_Dumper.add_representer(str, _represent_str)


def dump_yaml(document: object, handle: IO[str]) -> None:
    """Write ``document`` as YAML that ``load_yaml`` reads back unchanged."""
    yaml.dump(document, handle, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def load_yaml(data: bytes) -> object:
    """The document in ``data`` under the rule above; ``ParseError`` or ``yaml.YAMLError``."""
    loader = _Loader(data)
    try:
        return _Builder(loader).document()
    finally:
        loader.dispose()


class _Builder:
    """Builds plain dicts, lists and scalars from parser events, iteratively."""

    __slots__ = ("get", "stack")

    def __init__(self, loader: Any) -> None:
        self.get = loader.get_event
        # (container, key) of every open container above the current one.
        self.stack: list[tuple[Any, Any]] = []

    def fail(
        self, event: Any, reason: str, container: Any, key: Any = None, has_key: bool = False
    ) -> ParseError:
        """The error at ``event``, with the path down to ``container`` (and ``key``)."""
        path: list[str | int] = []
        parents: list[object] = []
        for box, at in self.stack:
            parents.append(box)
            path.append(len(box) if isinstance(box, list) else at)
        if container is not None:
            parents.append(container)
            if isinstance(container, list):
                path.append(len(container))
            elif has_key:
                path.append(key)
        mark = event.start_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        return ParseError(reason, path, line=line, column=column, parents=parents)

    def document(self) -> object:
        get = self.get
        get()  # StreamStartEvent
        event = get()
        if isinstance(event, yaml.StreamEndEvent):
            return None
        root = self.node(get())
        event = get()  # DocumentEndEvent
        event = get()
        if not isinstance(event, yaml.StreamEndEvent):
            raise self.fail(event, "a registry is one YAML document; found a second one", None)
        return root

    def node(self, event: Any) -> object:
        """The value starting at ``event``: a scalar, or a whole mapping or list."""
        get, stack = self.get, self.stack
        scalar, map_start, seq_start = (
            yaml.ScalarEvent,
            yaml.MappingStartEvent,
            yaml.SequenceStartEvent,
        )
        ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        max_depth = settings.REGISTRY_MAX_DEPTH
        container: Any = None  # the open mapping or list, None before the root
        is_map = False
        key: Any = None  # in a mapping: the key whose value comes next, if has_key
        has_key = False
        while True:
            kind = type(event)
            if kind is scalar:
                if event.anchor is not None or event.tag is not None:
                    self.check_decoration(event, _TAG + "str", container, key, has_key)
                value = event.value
                if event.implicit[0] and (not value or value[0] in _SPECIAL_FIRST):
                    try:
                        value = _special(value)
                    except ValueError as e:
                        raise self.fail(event, str(e), container, key, has_key) from None
            elif kind is map_start or kind is seq_start:
                if event.anchor is not None or event.tag is not None:
                    tag = _TAG + ("map" if kind is map_start else "seq")
                    self.check_decoration(event, tag, container, key, has_key)
                if is_map and not has_key:
                    raise self.fail(event, "a key must be text, not a mapping or list", container)
                if len(stack) + (container is not None) >= max_depth:
                    reason = f"nested deeper than {max_depth} levels"
                    raise self.fail(event, reason, container, key, has_key)
                if container is not None:
                    stack.append((container, key))
                is_map = kind is map_start
                container, has_key = ({} if is_map else []), False
                event = get()
                continue
            elif kind in ends:
                value = container
                if not stack:
                    return value
                container, key = stack.pop()
                is_map = has_key = type(container) is dict
            elif kind is yaml.AliasEvent:
                reason = f"aliases (*{event.anchor}) are not allowed in a registry"
                raise self.fail(event, reason, container, key, has_key)
            else:
                raise self.fail(event, f"unexpected YAML event {kind.__name__}", container)
            # ``value`` is complete: place it.
            if container is None:
                return value
            if not is_map:
                container.append(value)
            elif has_key:
                container[key] = value
                has_key = False
            else:
                if type(value) is not str:
                    raise self.fail(event, f"a key must be text, got {_shown(value)}", container)
                if value in container:
                    raise self.fail(event, f"duplicate key {value!r}", container, value, True)
                key, has_key = value, True
            event = get()

    def check_decoration(
        self, event: Any, plain_tag: str, container: Any, key: Any, has_key: bool
    ) -> None:
        """Refuse an anchor, or a tag other than the node's own (``!!str`` on a scalar)."""
        if event.anchor is not None:
            reason = f"anchors (&{event.anchor}) are not allowed in a registry"
        elif event.tag != plain_tag:
            reason = f"the tag {event.tag} is not allowed in a registry{_QUOTE}"
        else:
            return
        raise self.fail(event, reason, container, key, has_key)


def _shown(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return f"number {value!r}" if isinstance(value, int | float) else repr(value)

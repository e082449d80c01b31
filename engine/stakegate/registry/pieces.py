"""A large JSON registry read a few megabytes at a time, so the whole document never exists.

orjson reads a million-entity register (185 MB) into about 1.7 GB of Python objects, more than
the model built from them; read piece by piece, each piece becomes model before the next is
read. The reading is the same as ``strict_json.loads_registry``'s, and it is proved piece by
piece, never guessed:

* the root must be one mapping whose keys are ``entities``, ``ownership`` and ``notes`` (plain,
  each at most once); ``notes`` must be a string;
* a section's records are cut only where a ``}`` is followed by a comma and a ``{``, and a cut
  is kept only when orjson reads ``[`` + piece + ``]`` as a list of mappings. JSON is a
  context-free grammar: pieces that each read as a list, joined by the commas between them,
  read as one list of the same values, so the records are the records of the whole array. A
  cut inside a string or a nested value cannot read as such a list;
* keys are counted as ``loads_registry`` counts them (``":`` in the text against the keys of
  every mapping read), so a repeated key anywhere is caught.

Anything else raises ``Unsplit`` and the caller reads the whole document strictly, which also
names any fault; so does a layout that keeps defeating the cuts (``MAX_MISCUTS``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

import orjson

from stakegate.registry.strict_json import KEY_BEFORE_SPACE, record_keys

__all__ = ["PIECE_BYTES", "Piece", "Unsplit", "pieces"]

PIECE_BYTES: Final = 4 << 20  # ~20k records: the piece's objects stay a few tens of MB
MAX_MISCUTS: Final = 32  # failed cuts per document before reading it whole

_WS: Final = rb"[ \t\r\n]*"
_SKIP: Final = re.compile(_WS)
_KEY: Final = re.compile(rb'"(entities|ownership|notes)"' + _WS + b":" + _WS)
_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
# Where one record may end and the next begin; kept only if the piece reads as a list.
_CUT: Final = re.compile(rb"\}" + _WS + b"," + _WS + rb"\{")
# Where a section may end: ']' followed by the next root key or the end of the root.
_END: Final = re.compile(
    rb"\]" + _WS + rb'(?:,' + _WS + rb'"(?:entities|ownership|notes)"' + _WS + rb":|\}"
    + _WS + rb"\Z)"
)  # fmt: skip

# (section, index of its first record, the records); a section's pieces come in order.
Piece = tuple[str, int, list[dict[str, Any]]]


class Unsplit(Exception):
    """The document is not one this reader cuts safely: read it whole instead."""


def pieces(data: bytes, *, count_keys: bool = True) -> Iterator[Piece]:
    """The records of ``entities`` and ``ownership`` in document order, piece by piece.

    ``Unsplit`` may come at any point, the last check (repeated keys) after the last piece:
    a caller builds from the pieces as they come and discards what it built on ``Unsplit``.
    ``count_keys=False`` leaves out the repeated-key check (about 1.6 s of a 1M register), for
    a second reader of the same document beside one that makes it: the pieces are the same.
    """
    if count_keys and KEY_BEFORE_SPACE.search(data):
        raise Unsplit
    reader = _Reader(data, count_keys=count_keys)
    yield from reader.root()
    if count_keys and reader.keys != data.count(b'":'):
        raise Unsplit


class _Reader:
    __slots__ = ("count_keys", "data", "keys", "miscuts", "pos")

    def __init__(self, data: bytes, *, count_keys: bool = True) -> None:
        self.data = data
        self.pos = 0
        self.count_keys = count_keys
        self.keys = 0  # keys read so far, as strict_json.record_keys counts them
        self.miscuts = 0

    def _skip(self) -> int:
        match = _SKIP.match(self.data, self.pos)
        assert match is not None  # '*' matches the empty string
        self.pos = match.end()
        return self.pos

    def _expect(self, char: bytes) -> None:
        if self.data[self._skip() : self.pos + 1] != char:
            raise Unsplit
        self.pos += 1

    def root(self) -> Iterator[Piece]:
        self._expect(b"{")
        seen: set[bytes] = set()
        while True:
            key = _KEY.match(self.data, self._skip())
            if key is None or key[1] in seen:
                raise Unsplit
            seen.add(key[1])
            self.keys += 1
            self.pos = key.end()
            if key[1] == b"notes":
                self._notes()
            else:
                yield from self._section(key[1].decode())
            if self.data[self._skip() : self.pos + 1] != b",":
                break
            self.pos += 1
        self._expect(b"}")
        if self._skip() != len(self.data):
            raise Unsplit

    def _notes(self) -> None:
        match = _STRING.match(self.data, self.pos)
        if match is None or type(_read(self.data[match.start() : match.end()])) is not str:
            raise Unsplit
        self.pos = match.end()

    def _section(self, name: str) -> Iterator[Piece]:
        self._expect(b"[")
        if self.data[self._skip() : self.pos + 1] == b"]":
            self.pos += 1
            yield name, 0, []
            return
        count = 0
        while True:
            records, ended = self._piece()
            if self.count_keys:
                self.keys += record_keys(records, name)
            yield name, count, records
            count += len(records)
            if ended:
                return

    def _piece(self) -> tuple[list[dict[str, Any]], bool]:
        """The next piece's records from ``pos`` (at a record), and whether the section ended."""
        data, start = self.data, self.pos
        cut = _CUT.search(data, start + PIECE_BYTES)
        untried = start  # where the places the section may end have not been tried yet
        while True:
            stretch = cut.start() + 1 if cut else len(data)
            if cut and (records := _records(data[start:stretch])) is not None:
                self.pos = cut.end() - 1  # at the next record's '{'
                return records, False
            # The section may end in this stretch: try each place it could, in order, once.
            for end in _END.finditer(data, untried):
                if end.start() > stretch:
                    break
                if (records := _records(data[start : end.start()])) is not None:
                    self.pos = end.start() + 1
                    return records, True
                untried = end.start() + 1
                self._miscut()
            if cut is None:
                raise Unsplit
            self._miscut()
            cut = _CUT.search(data, cut.end() - 1)

    def _miscut(self) -> None:
        self.miscuts += 1
        if self.miscuts > MAX_MISCUTS:
            raise Unsplit


def _read(text: bytes) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _records(text: bytes) -> list[dict[str, Any]] | None:
    """``text`` as a list of mappings (``[`` + text + ``]``), or None if it is not one."""
    value = _read(b"[" + text + b"]")
    if type(value) is not list or not all(type(rec) is dict for rec in value):
        return None
    return value

"""Stream the values of a large JSON array or JSON-lines file, each with its line number.

Ownership exports run to gigabytes, so a file is never loaded whole: it is read in chunks and
each top-level value (an array element, or one value per line) is decoded on its own with the
standard library's C decoder. Keeping the text ourselves, rather than using an event parser
such as ijson, gives the exact line of every value and of every syntax error, which the error
messages promise (file, line, record, field).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from stakegate import settings
from stakegate.errors import ParseError, RegistryError
from stakegate.registry.strict_json import StreamDecoder

__all__ = ["JsonItem", "iter_json_items"]

CHUNK: Final = 1 << 20
_WHITESPACE: Final = " \t\n\r"
# The one strict JSON reading (duplicate keys, NaN, numbers out of range are refused).
_DECODER: Final = StreamDecoder()


@dataclass(frozen=True, slots=True)
class JsonItem:
    """One top-level value: ``index`` counts from 0, ``line`` from 1 (where the value starts)."""

    value: object
    index: int
    line: int


def iter_json_items(path: Path) -> Iterator[JsonItem]:
    """The elements of a top-level array, or else the whitespace-separated values (JSON lines).

    ``.gz`` files are decompressed on the fly. Raises ``RegistryError`` naming the file and line.
    """
    source = str(path)
    try:
        handle: IO[str] = (
            gzip.open(path, "rt", encoding="utf-8-sig")
            if path.suffix == ".gz"
            else open(path, encoding="utf-8-sig")  # noqa: SIM115 (closed below)
        )
    except OSError as e:
        raise RegistryError(f"cannot read the file: {e.strerror or e}", source=source) from None
    with handle:
        yield from _Reader(handle, source).items()


class _Reader:
    """A text buffer over ``handle`` that knows the line number at ``pos``."""

    __slots__ = ("buf", "column", "eof", "handle", "line", "pos", "source")

    def __init__(self, handle: IO[str], source: str) -> None:
        self.handle = handle
        self.source = source
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.column = 1  # of ``pos``; the start of its line may be gone from the buffer
        self.eof = False

    def error(self, message: str, line: int | None = None) -> RegistryError:
        return RegistryError(message, source=self.source, record=f"line {line or self.line}")

    def fill(self) -> bool:
        """Read one more chunk; False at end of file."""
        if self.eof:
            return False
        try:
            data = self.handle.read(CHUNK)
        except UnicodeDecodeError as e:
            raise self.error(f"not UTF-8 text ({e.reason})") from None
        except (OSError, EOFError, zlib.error) as e:
            raise self.error(f"cannot read the file: {e}") from None
        if not data:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def advance(self, end: int) -> None:
        line, column = self.where(end)
        self.line, self.column, self.pos = line, column, end

    def where(self, offset: int) -> tuple[int, int]:
        """Line and column of buffer ``offset`` (at or after ``pos``)."""
        newlines = self.buf.count("\n", self.pos, offset)
        if not newlines:
            return self.line, self.column + offset - self.pos
        return self.line + newlines, offset - self.buf.rfind("\n", self.pos, offset)

    def peek(self) -> str:
        """The next character that is not whitespace ('' at end of file), not consumed."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in _WHITESPACE:
                pos += 1
            self.advance(pos)
            if pos < len(buf):
                return buf[pos]
            if not self.fill():
                return ""

    def value(self) -> object:
        """Decode the value at ``pos``, reading more text until it is complete."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except ParseError as e:
                raise RegistryError(
                    e.reason,
                    source=self.source,
                    record=f"line {self.line}",
                    field=e.keypath() or None,
                ) from None
            except json.JSONDecodeError as e:
                if self._more():
                    continue
                line, column = self.where(e.pos)
                raise self.error(f"malformed JSON at column {column}: {e.msg}", line) from None
            # A value that ends exactly at the end of the buffer may continue (a number).
            if end == len(self.buf) and self._more():
                continue
            self.advance(end)
            return value

    def _more(self) -> bool:
        limit = settings.IMPORT_MAX_RECORD
        if len(self.buf) - self.pos > limit:
            raise self.error(
                f"a JSON value longer than {limit:,} characters "
                "(setting STAKEGATE_IMPORT_MAX_RECORD)"
            )
        return self.fill()

    def items(self) -> Iterator[JsonItem]:
        first = self.peek()
        if first == "[":
            self.advance(self.pos + 1)
            yield from self._array()
        else:
            yield from self._values()

    def _array(self) -> Iterator[JsonItem]:
        index = 0
        if self.peek() == "]":
            self.advance(self.pos + 1)
        else:
            while True:
                if self.peek() == "":
                    raise self.error("malformed JSON: the file ends inside the top-level array")
                line = self.line
                yield JsonItem(self.value(), index, line)
                index += 1
                separator = self.peek()
                if separator == "]":
                    self.advance(self.pos + 1)
                    break
                if separator != ",":
                    shown = repr(separator) if separator else "the end of the file"
                    raise self.error(
                        f"malformed JSON: expected ',' or ']' after a value, got {shown}"
                    )
                self.advance(self.pos + 1)
        if self.peek() != "":
            raise self.error("malformed JSON: more data after the top-level array")

    def _values(self) -> Iterator[JsonItem]:
        index = 0
        while self.peek() != "":
            line = self.line
            yield JsonItem(self.value(), index, line)
            index += 1

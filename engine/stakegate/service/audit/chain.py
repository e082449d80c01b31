"""The line format of the audit log: canonical JSON, chained by SHA-256.

A line is the record in canonical JSON (sorted keys, no spaces, UTF-8) with ``"hash"`` added
last. Its hash is the SHA-256 of the line's own bytes before ``,"hash":``, closed with ``}``:
the record without ``"hash"``, exactly as written. Verification hashes the bytes on disk rather
than re-serializing, so it does not depend on how a JSON library spells numbers (``1e-05`` or
``0.00001``), and catches any edit, even one that parses to equal JSON. ``prev`` is the hash of
the line before (``GENESIS`` for the first line of a log), ``seq`` counts lines from 1.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["GENESIS", "ParsedLine", "canonical", "encode_line", "parse_line", "utc_now"]

GENESIS = "0" * 64

# The end of every line: the hash member, last, after the hashed body.
_HASH_MEMBER = re.compile(rb',"hash":"([0-9a-f]{64})"\}$')


def canonical(record: Mapping[str, Any]) -> str:
    """The byte-stable JSON form that hashes and signatures cover."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def encode_line(record: dict[str, Any], seq: int, prev: str) -> tuple[bytes, str]:
    """Chain ``record`` as line ``seq`` after ``prev``; the line to write and its hash.

    ``record`` may hold ``orjson.Fragment`` values (facts serialized once, canonically): they are
    written as given, and the hash covers them as written.
    """
    record["seq"] = seq
    record["prev"] = prev
    # orjson: the same canonical form as ``canonical`` (but for number spelling), 10x faster.
    body = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(body).hexdigest()
    # The hash goes last, outside the hashed body; verification cuts it off and rehashes.
    return b"".join((body[:-1], b',"hash":"', digest.encode(), b'"}\n')), digest


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One line as read back: the record (``None`` if unreadable) and whether its hash holds."""

    record: dict[str, Any] | None
    claimed: str | None
    hash_ok: bool


def parse_line(raw: bytes) -> ParsedLine:
    """Read one line (without its newline); never raises on malformed input."""
    found = _HASH_MEMBER.search(raw)
    if found is None:
        return ParsedLine(None, None, False)
    body = raw[: found.start()] + b"}"
    try:
        record = json.loads(body)
    except ValueError:
        return ParsedLine(None, None, False)
    if not isinstance(record, dict) or "hash" in record:
        return ParsedLine(None, None, False)
    claimed = found.group(1).decode()
    return ParsedLine(record, claimed, hashlib.sha256(body).hexdigest() == claimed)

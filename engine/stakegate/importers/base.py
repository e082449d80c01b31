"""What every importer shares: a builder for native registry documents, counts, and errors.

Importers read foreign ownership data (BODS, GLEIF, UK PSC) record by record, so a large file
is streamed, not loaded whole; they feed a ``RegistryBuilder``, which keeps only the native
entities and ownership records (a fraction of the input) and counts what was skipped and why.
Nothing is dropped silently: an unknown country or a missing share becomes an explicit fact
(no jurisdiction; a 0-100 band) and a counted note, never a guessed value or a zero.

Importers keep the dates they read: an ownership record carries ``start`` and ``end``, and one
imported file can be screened at any date (``registry/dates.py`` ``live_at`` is the one rule of
when a dated record counts). With an as-of date (``stakegate import --as-of``) the builder writes
only what is live on that day. Foreign dates may be partial (BODS allows a month or a year):
``read_period`` starts such a period on its first day and ends it on its last, so a holding is
kept as long as the source allows and can only raise a restricted share, and a date that cannot
be read is no bound at all (counted, and noted).
"""

from __future__ import annotations

import calendar
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, AnyStr

from stakegate import settings
from stakegate.errors import InputError, ParseError, RegistryError
from stakegate.outfile import atomic_write
from stakegate.registry.dates import live_at
from stakegate.registry.strict_json import loads
from stakegate.registry.strict_yaml import dump_yaml

__all__ = [
    "UNKNOWN_SHARE",
    "ImportReport",
    "Period",
    "RegistryBuilder",
    "bounded_lines",
    "date_span",
    "read_period",
    "timestamp_day",
    "write_registry",
]

# A holding whose size the source does not state: anything from nothing to everything.
UNKNOWN_SHARE: dict[str, float] = {"min": 0.0, "max": 100.0}
# An ISO 8601 calendar date, or a reduced-precision one (a month or a year), as BODS allows.
_ISO_PERIOD = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
# An ISO 8601 timestamp (or a bare day): the day, and the time of day.
_TIMESTAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T([0-9:.]+)(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)


# Cached: a large import repeats the same few thousand dates on millions of interests.
@lru_cache(maxsize=1 << 14)
def date_span(text: str) -> tuple[date, date] | None:
    """The first and last day of ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; ``None`` otherwise."""
    match = _ISO_PERIOD.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day = match.groups()
    try:
        if day is not None:
            exact = date(int(year), int(month), int(day))
            return exact, exact
        if month is not None:
            first = date(int(year), int(month), 1)
            return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return date(int(year), 1, 1), date(int(year), 12, 31)
    except ValueError:  # month 13, 30 February, year 0
        return None


@dataclass(frozen=True, slots=True)
class Period:
    """When a foreign interest counts, as the native ``start``/``end`` days (``None``: open),
    and the report notes for dates that could not be read as given."""

    start: date | None = None
    end: date | None = None
    notes: tuple[str, ...] = ()

    def is_live(self, as_of: date) -> bool:
        return live_at(self.start, self.end, as_of)


def read_period(start: object, end: object, start_name: str, end_name: str) -> Period:
    """The period from a source's start and end dates (text, possibly partial, or absent).

    A partial start counts from its first day and a partial end ends on its last day: the
    longest reading, because keeping an ended holding can only raise a restricted share while
    dropping a live one could allow. A date that cannot be read, and an end before the start,
    bound nothing (noted, named by ``start_name``/``end_name``)."""
    notes: list[str] = []
    first = last = None
    if start is not None and start != "":
        span = date_span(start) if isinstance(start, str) else None
        if span is None:
            notes.append(f"unreadable {start_name}: counted from the beginning")
        else:
            first = span[0]
    if end is not None and end != "":
        span = date_span(end) if isinstance(end, str) else None
        if span is None:
            notes.append(f"unreadable {end_name}: counted as live")
        elif first is not None and span[1] < first:
            notes.append(f"{end_name} before {start_name}: counted as live")
        else:
            last = span[1]
    return Period(first, last, tuple(notes))


def timestamp_day(text: str | None, *, end: bool) -> str | None:
    """The calendar day of an ISO 8601 timestamp (GLEIF dates, BODS ``statementDate``), as
    written; an end later than midnight gives the next day (it held for part of that day).
    Text that is no timestamp is returned as it is (``read_period`` notes it)."""
    if text is None or not text.strip():
        return None
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return text
    day, clock = match.groups()
    if not end or not clock or not clock.strip("0:."):
        return day
    try:
        return (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    except (ValueError, OverflowError):  # not a calendar day: read_period notes it
        return day


def bounded_lines(stream: IO[AnyStr], source: str) -> Iterator[AnyStr]:
    """The lines of ``stream``, refusing one longer than ``settings.IMPORT_MAX_RECORD``.

    Iterating a file reads a whole line, however long, into memory (a 1.2 GB line in a zip took
    twice that); this reads at most the limit, then names the file and line.
    """
    limit = settings.IMPORT_MAX_RECORD
    number = 0
    while True:
        try:
            line = stream.readline(limit + 1)
        except UnicodeDecodeError as e:
            raise RegistryError(
                f"not UTF-8 text ({e.reason})", source=source, record=f"line {number + 1}"
            ) from None
        if not line:
            return
        number += 1
        if len(line) > limit:
            raise RegistryError(
                f"longer than {limit:,} {'bytes' if isinstance(line, bytes) else 'characters'} "
                "(setting STAKEGATE_IMPORT_MAX_RECORD)",
                source=source,
                record=f"line {number}",
            )
        yield line


def json_lines(path: Path, what: str, expected: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line of a JSON-lines file, each line read
    strictly (``registry/strict_json``: a key given twice is refused) and bounded in length.

    Errors name the file, line and field. ``what`` names one line's object ("a PSC snapshot
    line"); ``expected`` says what the file should be, added when line 1 looks like one whole
    JSON document or another format."""
    source = str(path)
    try:
        handle = path.open("rb")
    except OSError as e:
        raise RegistryError(f"cannot read the file: {e.strerror or e}", source=source) from e
    with handle:
        for number, raw in enumerate(bounded_lines(handle, source), start=1):
            if not raw.strip():
                continue
            try:
                value = loads(raw)
            except ParseError as e:
                message = e.reason.replace(" at line 1, column", " at column")
                if number == 1 and raw.lstrip()[:1] in (b"[", b"{", b"<") and not e.path:
                    message += f"; expected {expected}"
                raise RegistryError(
                    message, source=source, record=f"line {number}", field=e.keypath() or None
                ) from None
            if isinstance(value, list) and number == 1:
                raise RegistryError(
                    f"expected {expected}, got a JSON array", source=source, record="line 1"
                )
            if not isinstance(value, dict):
                raise RegistryError(
                    f"{what} must be a JSON object", source=source, record=f"line {number}"
                )
            yield number, value


@dataclass
class ImportReport:
    """Counts for one import, printed to stderr by ``stakegate import``."""

    entities: int = 0
    edges: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        lines = [f"imported {self.entities} entities, {self.edges} ownership records"]
        lines += [f"  skipped {n}: {reason}" for reason, n in sorted(self.skipped.items())]
        lines += [f"  note {n}: {note}" for note, n in sorted(self.notes.items())]
        return "\n".join(lines)


class RegistryBuilder:
    """Accumulates entities and ownership records; later statements replace earlier ones.

    ``as_of`` ``None`` keeps every dated record (the whole history); a day keeps only the
    records live on it, and counts the others as skipped."""

    __slots__ = ("_entities", "_holdings", "as_of", "report", "source")

    def __init__(self, source: str, *, as_of: date | None = None) -> None:
        self.source = source
        self.as_of = as_of
        self._entities: dict[str, dict[str, Any]] = {}
        # Keyed by (owner, owned, interest, interest_id, start, end) so a replaced or repeated
        # statement of the same interest is stored once, never counted twice, a voting interest
        # does not overwrite the shares of the same owner, and successive periods of one
        # holding are its history.
        self._holdings: dict[tuple[str, str, str, str, str, str], dict[str, Any]] = {}
        self.report = ImportReport()

    def __repr__(self) -> str:
        return (
            f"<RegistryBuilder source={self.source!r} as_of={self.as_of or 'all dates'} "
            f"entities={len(self._entities)} holdings={len(self._holdings)}>"
        )

    def has_entity(self, entity_id: str) -> bool:
        return entity_id in self._entities

    def entity(
        self,
        entity_id: str,
        entity_type: str,
        *,
        name: str | None = None,
        jurisdiction: str | None = None,
        headquarters: str | None = None,
        notes: str | None = None,
    ) -> None:
        """Add or replace an entity; ``None`` fields are left out (unknown, not empty)."""
        record: dict[str, Any] = {"id": entity_id, "type": entity_type}
        for key, value in (
            ("name", name),
            ("jurisdiction", jurisdiction),
            ("headquarters", headquarters),
            ("notes", notes),
        ):
            if value is not None:
                record[key] = value
        self._entities[entity_id] = record

    def designate(self, entity_id: str, designations: list[dict[str, Any]]) -> None:
        """Record an entity's sanctions designations ({list, program?, since?, until?})."""
        self._entities[entity_id]["designations"] = designations

    def remove_entity(self, entity_id: str) -> None:
        """Drop an entity and every holding that names it (a closed or replaced statement)."""
        self._entities.pop(entity_id, None)
        for key in [k for k in self._holdings if entity_id in (k[0], k[1])]:
            del self._holdings[key]

    def holding(
        self,
        owner: str,
        owned: str,
        percent: float | Mapping[str, Any] | None,
        *,
        interest: str = "shares",
        interest_id: str | None = None,
        notes: str | None = None,
        period: Period | None = None,
    ) -> None:
        """Add or replace an ownership record; ``percent=None`` means the share is unknown.
        With an as-of date, a record whose ``period`` is not live on it is skipped, counted."""
        start, end = (period.start, period.end) if period is not None else (None, None)
        if self.as_of is not None and not live_at(start, end, self.as_of):
            began = start is None or start <= self.as_of
            self.skip(
                "ownership record ended on or before the as-of date"
                if began
                else "ownership record begins after the as-of date"
            )
            return
        record: dict[str, Any] = {"owner": owner, "owned": owned}
        if percent is None:
            if interest != "consolidation":
                record["percent"] = dict(UNKNOWN_SHARE)
                self.report.notes["share not stated: recorded as 0-100 band"] += 1
        else:
            record["percent"] = dict(percent) if isinstance(percent, Mapping) else percent
        if interest != "shares":
            record["interest"] = interest
        if interest_id is not None:
            record["interest_id"] = interest_id
        first = start.isoformat() if start is not None else ""
        last = end.isoformat() if end is not None else ""
        if first:
            record["start"] = first
        if last:
            record["end"] = last
        if notes is not None:
            record["notes"] = notes
        self._holdings[(owner, owned, interest, interest_id or "", first, last)] = record

    def skip(self, reason: str) -> None:
        """Count a source record that does not become part of the registry, with why."""
        self.report.skipped[reason] += 1

    def note(self, note: str) -> None:
        """Count an explicit fact recorded in place of missing data (e.g. unknown country)."""
        self.report.notes[note] += 1

    def document(self) -> dict[str, Any]:
        """The native registry document; holdings naming unknown entities are skipped."""
        ownership = []
        for record in self._holdings.values():
            missing = [e for e in (record["owner"], record["owned"]) if e not in self._entities]
            if missing:
                self.skip("ownership record names an entity with no statement")
                continue
            ownership.append(record)
        self.report.entities = len(self._entities)
        self.report.edges = len(ownership)
        return {"entities": list(self._entities.values()), "ownership": ownership}


def write_registry(document: Mapping[str, Any], out: str | Path) -> None:
    """Write a native registry (YAML for .yaml/.yml, else JSON) whole or not at all; the YAML
    quotes every string the strict reader would not read back as that string (``0123``)."""
    target = Path(out)
    if target.suffix not in (".yaml", ".yml", ".json"):
        raise InputError(f"{out}: must end in .yaml, .yml or .json", param="out")
    with atomic_write(target, newline=None) as handle:
        if target.suffix == ".json":
            json.dump(document, handle, indent=1)
            handle.write("\n")
        else:
            dump_yaml(dict(document), handle)

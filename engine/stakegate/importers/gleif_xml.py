"""GLEIF XML files (LEI-CDF, RR-CDF, reporting exceptions) streamed as golden-copy CSV rows,
and the reading of a relationship's dates from such a row (``relationship_period``).

The parser is fed in chunks and every record is dropped once read, so memory stays flat on a
10 GB file; a stretch of input with no complete record longer than
``settings.IMPORT_MAX_RECORD`` (one giant element, or a file that is not GLEIF at all) is
refused rather than buffered. An element the GLEIF schemas allow once (``LegalJurisdiction``,
``RegistrationStatus``, ``RelationshipType``...) that appears twice is refused, naming the
record and the element: reading one of the two would be a guess, and the other may be the one
that makes the entity restricted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Final, cast

from stakegate import settings
from stakegate.errors import RegistryError
from stakegate.importers.base import Period, read_period, timestamp_day

__all__ = ["XML_FIELDS", "relationship_period", "xml_records"]

Row = dict[str, str | None]
ErrorFactory = Callable[[str | None, str | None, str], RegistryError]

_CHUNK: Final = 1 << 16
# Root element (local name) -> kind, and each kind's record element.
_ROOTS: Final = {"LEIData": "lei", "RelationshipData": "rr", "ReportingExceptionData": "repex"}
_RECORDS: Final = {"lei": "LEIRecord", "rr": "RelationshipRecord", "repex": "Exception"}
# Relationship periods read per record (RR-CDF has at most one per period type, three types).
_MAX_PERIODS: Final = 16

# The XML path of each golden-copy CSV column read, for messages about XML input.
XML_FIELDS: Final = {
    "LEI": "LEI",
    "Relationship.StartNode.NodeID": "Relationship/StartNode/NodeID",
    "Relationship.EndNode.NodeID": "Relationship/EndNode/NodeID",
    "Relationship.RelationshipType": "Relationship/RelationshipType",
    "Exception.Category": "ExceptionCategory",
}


class _Repeated(ValueError):
    """A single-valued element appears more than once; ``args[0]`` is its path."""


def xml_records(stream: IO[bytes], error: ErrorFactory) -> Iterator[tuple[str, Row, int]]:
    """``(kind, row, index)`` for every record of a GLEIF XML file, index counting from 1."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    limit = settings.IMPORT_MAX_RECORD
    kind: str | None = None
    record_tag = ""
    stack: list[ET.Element] = []
    index = 0
    pending = 0  # bytes fed since the last complete record
    line = 1
    while True:
        chunk = stream.read(_CHUNK)
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            events = list(parser.read_events())
        except ET.ParseError as e:
            at, column = e.position
            raise error(None, None, f"malformed XML at line {at}, column {column}") from None
        except (LookupError, RecursionError, ValueError) as e:  # LookupError: unknown encoding
            raise error(None, None, f"malformed XML: {e}") from None
        for item in events:
            event, elem = cast(tuple[str, ET.Element], item)
            if event == "start":
                if kind is None:
                    kind = _ROOTS.get(_local(elem.tag))
                    if kind is None:
                        raise error(
                            None,
                            None,
                            f"not a GLEIF file: root element {_local(elem.tag)!r}; expected "
                            "LEIData, RelationshipData or ReportingExceptionData",
                        )
                    record_tag = _RECORDS[kind]
                stack.append(elem)
                continue
            stack.pop()
            if len(stack) == 2 and _local(elem.tag) == record_tag:
                index += 1
                try:
                    row = _ROWS[kind or ""](elem)
                except _Repeated as e:
                    raise error(
                        str(index), str(e), "appears more than once; GLEIF allows it once"
                    ) from None
                yield kind or "", row, index
                pending = 0
                elem.clear()
                stack[-1].remove(elem)  # drop what was read: memory stays flat
        if not chunk:
            break
        pending += len(chunk)
        line += chunk.count(b"\n")
        if pending > limit:
            raise error(
                f"{index + 1}",
                None,
                f"longer than {limit:,} bytes by line {line} (setting "
                "STAKEGATE_IMPORT_MAX_RECORD): not a GLEIF record",
            )
    if kind is None:
        raise error(None, None, "empty file: no GLEIF records")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _find(elem: ET.Element | None, *path: str, once: bool = True) -> ET.Element | None:
    """The element at ``path``; ``_Repeated`` if a step matches twice (unless ``once=False``)."""
    for depth, name in enumerate(path):
        if elem is None:
            return None
        found = [c for c in elem if _local(c.tag) == name]
        if once and len(found) > 1:
            raise _Repeated("/".join(path[: depth + 1]))
        elem = found[0] if found else None
    return elem


def _text(elem: ET.Element | None, *path: str) -> str | None:
    found = _find(elem, *path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _lei_row(rec: ET.Element) -> Row:
    return {
        "LEI": _text(rec, "LEI"),
        "Entity.LegalName": _text(rec, "Entity", "LegalName"),
        "Entity.LegalJurisdiction": _text(rec, "Entity", "LegalJurisdiction"),
        "Entity.LegalAddress.Country": _text(rec, "Entity", "LegalAddress", "Country"),
        "Entity.HeadquartersAddress.Country": _text(
            rec, "Entity", "HeadquartersAddress", "Country"
        ),
        "Entity.EntityCategory": _text(rec, "Entity", "EntityCategory"),
        "Registration.RegistrationStatus": _text(rec, "Registration", "RegistrationStatus"),
    }


def _rr_row(rec: ET.Element) -> Row:
    rel = _find(rec, "Relationship")
    # Quantifiers may be several; only the first goes into notes.
    quantifier = _find(rel, "RelationshipQuantifiers", "RelationshipQuantifier", once=False)
    row: Row = {"Registration.RegistrationStatus": _text(rec, "Registration", "RegistrationStatus")}
    if rel is not None:
        for name, path in (
            ("Relationship.StartNode.NodeID", ("StartNode", "NodeID")),
            ("Relationship.StartNode.NodeIDType", ("StartNode", "NodeIDType")),
            ("Relationship.EndNode.NodeID", ("EndNode", "NodeID")),
            ("Relationship.EndNode.NodeIDType", ("EndNode", "NodeIDType")),
            ("Relationship.RelationshipType", ("RelationshipType",)),
            ("Relationship.RelationshipStatus", ("RelationshipStatus",)),
        ):
            try:
                row[name] = _text(rel, *path)
            except _Repeated as e:
                raise _Repeated(f"Relationship/{e}") from None
    if quantifier is not None:
        for part in ("MeasurementMethod", "QuantifierAmount", "QuantifierUnits"):
            row[f"Relationship.Quantifiers.1.{part}"] = _text(quantifier, part)
    periods = _find(rel, "RelationshipPeriods")
    found = [] if periods is None else [c for c in periods if _local(c.tag) == "RelationshipPeriod"]
    for n, period in enumerate(found[:_MAX_PERIODS], start=1):
        for part, name in (
            ("StartDate", "startDate"),
            ("EndDate", "endDate"),
            ("PeriodType", "periodType"),
        ):
            try:
                row[f"Relationship.Period.{n}.{name}"] = _text(period, part)
            except _Repeated as e:
                raise _Repeated(
                    f"Relationship/RelationshipPeriods/RelationshipPeriod/{e}"
                ) from None
    return row


def _repex_row(rec: ET.Element) -> Row:
    row: Row = {"LEI": _text(rec, "LEI"), "Exception.Category": _text(rec, "ExceptionCategory")}
    reasons = [c.text for c in rec if _local(c.tag) == "ExceptionReason"]
    for n, reason in enumerate(reasons, start=1):
        row[f"Exception.Reason.{n}"] = reason
    return row


_ROWS: Final[dict[str, Callable[[ET.Element], Row]]] = {
    "lei": _lei_row,
    "rr": _rr_row,
    "repex": _repex_row,
}


def relationship_period(row: Mapping[str, str | None], note: Callable[[str], None]) -> Period:
    """The record's ``RELATIONSHIP_PERIOD`` (the span of several), read by ``read_period``."""
    found: list[Period] = []
    for n in range(1, _MAX_PERIODS + 1):
        kind = row.get(f"Relationship.Period.{n}.periodType")
        if kind is None:
            continue
        if kind.strip().upper() != "RELATIONSHIP_PERIOD":
            continue
        found.append(
            read_period(
                timestamp_day(row.get(f"Relationship.Period.{n}.startDate"), end=False),
                timestamp_day(row.get(f"Relationship.Period.{n}.endDate"), end=True),
                "relationship StartDate",
                "relationship EndDate",
            )
        )
    for period in found:
        for counted in period.notes:
            note(counted)
    if len(found) > 1:
        note("several relationship periods: read as the span covering them")
        starts, ends = [p.start for p in found], [p.end for p in found]
        start = None if None in starts else min(d for d in starts if d is not None)
        end = None if None in ends else max(d for d in ends if d is not None)
        return Period(start, end)
    return found[0] if found else Period()

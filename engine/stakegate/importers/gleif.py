"""Import GLEIF golden-copy data: LEI records (Level 1), relationships (Level 2) and exceptions.

Inputs are the golden-copy files as GLEIF publishes them, XML (LEI-CDF, RR-CDF, reporting
exceptions) or CSV, plain or zipped, any mix in any order; the kind of each file is read from
its root element or CSV header, not its name. XML is streamed with ``iterparse`` and every
record is dropped once read, so a 10 GB file needs memory for the registry being built only.

Mapping, and why:

- An LEI record is an entity with id = the LEI: ``jurisdiction`` = LegalJurisdiction, kept as
  given, subdivision included (``US-DE``), falling back to the legal address country (counted);
  ``headquarters`` = the headquarters address country. Type ``company``, except resident
  government entities (``state``) and international organisations (``other``). Annulled and
  duplicate LEI records are skipped: they name no real entity.
- ``IS_DIRECTLY_CONSOLIDATED_BY`` (StartNode = child, EndNode = parent) becomes an ownership
  record parent -> child with ``interest: consolidation`` and no percent: accounting
  consolidation means control, and GLEIF states no share. The policy decides how such control
  counts (by default as majority control). A quantifier GLEIF gives (a consolidation
  percentage) goes into ``notes`` only: it measures consolidation, not ownership.
- ``IS_ULTIMATELY_CONSOLIDATED_BY`` is implied by the chain of direct parents and is then
  skipped, counted; where the direct chain in the data does not reach the ultimate parent (a
  parent without an LEI in between, or no direct relationship reported) it is kept as a
  consolidation record of its own, because the control it states would otherwise be lost.
- ``IS_INTERNATIONAL_BRANCH_OF``: a branch is part of its head office's legal person, so the
  head office holds it wholly (``percent: 100``).
- Fund relationships (managed-by, sub-fund, feeder) are not ownership: skipped, counted.
  Annulled, duplicate or retired relationship records are skipped (and undo an earlier
  statement of the same relationship); lapsed ones are kept, counted: lapsed means not
  re-validated, not untrue.
- **Dates**: the ``RELATIONSHIP_PERIOD`` (other period types date the accounts or the filing,
  not the relationship) gives the record's ``start`` and ``end``, so one import can be screened
  at any date. GLEIF writes timestamps: the calendar day as written counts, and an end later
  than midnight ends the day after (the relationship held for part of that day). Several
  relationship periods are read as the span covering them. An inactive relationship with an end
  date is kept as history ending then; one without is skipped (it ended, GLEIF does not say
  when). An ultimate parent is implied by direct parents only through direct relationships with
  no end date. With ``stakegate import --as-of`` only relationships live on that day are
  written.
- Reporting exceptions ("parent not reported: NATURAL_PERSONS / NON_CONSOLIDATING / ...") are
  counted notes; nothing is invented for a parent the exception says is unknown.
- A relationship naming an LEI with no LEI record in the inputs adds that LEI as an entity of
  unknown jurisdiction (counted): the parent exists, only its country is unknown, and dropping
  the edge would hide it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO, Any, Final, cast

from stakegate.errors import RegistryError
from stakegate.importers.base import Period, RegistryBuilder, bounded_lines
from stakegate.importers.countries import normalise_country
from stakegate.importers.gleif_xml import XML_FIELDS, relationship_period, xml_records

__all__ = ["import_files"]

Row = Mapping[str, str | None]

_LEI: Final = re.compile(r"[A-Z0-9]{18}[0-9]{2}")
_CODE: Final = re.compile(r"[A-Z]{2}(?:-[A-Z0-9]{1,3})?")
_WORD: Final = re.compile(r"[A-Z0-9_-]{1,60}")
_SNIFF_BYTES: Final = 4096

DIRECT: Final = "IS_DIRECTLY_CONSOLIDATED_BY"
ULTIMATE: Final = "IS_ULTIMATELY_CONSOLIDATED_BY"
BRANCH: Final = "IS_INTERNATIONAL_BRANCH_OF"
_NOT_OWNERSHIP: Final = {
    "IS_FUND-MANAGED_BY": "fund management, not ownership",
    "IS_SUBFUND_OF": "sub-fund of an umbrella fund, not ownership",
    "IS_FEEDER_TO": "feeder fund investment, not control",
}
_WITHDRAWN_LEI: Final = {"ANNULLED", "DUPLICATE"}
_WITHDRAWN_RR: Final = {"ANNULLED", "DUPLICATE", "RETIRED"}
_ENTITY_TYPES: Final = {
    "RESIDENT_GOVERNMENT_ENTITY": "state",
    "INTERNATIONAL_ORGANIZATION": "other",
}
_CATEGORIES: Final = {
    "DIRECT_ACCOUNTING_CONSOLIDATION_PARENT": "direct",
    "ULTIMATE_ACCOUNTING_CONSOLIDATION_PARENT": "ultimate",
}


def import_files(paths: Sequence[Path], builder: RegistryBuilder) -> None:
    """Stream GLEIF files of any kind into ``builder``; relationships are added at the end,
    once every file has been read, so that file order does not matter."""
    importer = _GleifImporter(builder)
    for path in paths:
        importer.read(Path(path))
    importer.finish()


class _GleifImporter:
    __slots__ = ("branch", "builder", "direct", "source", "ultimate", "withdrawn")

    def __init__(self, builder: RegistryBuilder) -> None:
        self.builder = builder
        self.source = ""
        # child LEI -> {parent LEI: (notes, period)}; emitted by finish().
        self.direct: dict[str, dict[str, tuple[str, Period]]] = {}
        self.ultimate: dict[str, dict[str, tuple[str, Period]]] = {}
        self.branch: dict[str, dict[str, tuple[str, Period]]] = {}
        self.withdrawn: set[str] = set()  # annulled or duplicate LEIs

    # --- files -------------------------------------------------------------------------------

    def read(self, path: Path) -> None:
        try:
            is_zip = zipfile.is_zipfile(path)
        except OSError as e:
            raise RegistryError(f"cannot read the file: {e.strerror or e}", source=str(path)) from e
        if not is_zip:
            try:
                handle = path.open("rb")
            except OSError as e:
                raise RegistryError(
                    f"cannot read the file: {e.strerror or e}", source=str(path)
                ) from e
            with handle:
                self.read_stream(handle, str(path))
            return
        with _zip_members(path) as members:
            for name, stream in members:
                try:
                    self.read_stream(stream, f"{path}!{name}")
                except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as e:
                    raise self.error(None, None, f"corrupt zip member: {e}") from None

    def read_stream(self, stream: IO[bytes], source: str) -> None:
        self.source = source
        peek = getattr(stream, "peek", None)
        if not callable(peek):
            buffered = io.BufferedReader(cast(Any, stream))
            stream, peek = buffered, buffered.peek
        head = bytes(peek(_SNIFF_BYTES)[:_SNIFF_BYTES]).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"<"):
            self.read_xml(stream)
        else:
            self.read_csv(stream)

    def error(self, where: str | None, field: str | None, message: str) -> RegistryError:
        return RegistryError(message, source=self.source, record=where, field=field)

    def read_xml(self, stream: IO[bytes]) -> None:
        for kind, row, index in xml_records(stream, self.error):
            if kind == "lei":
                self.lei_record(row, f"{index} (LEI {_shown(row.get('LEI'))})", xml=True)
            elif kind == "rr":
                self.relationship(row, f"{index}", xml=True)
            else:
                self.exception(row, f"{index} (LEI {_shown(row.get('LEI'))})", xml=True)

    def read_csv(self, stream: IO[bytes]) -> None:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        reader = csv.reader(bounded_lines(text, self.source), strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise self.error(None, None, "empty file: no GLEIF records")
            header = [h.strip() for h in header]
            repeated = next((h for n, h in enumerate(header) if h in header[:n]), None)
            if repeated is not None:
                raise self.error("line 1", repeated, "column appears twice in the header")
            handler = self.csv_handler(header)
            width = len(header)
            for values in reader:
                if not values or values == [""]:
                    continue
                where = f"line {reader.line_num}"
                if len(values) != width:
                    raise self.error(
                        where, None, f"expected {width} columns as in the header, got {len(values)}"
                    )
                handler(dict(zip(header, values, strict=True)), where)
        except csv.Error as e:
            raise self.error(f"line {reader.line_num}", None, f"malformed CSV: {e}") from None
        except UnicodeDecodeError as e:
            raise self.error(None, None, f"not UTF-8 text: {e}") from None
        finally:
            text.detach()

    def csv_handler(self, header: list[str]) -> Callable[[Row, str], None]:
        columns = set(header)
        if "Relationship.StartNode.NodeID" in columns:
            return lambda row, where: self.relationship(row, where, xml=False)
        if "Exception.Category" in columns and "LEI" in columns:
            return lambda row, where: self.exception(row, where, xml=False)
        if "LEI" in columns and any(c.startswith("Entity.") for c in columns):
            return lambda row, where: self.lei_record(row, where, xml=False)
        raise self.error(
            "line 1",
            None,
            "not a GLEIF golden-copy CSV: the header has none of LEI + Entity.*, "
            "Relationship.StartNode.NodeID, Exception.Category",
        )

    # --- records -----------------------------------------------------------------------------

    def required(self, row: Row, name: str, where: str, xml: bool, pattern: re.Pattern[str]) -> str:
        value = (row.get(name) or "").strip().upper()
        field = XML_FIELDS.get(name, name) if xml else name
        if not value:
            raise self.error(where, field, "is required")
        if not pattern.fullmatch(value):
            raise self.error(where, field, f"{_shown(value)!r} is not valid here")
        return value

    def lei_record(self, row: Row, where: str, *, xml: bool) -> None:
        lei = self.required(row, "LEI", where, xml, _LEI)
        status = (row.get("Registration.RegistrationStatus") or "").strip().upper()
        if status in _WITHDRAWN_LEI:
            self.builder.skip(f"LEI record {status.lower()}: names no real entity")
            self.withdrawn.add(lei)
            self.builder.remove_entity(lei)
            return
        self.withdrawn.discard(lei)
        jurisdiction = _code(row.get("Entity.LegalJurisdiction"))
        if jurisdiction is None:
            jurisdiction = _code(row.get("Entity.LegalAddress.Country"))
            if jurisdiction is not None:
                self.builder.note("jurisdiction from the legal address: LegalJurisdiction missing")
            else:
                self.builder.note("jurisdiction unknown: no usable LegalJurisdiction or address")
        headquarters = _code(row.get("Entity.HeadquartersAddress.Country"))
        if headquarters is None:
            self.builder.note("headquarters country unknown: left out")
        category = (row.get("Entity.EntityCategory") or "").strip().upper()
        name = (row.get("Entity.LegalName") or "").strip() or None
        self.builder.entity(
            lei,
            _ENTITY_TYPES.get(category, "company"),
            name=name,
            jurisdiction=jurisdiction,
            headquarters=headquarters,
        )

    def relationship(self, row: Row, where: str, *, xml: bool) -> None:
        child = self.required(row, "Relationship.StartNode.NodeID", where, xml, _WORD)
        parent = self.required(row, "Relationship.EndNode.NodeID", where, xml, _WORD)
        kind = self.required(row, "Relationship.RelationshipType", where, xml, _WORD)
        for end in ("StartNode", "EndNode"):
            id_type = (row.get(f"Relationship.{end}.NodeIDType") or "LEI").strip().upper()
            if id_type != "LEI":
                self.builder.skip("relationship node is not an LEI")
                return
        stores = {DIRECT: self.direct, ULTIMATE: self.ultimate, BRANCH: self.branch}
        store = stores.get(kind)
        if store is None:
            self.builder.skip(
                f"{kind}: {_NOT_OWNERSHIP.get(kind, 'relationship type is not ownership')}"
            )
            return
        status = (row.get("Relationship.RelationshipStatus") or "").strip().upper()
        registration = (row.get("Registration.RegistrationStatus") or "").strip().upper()
        period = relationship_period(row, self.builder.note)
        inactive = status == "INACTIVE" and period.end is None
        if inactive or registration in _WITHDRAWN_RR:
            reason = "inactive" if inactive else registration.lower()
            self.builder.skip(f"relationship {reason}: not current")
            store.get(child, {}).pop(parent, None)
            return
        if child == parent:
            self.builder.skip("relationship of an LEI to itself")
            return
        notes = f"GLEIF {kind}"
        if registration == "LAPSED":
            self.builder.note("relationship registration lapsed: kept (not re-validated)")
            notes += ", registration lapsed"
        amount = (row.get("Relationship.Quantifiers.1.QuantifierAmount") or "").strip()
        if amount:
            method = row.get("Relationship.Quantifiers.1.MeasurementMethod") or ""
            units = row.get("Relationship.Quantifiers.1.QuantifierUnits") or ""
            notes += f"; quantifier {method.strip()} {amount[:20]} {units.strip()}".rstrip()
        store.setdefault(child, {})[parent] = (notes, period)

    def exception(self, row: Row, where: str, *, xml: bool) -> None:
        self.required(row, "LEI", where, xml, _LEI)
        category = self.required(row, "Exception.Category", where, xml, _WORD)
        which = _CATEGORIES.get(category, category.lower())
        reasons = [
            v.strip().upper()
            for k, v in row.items()
            if k.startswith("Exception.Reason") and v and v.strip()
        ]
        for reason in reasons or ["REASON NOT GIVEN"]:
            shown = reason if _WORD.fullmatch(reason) or reason == "REASON NOT GIVEN" else "?"
            self.builder.note(f"{which} parent not reported: {shown}")

    # --- relationships, once every file is read ----------------------------------------------

    def finish(self) -> None:
        for child, parents in self.direct.items():
            for parent, (notes, period) in parents.items():
                self.emit(parent, child, None, notes, period)
        for child, parents in self.ultimate.items():
            for parent, (notes, period) in parents.items():
                if self.reaches(child, parent):
                    self.builder.skip("ultimate parent: implied by the chain of direct parents")
                    continue
                self.builder.note("ultimate parent not reached through direct parents: kept")
                notes += "; no direct chain to it in the data"
                self.emit(parent, child, None, notes, period)
        for branch, heads in self.branch.items():
            for head, (notes, period) in heads.items():
                notes += "; a branch is part of its head office"
                self.emit(head, branch, 100, notes, period)

    def reaches(self, child: str, target: str) -> bool:
        """Whether ``target`` is an ancestor of ``child`` through direct parents with no end
        date (a chain that ended says nothing about the ultimate parent after it)."""
        seen = {child}
        todo = [child]
        while todo:
            for parent, (_, period) in self.direct.get(todo.pop(), {}).items():
                if period.end is not None:
                    continue
                if parent == target:
                    return True
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return False

    def emit(
        self, parent: str, child: str, percent: float | None, notes: str, period: Period
    ) -> None:
        if parent in self.withdrawn or child in self.withdrawn:
            self.builder.skip("relationship names an annulled or duplicate LEI")
            return
        for lei in (parent, child):
            if not self.builder.has_entity(lei):
                self.builder.note("LEI without an LEI record in the input: jurisdiction unknown")
                self.builder.entity(
                    lei, "company", notes="named by a GLEIF relationship; no LEI record imported"
                )
        interest = "shares" if percent is not None else "consolidation"
        self.builder.holding(parent, child, percent, interest=interest, notes=notes, period=period)


def _code(text: str | None) -> str | None:
    """An ISO code as GLEIF gives it (``US-DE`` kept whole), if its country is a real one."""
    if text is None:
        return None
    value = text.strip().upper()
    if not _CODE.fullmatch(value):
        return None
    return value if normalise_country(value.split("-")[0]) is not None else None


def _shown(value: str | None) -> str:
    return "?" if value is None else value[:40]


@contextmanager
def _zip_members(path: Path) -> Iterator[Iterator[tuple[str, IO[bytes]]]]:
    """Each file in a golden-copy zip, opened for streaming."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise RegistryError(f"cannot read the zip file: {e}", source=str(path)) from e

    def members() -> Generator[tuple[str, IO[bytes]], None, None]:
        for info in archive.infolist():
            if info.is_dir():
                continue
            try:
                with archive.open(info) as stream:
                    yield info.filename, stream
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as e:
                raise RegistryError(
                    f"cannot read zip member {info.filename!r}: {e}", source=str(path)
                ) from e

    with archive, closing(members()) as opened:  # closing: a member read in part is closed
        yield opened

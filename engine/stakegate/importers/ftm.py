"""Import FollowTheMoney entity JSON lines, the format OpenSanctions exports.

Each line is one entity, ``{"id", "schema", "properties": {name: [values]}, "datasets"?,
"referents"?, ...}``, read with the strict JSON reader and through the ``followthemoney`` model
(schemata and their properties):

- ``LegalEntity`` and its descendants (``Person``, ``Company``, ``Organization``, ``PublicBody``,
  ...) become entities: ``person``, ``company``, ``state`` (a public body), or ``other``. Their
  code is the first of ``jurisdiction``, ``country``, ``nationality`` that has values. FtM writes
  ISO 3166 codes in lower case and adds codes of its own (``zz`` global, ``eu``, ``suhh``,
  ``ua-cri``...): only an assigned ISO 3166-1 alpha-2 or ISO 3166-2 code (and ``xk``, the
  user-assigned Kosovo code the policy may accept) is kept; any other code, or several different
  codes, leave the jurisdiction out (unknown, review), counted, never guessed.
- ``topics`` containing ``sanction`` make designations, one per entry of the entity's
  ``datasets`` (OpenSanctions' dataset names are the list ids: ``us_ofac_sdn``, ``eu_fsf``...).
  A ``Sanction`` record naming the entity in the same dataset gives that designation its
  ``program`` and dates (``startDate``, else ``listingDate``, is ``since``; ``endDate`` is
  ``until``); a ``Sanction`` with an ``endDate`` also records a past designation of an entity
  that no longer has the topic (a delisting, OFAC FAQ 402).
- ``Ownership`` records (``owner``, ``asset``, ``percentage``, ``startDate``, ``endDate``) become
  holdings with their dates as ``start``/``end``; several percentages are a band from the
  lowest to the highest; a missing one is a 0-100 band. Each record keeps its FtM id as
  ``interest_id``.
- Every other schema is skipped, counted.

Dates are kept, not applied: the registry decides what counts on the day decided for. A partial
date (``2022``, ``2022-03``) starts on its first day and ends on its last; one that cannot be read
is no date (a holding or designation with no start counts from always, with no end is still in
force: the reading that restricts more), noted. References to an entity's ``referents`` (ids
merged into it) are followed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Final, cast

import pycountry
from followthemoney import ValueEntity, model
from followthemoney.exc import InvalidData

from stakegate.errors import RegistryError
from stakegate.importers.base import Period, RegistryBuilder, date_span, json_lines

__all__ = ["import_files", "iso_code"]

# FtM writes dates as ISO 8601, possibly with a time; the date is the first ten characters.
_DATETIME: Final = re.compile(r"([0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?)(?:T[0-9:.+\-Z]*)?")
_PERCENT: Final = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%?\s*")
_COUNTRY_PROPS: Final = ("jurisdiction", "country", "nationality")
# FtM's user-assigned code for Kosovo; the policy knows it only when configured to.
_USER_ASSIGNED: Final = frozenset({"XK"})
_SANCTION_TOPIC: Final = "sanction"


@cache
def iso_code(value: str) -> str | None:
    """``value`` (an FtM country code) as an upper-case ISO 3166 code, or None when it is not an
    assigned ISO 3166-1 alpha-2 or ISO 3166-2 code (FtM's special codes) nor ``xk``."""
    code = value.strip().upper()
    if code in _USER_ASSIGNED:
        return code
    if re.fullmatch(r"[A-Z]{2}", code):
        return code if pycountry.countries.get(alpha_2=code) is not None else None
    if re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", code):
        found = cast(Any, pycountry.subdivisions).get(code=code)
        return code if found is not None else None
    return None


@dataclass(frozen=True, slots=True)
class _Sanction:
    datasets: tuple[str, ...]
    program: str | None
    since: date | None
    until: date | None


def import_files(paths: Sequence[Path], builder: RegistryBuilder) -> None:
    """Stream FtM JSON lines files into ``builder``."""
    importer = _FtmImporter(builder)
    for path in paths:
        importer.read(Path(path))
    importer.finish()


class _FtmImporter:
    __slots__ = (
        "builder",
        "canonical",
        "holdings",
        "sanctioned",
        "sanctions",
        "seen",
        "source",
    )

    def __init__(self, builder: RegistryBuilder) -> None:
        self.builder = builder
        self.source = ""
        self.canonical: dict[str, str] = {}  # referent id -> entity id
        self.holdings: list[tuple[str, str, Any, str, str | None, str | None]] = []
        self.sanctions: dict[str, list[_Sanction]] = {}  # entity id -> its Sanction records
        self.sanctioned: dict[str, tuple[str, ...]] = {}  # entity id -> datasets (topic)
        self.seen: dict[str, str] = {}  # entity id -> where it was read ("file, line n")

    def read(self, path: Path) -> None:
        self.source = str(path)
        lines = json_lines(
            path, "a FollowTheMoney line", "FollowTheMoney JSON lines, one entity per line"
        )
        for number, doc in lines:
            self.record(doc, number)

    def error(self, line: int, field: str | None, message: str) -> RegistryError:
        return RegistryError(message, source=self.source, record=f"line {line}", field=field)

    def entity_of(self, doc: dict[str, Any], line: int) -> ValueEntity:
        """The line as an FtM entity, its shape checked first (ids, schema, value lists)."""
        entity_id = doc.get("id")
        if not isinstance(entity_id, str) or not entity_id.strip():
            raise self.error(line, "id", "must be a non-blank string")
        name = doc.get("schema")
        if not isinstance(name, str) or model.get(name) is None:
            raise self.error(line, "schema", f"{name!r} is not a FollowTheMoney schema")
        properties = doc.get("properties", {})
        if not isinstance(properties, dict):
            raise self.error(line, "properties", "must be a mapping of property lists")
        schema = model.get(name)
        assert schema is not None
        for prop, values in properties.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise self.error(line, f"properties.{prop}", "must be a list of strings")
            if schema.get(prop) is None:
                self.builder.note(f"FtM property not in schema {name}: ignored")
        for key in ("datasets", "referents"):
            values = doc.get(key, [])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise self.error(line, key, "must be a list of strings")
        try:
            return ValueEntity.from_dict(doc)
        except InvalidData as e:  # the model's own refusal, with its reason
            raise self.error(line, None, f"not a FollowTheMoney entity: {e}") from None

    def record(self, doc: dict[str, Any], line: int) -> None:
        entity = self.entity_of(doc, line)
        schema = entity.schema
        assert entity.id is not None
        # A second line with one id is a fragment: keeping either, or merging them, could drop a
        # country or a sanction, so it is refused (OpenSanctions exports are aggregated).
        here = f"{self.source}, line {line}"
        first = self.seen.setdefault(entity.id, here)
        if first != here:
            raise self.error(
                line,
                "id",
                f"entity {entity.id!r} appears again (first at {first}); FollowTheMoney "
                "fragments must be aggregated into one line per entity first",
            )
        for referent in entity.referents:
            self.canonical[referent] = entity.id
        if schema.is_a("Ownership"):
            self.ownership(entity, line)
        elif schema.is_a("Sanction"):
            self.sanction(entity, line)
        elif schema.is_a("LegalEntity"):
            self.legal_entity(entity)
        else:
            self.builder.skip(f"FtM {schema.name}: not an owner or an owned entity")

    def legal_entity(self, entity: ValueEntity) -> None:
        schema = entity.schema
        assert entity.id is not None
        if schema.is_a("Person"):
            kind = "person"
        elif schema.is_a("PublicBody"):
            kind = "state"
        elif schema.is_a("Company"):
            kind = "company"
        else:
            kind = "other"
        names = entity.get("name", quiet=True)
        self.builder.entity(
            entity.id, kind, name=names[0] if names else None, jurisdiction=self.country(entity)
        )
        if _SANCTION_TOPIC in entity.get("topics", quiet=True):
            datasets = tuple(sorted(entity.datasets))
            if not datasets:
                self.builder.note("sanction topic without datasets: no list to record it on")
            self.sanctioned[entity.id] = datasets

    def country(self, entity: ValueEntity) -> str | None:
        for prop in _COUNTRY_PROPS:
            values = entity.get(prop, quiet=True)
            if not values:
                continue
            codes = {iso_code(v) for v in values}
            if None in codes:
                self.builder.note(
                    f"FtM {prop} code that is not an ISO 3166 code: left out, not guessed"
                )
                return None
            if len(codes) > 1:
                self.builder.note(f"several {prop} codes: left out, not chosen")
                return None
            return codes.pop()
        self.builder.note("no jurisdiction, country or nationality: jurisdiction unknown")
        return None

    def ownership(self, entity: ValueEntity, line: int) -> None:
        assert entity.id is not None
        owner = self.one(entity, "owner", line)
        asset = self.one(entity, "asset", line)
        percent = self.percent(entity.get("percentage", quiet=True), line)
        if percent == 0:
            self.builder.skip("Ownership with a percentage of 0")
            return
        start = self.day(entity.get("startDate", quiet=True), first=True, what="startDate")
        end = self.day(entity.get("endDate", quiet=True), first=False, what="endDate")
        if start is not None and end is not None and end < start:
            raise self.error(line, "properties.endDate", f"{end} is before startDate {start}")
        self.holdings.append((owner, asset, percent, entity.id, start, end))

    def one(self, entity: ValueEntity, prop: str, line: int) -> str:
        values = entity.get(prop, quiet=True)
        if len(values) != 1:
            raise self.error(line, f"properties.{prop}", f"needs exactly one {prop}")
        return values[0]

    def percent(self, values: list[str], line: int) -> Any:
        """None (not stated), a number, or a band of the stated values."""
        if not values:
            return None
        numbers: list[float] = []
        for value in values:
            match = _PERCENT.fullmatch(value)
            number = float(match.group(1)) if match else math.nan
            if not 0.0 <= number <= 100.0:
                raise self.error(
                    line, "properties.percentage", f"{value!r} is not a percentage in [0, 100]"
                )
            numbers.append(number)
        low, high = min(numbers), max(numbers)
        if low == high:
            return low
        self.builder.note("several percentages: recorded as a band from the lowest to the highest")
        return {"min": low, "max": high}

    def day(self, values: list[str], *, first: bool, what: str) -> str | None:
        """The earliest first day (``first``) or the latest last day of ``values``; None when
        absent or when one cannot be read (noted): no bound, the reading that restricts more."""
        days: list[date] = []
        for value in values:
            match = _DATETIME.fullmatch(value.strip())
            span = date_span(match.group(1)) if match else None
            if span is None:
                self.builder.note(f"unreadable {what}: left out (no bound)")
                return None
            days.append(span[0] if first else span[1])
        if not days:
            return None
        return (min(days) if first else max(days)).isoformat()

    def sanction(self, entity: ValueEntity, line: int) -> None:
        targets = entity.get("entity", quiet=True)
        if not targets:
            raise self.error(line, "properties.entity", "a Sanction must name its entity")
        since = self.day(
            entity.get("startDate", quiet=True) or entity.get("listingDate", quiet=True),
            first=True,
            what="startDate",
        )
        until = self.day(entity.get("endDate", quiet=True), first=False, what="endDate")
        if since is not None and until is not None and until <= since:
            raise self.error(line, "properties.endDate", f"{until} is not after {since}")
        programs = entity.get("program", quiet=True)
        record = _Sanction(
            tuple(sorted(entity.datasets)),
            programs[0] if programs else None,
            date.fromisoformat(since) if since else None,
            date.fromisoformat(until) if until else None,
        )
        for target in targets:
            self.sanctions.setdefault(target, []).append(record)

    def finish(self) -> None:
        """Designations and holdings, once every entity and referent is known."""
        by_entity: dict[str, list[_Sanction]] = {}
        for target, records in self.sanctions.items():
            by_entity.setdefault(self.canonical.get(target, target), []).extend(records)
        for entity_id in sorted(set(self.sanctioned) | set(by_entity)):
            designations = _designations(
                self.sanctioned.get(entity_id), by_entity.get(entity_id, [])
            )
            if not self.builder.has_entity(entity_id):
                self.builder.skip("Sanction of an entity not in the data")
                continue
            if designations:
                self.builder.designate(entity_id, designations)
        for owner, asset, percent, record_id, start, end in self.holdings:
            self.builder.holding(
                self.canonical.get(owner, owner),
                self.canonical.get(asset, asset),
                percent,
                interest_id=record_id,
                period=Period(
                    date.fromisoformat(start) if start else None,
                    date.fromisoformat(end) if end else None,
                ),
            )


def _designations(
    datasets: tuple[str, ...] | None, sanctions: list[_Sanction]
) -> list[dict[str, Any]]:
    """One designation per dataset of a sanctioned entity (refined by its Sanction records in
    that dataset), and one per ended Sanction record of a dataset it is no longer listed in."""
    out: list[dict[str, Any]] = []
    listed = datasets or ()
    for dataset in listed:
        records = [s for s in sanctions if dataset in s.datasets]
        if not records:
            out.append({"list": dataset})
        out += [_designation(dataset, s) for s in records]
    for record in sanctions:
        if record.until is None:
            continue
        out += [_designation(d, record) for d in record.datasets if d not in listed]
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for d in out:
        unique.setdefault(tuple(sorted(d.items())), d)
    return list(unique.values())


def _designation(dataset: str, record: _Sanction) -> dict[str, Any]:
    doc: dict[str, Any] = {"list": dataset}
    if record.program is not None:
        doc["program"] = record.program
    if record.since is not None:
        doc["since"] = record.since.isoformat()
    if record.until is not None:
        doc["until"] = record.until.isoformat()
    return doc

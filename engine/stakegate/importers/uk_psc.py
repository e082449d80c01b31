"""Import the UK Companies House "persons with significant control" (PSC) snapshot.

The snapshot is JSON lines: one object per line, ``{"company_number": ..., "data": {...}}``,
where ``data`` is a PSC (individual, corporate entity, legal person, super-secure), a statement,
or a totals line. Each PSC becomes an owner of ``GB-COH-<company_number>`` with the register's
bands, never a guessed number:

- ``ownership-of-shares-*`` (and an LLP's or partnership's surplus-asset rights, the nearest
  thing to shares there) -> a ``shares`` record with the statutory band. The bands follow the
  Register of People with Significant Control Regulations 2016 (SI 2016/339), Schedule 2:
  "more than 25% but not more than 50%", "more than 50% but less than 75%", "75% or more", and
  for overseas entities "more than 25%".
- ``voting-rights-*`` -> an ``interest: voting`` record with the same bands.
- ``right-to-appoint-and-remove-*`` and ``significant-influence-or-control*`` -> an
  ``interest: other`` record with an unknown share (0-100): control without a stated share. The
  rule is about ownership, so the policy decides how such control counts; recording it (rather
  than dropping it) lets a restricted controller give a review where it matters.
- Nominee statements for overseas entities' land are not control of the entity: skipped.

Owners: an individual is a ``person`` whose jurisdiction is the normalised country of residence;
a corporate entity is a ``company`` registered where ``identification`` says; a legal person
is a ``state`` when it names a government body, else ``other``. Owner ids come from the PSC's
own ``links.self`` id, so the same person listed on two companies is two owners: the snapshot
has no reliable key to merge people on, and a wrong merge would move one person's country to
another. A corporate PSC registered at Companies House is linked to that company's own id
(``GB-COH-<registration_number>``), so chains of UK companies connect.

Super-secure PSCs (identity withheld by law), statements and totals lines are skipped with
counted reasons; unknown countries are left out and counted, never guessed.

Dates: a PSC's records carry ``start`` = ``notified_on`` (the day the register was notified;
control may have begun a few weeks before) and ``end`` = ``ceased_on`` (it no longer counts from
that day), so one snapshot can be screened at any date. A PSC that says ``ceased: true`` without
a readable ``ceased_on`` has ended at a time the snapshot does not say: it is skipped, counted. A
date that is not YYYY-MM-DD (a bare month or year starts on its first day and ends on its last)
bounds nothing and is noted: dropping a PSC who still holds control could allow what should be
denied, while counting a ceased one cannot. With ``stakegate import --as-of`` only PSCs live on
that day are written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from stakegate.errors import RegistryError
from stakegate.importers.base import Period, RegistryBuilder, json_lines, read_period
from stakegate.importers.countries import normalise_country

__all__ = ["import_files", "nature_of_control"]

# Owned companies: Companies House numbers are 8 characters, a 2-letter prefix or digits.
COMPANY_PREFIX: Final = "GB-COH-"
_COMPANY_NUMBER: Final = re.compile(r"[A-Z0-9]{1,10}")
_CH_REGISTRATION: Final = re.compile(r"(?:[A-Z]{2}\d{6}|\d{1,8})")
# Overseas entities (OE...) are registered abroad: their country is not in the snapshot.
_OVERSEAS_ENTITY: Final = "OE"

_OWNER_KINDS: Final[dict[str, str]] = {
    "individual-person-with-significant-control": "person",
    "individual-beneficial-owner": "person",
    "corporate-entity-person-with-significant-control": "company",
    "corporate-entity-beneficial-owner": "company",
    "legal-person-person-with-significant-control": "legal-person",
    "legal-person-beneficial-owner": "legal-person",
}
_GOVERNMENT: Final = re.compile(
    r"\b(government|state|ministry|ministries|department|crown|sovereign|municipal(ity)?|"
    r"public body|federal|province|provincial)\b",
    re.IGNORECASE,
)

# Share bands by the register's band name; see the module docstring for the wording.
_BANDS: Final[dict[str, dict[str, Any]]] = {
    "25-to-50": {"min": 25, "max": 50, "min_exclusive": True},
    "50-to-75": {"min": 50, "max": 75, "min_exclusive": True, "max_exclusive": True},
    "75-to-100": {"min": 75, "max": 100},
    "more-than-25": {"min": 25, "max": 100, "min_exclusive": True},
}
_BANDED: Final = re.compile(
    r"(?P<what>ownership-of-shares|voting-rights|right-to-share-surplus-assets|"
    r"part-right-to-share-surplus-assets)-(?P<band>25-to-50|50-to-75|75-to-100|more-than-25)"
    r"-percent(?:-as-(?:trust|firm|control-over-trust|control-over-firm))?"
    r"(?:-limited-liability-partnership|-registered-overseas-entity)?"
)
_UNBANDED: Final = re.compile(
    r"(?:right-to-appoint-and-remove-(?:directors|members|person)|significant-influence-or-control)"
    r"(?:-as-(?:trust|firm|control-over-trust|control-over-firm))?"
    r"(?:-limited-liability-partnership|-registered-overseas-entity)?"
)
_INTEREST: Final = {
    "ownership-of-shares": "shares",
    "voting-rights": "voting",
    "right-to-share-surplus-assets": "shares",
    "part-right-to-share-surplus-assets": "shares",
}
_SLUG: Final = re.compile(r"[a-z0-9#-]{1,100}")
# The UK's own Companies Acts, which a corporate PSC often gives instead of a country.
_UK_STATUTE: Final = re.compile(
    r"(?:(?:the )?(?:uk|united kingdom) )?(?:the )?companies act,? (?:1985|2006)", re.IGNORECASE
)
# Distinct unrecognised country spellings named in the report; the rest are counted together.
MAX_NAMED_UNKNOWN: Final = 20


def nature_of_control(nature: str) -> tuple[str, dict[str, Any] | None] | None:
    """``(interest, band)`` for one ``natures_of_control`` value; band ``None`` means the share
    is not stated; ``None`` for a value that is not control of the company."""
    banded = _BANDED.fullmatch(nature)
    if banded:
        return _INTEREST[banded["what"]], dict(_BANDS[banded["band"]])
    if _UNBANDED.fullmatch(nature):
        return "other", None
    return None


def import_files(paths: Sequence[Path], builder: RegistryBuilder) -> None:
    """Stream PSC snapshot files (JSON lines) into ``builder``."""
    importer = _PscImporter(builder)
    for path in paths:
        importer.read(Path(path))


class _PscImporter:
    __slots__ = ("builder", "source", "unknown_spellings")

    def __init__(self, builder: RegistryBuilder) -> None:
        self.builder = builder
        self.source = ""
        self.unknown_spellings: set[str] = set()

    def read(self, path: Path) -> None:
        self.source = str(path)
        lines = json_lines(
            path, "a PSC snapshot line", "a PSC snapshot: JSON lines, one complete record per line"
        )
        for number, doc in lines:
            self.record(doc, number)

    def error(self, line: int, field: str | None, message: str) -> RegistryError:
        return RegistryError(message, source=self.source, record=f"line {line}", field=field)

    def record(self, rec: dict[str, Any], line: int) -> None:
        data = rec.get("data")
        if not isinstance(data, dict):
            raise self.error(line, "data", "must be a mapping (the PSC or statement)")
        kind = data.get("kind")
        if not isinstance(kind, str) or not kind:
            raise self.error(line, "data.kind", "must be a non-empty string")
        if kind.startswith("totals#"):
            self.builder.skip("snapshot totals line")
            return
        company = self.company_number(rec, line)
        if "statement" in kind:
            statement = data.get("statement")
            shown = statement if isinstance(statement, str) and _SLUG.fullmatch(statement) else "?"
            self.builder.skip(f"PSC statement, no person named: {shown}")
            return
        if kind.startswith("super-secure"):
            self.builder.skip("super-secure PSC: identity withheld by law")
            return
        if "exemption" in kind:
            self.builder.skip("PSC exemption")
            return
        owner_kind = _OWNER_KINDS.get(kind)
        if owner_kind is None:
            shown = kind if _SLUG.fullmatch(kind) else "?"
            self.builder.skip(f"unknown PSC kind: {shown}")
            return
        period = self.period(data)
        if period is None:
            self.builder.skip("ceased PSC without a readable ceased_on date")
            return
        as_of = self.builder.as_of
        if as_of is not None and not period.is_live(as_of):
            began = period.start is None or period.start <= as_of
            self.builder.skip("ceased PSC" if began else "PSC notified after the as-of date")
            return
        natures = data.get("natures_of_control")
        if not isinstance(natures, list) or not all(isinstance(n, str) for n in natures):
            raise self.error(line, "data.natures_of_control", "must be a list of strings")
        interests = self.interests(natures)
        if not interests:
            self.builder.skip("PSC with no nature of control that concerns the company")
            return
        owned = COMPANY_PREFIX + company
        self.owned_company(owned, company)
        owner = self.owner(data, owner_kind, company, line)
        if owner == owned:
            self.builder.skip("PSC names the company itself")
            return
        for interest, band in interests.items():
            self.builder.holding(owner, owned, band, interest=interest, period=period)
        for counted in period.notes:
            self.builder.note(counted)

    def period(self, data: Mapping[str, Any]) -> Period | None:
        """From ``notified_on`` to ``ceased_on``; ``None`` for a PSC that ceased at a time the
        record does not say (see the module docstring)."""
        period = read_period(
            data.get("notified_on"), data.get("ceased_on"), "notified_on", "ceased_on"
        )
        if data.get("ceased") is True and period.end is None:
            return None
        return period

    def company_number(self, rec: Mapping[str, Any], line: int) -> str:
        value = rec.get("company_number")
        if not isinstance(value, str):
            raise self.error(line, "company_number", "must be a string")
        number = value.strip().upper()
        if not _COMPANY_NUMBER.fullmatch(number):
            raise self.error(line, "company_number", f"{value!r} is not a company number")
        return number

    def interests(self, natures: list[str]) -> dict[str, dict[str, Any] | None]:
        """One band per interest: of several statements of one interest (held directly and
        as a trustee, say) each is a lower bound, so the one with the highest floor is kept."""
        out: dict[str, dict[str, Any] | None] = {}
        for nature in natures:
            parsed = nature_of_control(nature)
            if parsed is None:
                if nature.startswith("registered-owner-as-nominee"):
                    self.builder.skip("nature of control: nominee for land, not control")
                else:
                    self.builder.skip("nature of control not recognised")
                continue
            interest, band = parsed
            if interest not in out or _floor(band) > _floor(out[interest]):
                out[interest] = band
        return out

    def owned_company(self, entity_id: str, number: str) -> None:
        if self.builder.has_entity(entity_id):
            return
        if number.startswith(_OVERSEAS_ENTITY):
            self.builder.note("overseas entity: country of registration not in the snapshot")
            self.builder.entity(entity_id, "company")
        else:
            self.builder.entity(entity_id, "company", jurisdiction="GB")

    def owner(self, data: Mapping[str, Any], owner_kind: str, company: str, line: int) -> str:
        name = data.get("name") if isinstance(data.get("name"), str) else None
        ident = data.get("identification")
        ident = ident if isinstance(ident, dict) else {}
        headquarters = self.address_country(data)
        if owner_kind == "person":
            owner_id = self.psc_id(data, company, line)
            residence = self.country(data.get("country_of_residence"), "person's residence")
            self.builder.entity(owner_id, "person", name=name, jurisdiction=residence)
            return owner_id
        if owner_kind == "company":
            linked = _companies_house_id(ident)
            owner_id = linked or self.psc_id(data, company, line)
            jurisdiction = "GB" if linked else self.registered_country(ident)
            self.builder.entity(
                owner_id, "company", name=name, jurisdiction=jurisdiction, headquarters=headquarters
            )
            return owner_id
        owner_id = self.psc_id(data, company, line)
        words = " ".join(str(v) for v in (name, ident.get("legal_form")) if isinstance(v, str))
        entity_type = "state" if _GOVERNMENT.search(words) else "other"
        self.builder.entity(
            owner_id,
            entity_type,
            name=name,
            jurisdiction=self.registered_country(ident),
            headquarters=headquarters,
        )
        return owner_id

    def psc_id(self, data: Mapping[str, Any], company: str, line: int) -> str:
        links = data.get("links")
        link = links.get("self") if isinstance(links, dict) else None
        if isinstance(link, str) and link.strip("/"):
            return f"{COMPANY_PREFIX}{company}/psc/{link.rstrip('/').rsplit('/', 1)[-1]}"
        etag = data.get("etag")
        if isinstance(etag, str) and etag:
            return f"{COMPANY_PREFIX}{company}/psc-etag/{etag}"
        raise self.error(line, "data.links.self", "a PSC needs links.self (or etag) to name it")

    def registered_country(self, ident: Mapping[str, Any]) -> str | None:
        """Where a corporate or legal person is registered, from the first field that names a
        country: ``country_registered``, ``legal_authority`` ("People's Republic Of China"),
        ``place_registered``."""
        texts = [
            ident.get(k) for k in ("country_registered", "legal_authority", "place_registered")
        ]
        stated = [t for t in texts if isinstance(t, str) and t.strip()]
        for text in stated:
            code = normalise_country(text)
            if code is not None:
                return code
        authority = ident.get("legal_authority")
        if isinstance(authority, str) and _UK_STATUTE.fullmatch(authority.strip()):
            self.builder.note("jurisdiction from legal_authority naming a UK Companies Act: GB")
            return "GB"
        self.unknown_country(stated[0] if stated else None, "corporate registration")
        return None

    def address_country(self, data: Mapping[str, Any]) -> str | None:
        for key in ("principal_office_address", "address"):
            address = data.get(key)
            if isinstance(address, dict) and isinstance(address.get("country"), str):
                return normalise_country(address["country"])
        return None

    def country(self, text: object, what: str) -> str | None:
        code = normalise_country(text) if isinstance(text, str) else None
        if code is None:
            self.unknown_country(text if isinstance(text, str) else None, what)
        return code

    def unknown_country(self, text: str | None, what: str) -> None:
        if text is None or not text.strip():
            self.builder.note(f"country not stated ({what}): left out, jurisdiction unknown")
            return
        shown = text.strip()[:60]
        if shown in self.unknown_spellings or len(self.unknown_spellings) < MAX_NAMED_UNKNOWN:
            self.unknown_spellings.add(shown)
            label = repr(shown)
        else:
            label = "other spellings"
        self.builder.note(f"country not recognised ({what}): {label}; left out, not guessed")


def _floor(band: Mapping[str, Any] | None) -> tuple[float, bool]:
    if band is None:
        return (-1.0, False)
    return (float(band["min"]), bool(band.get("min_exclusive", False)))


def _companies_house_id(ident: Mapping[str, Any]) -> str | None:
    """``GB-COH-<number>`` for a corporate PSC registered at Companies House, else ``None``."""
    place = ident.get("place_registered")
    number = ident.get("registration_number")
    if not (isinstance(place, str) and isinstance(number, str)):
        return None
    folded = place.casefold()
    if "companies house" not in folded and "registrar of companies" not in folded:
        return None
    compact = re.sub(r"\s+", "", number).upper()
    if not _CH_REGISTRATION.fullmatch(compact):
        return None
    return COMPANY_PREFIX + (compact.zfill(8) if compact.isdigit() else compact)

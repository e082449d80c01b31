"""Read one BODS statement (0.2, 0.3 or 0.4) into a version-neutral record, or fail precisely.

BODS 0.4 wraps each record in ``recordId``/``recordType``/``recordDetails``; 0.2 and 0.3 put the
fields on the statement itself (``statementID``, ``statementType``,
``describedByEntityStatement``, ``incorporatedInJurisdiction``, ``interestLevel``). The shapes
of the parts both versions share (names, countries, interests, shares) are told apart by their
JSON types, not by the declared version, so that an older file labelled with a newer version
(or not labelled at all, like the Open Ownership Register's pre-0.3 exports) still reads right.

Anything this module cannot read is an error naming the file, line, statement and field; data
that is merely incomplete (no share, an unknown country) is read as unknown and noted. An
interest's ``startDate`` and ``endDate`` become its period (``base.read_period``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from stakegate.importers.base import Period, read_period
from stakegate.importers.countries import normalise_country
from stakegate.importers.fields import (
    Where,
    dicts,
    field_path,
    optional_dict,
    optional_str,
    percent,
    required_str,
    show,
    str_list,
    value_list,
)
from stakegate.ownership.interval import Interval
from stakegate.registry.check import registry_schema

__all__ = ["Interest", "Party", "Relationship", "parse_party", "parse_relationship"]

Note = Callable[[str], None]

# BODS entity types (0.2-0.4) to native types. Arrangements (trusts, joint holdings) and
# anonymous or unknown entities are "other": they have no country of their own to speak of.
ENTITY_TYPES: Final = {
    "registeredEntity": "company",
    "legalEntity": "company",
    "arrangement": "other",
    "anonymousEntity": "other",
    "unknownEntity": "other",
    "state": "state",
    "stateBody": "state",
}
# Interest types, compared without case, '-' or '_' (0.2 wrote "voting-rights", 0.3+
# "votingRights"). A type that says nothing about its nature is "untyped": it may be a
# shareholding, so it is treated as one of unknown size rather than dropped.
INTEREST_KINDS: Final = {
    "shareholding": "shares",
    "votingrights": "voting",
    "unknowninterest": "untyped",
    "unpublishedinterest": "untyped",
}


@dataclass(slots=True)
class Party:
    """An entity or person statement: the fields the native registry keeps, its ``notes``, and
    the report notes it ``counts`` once it is known to be live (not replaced later)."""

    type: str
    name: str | None
    jurisdiction: str | None
    headquarters: str | None = None
    notes: list[str] = field(default_factory=list)
    counts: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Interest:
    """One interest of a relationship; ``share`` ``None`` means not stated. ``period`` is when it
    counts, with the report notes for dates it could not read (noted once the interest is known
    to become a holding)."""

    kind: str  # shares | voting | untyped | other
    label: str  # the BODS type as written, for reasons
    level: str  # direct | indirect | unknown (directOrIndirect, or interestLevel before 0.3)
    share: Interval | None
    period: Period = Period()


@dataclass(frozen=True, slots=True)
class Relationship:
    """A relationship statement; ``subject``/``party`` ``None`` when unspecified (``unspecified``
    then says why)."""

    subject: str | None
    party: str | None
    unspecified: str | None
    interests: tuple[Interest, ...]
    components: tuple[str, ...]
    where: Where = field(compare=False)
    interests_field: str = field(compare=False, default="interests")


# --- countries ------------------------------------------------------------------------------


@cache
def _code_pattern() -> re.Pattern[str]:
    """The native registry's country/subdivision code pattern, from its schema."""
    return re.compile(registry_schema()["$defs"]["code"]["pattern"])


def _country(
    value: object, where: Where, path: str, what: str, note: Note, notes: list[str]
) -> str | None:
    """A BODS country or jurisdiction (``{name, code}``, or a bare code before 0.4) as a code.

    A code in ISO form is kept as given (ISO 3166-2 subdivisions included); otherwise the code
    or name is looked up exactly; otherwise the country is unknown, noted on the record.
    """
    code: str | None
    name: str | None
    if isinstance(value, str):
        code, name = value, None
    elif isinstance(value, dict):
        code = optional_str(value, "code", where, path)
        name = optional_str(value, "name", where, path)
    else:
        raise where.error(path, f"must be an object with 'name' and 'code', got {show(value)}")
    if code and _code_pattern().fullmatch(code.strip()):
        return sys.intern(code.strip().upper())
    for text in (code, name):
        found = normalise_country(text) if text else None
        if found:
            note("country without an ISO code: taken from its name")
            return found
    if code or name:
        note("unknown country: left unknown (review where it matters)")
        notes.append(f"BODS {what} {name or code!r} is not a recognised country")
    return None


def _address_countries(
    obj: Mapping[str, Any], where: Where, path: str, types: tuple[str, ...], note: Note
) -> list[str]:
    out = []
    for i, address in enumerate(dicts(obj, "addresses", where, path)):
        if address.get("type") in types and address.get("country") is not None:
            p = f"{field_path(path, 'addresses')}[{i}].country"
            code = _country(address["country"], where, p, "address country", note, [])
            if code:
                out.append(code)
    return out


# --- entities and persons -------------------------------------------------------------------


def parse_party(kind: str, d: Mapping[str, Any], where: Where, path: str) -> Party:
    """An entity (``kind`` "entity") or person record's details."""
    counts: list[str] = []
    party = _person(d, where, path, counts.append) if kind == "person" else None
    party = party or _entity(d, where, path, counts.append)
    party.counts = counts
    return party


def _entity(d: Mapping[str, Any], where: Where, path: str, note: Note) -> Party:
    entity_type = d.get("entityType")
    if isinstance(entity_type, dict):  # 0.4: {"type": ..., "subtype": ...}
        entity_type = optional_str(entity_type, "type", where, field_path(path, "entityType"))
    elif entity_type is not None and not isinstance(entity_type, str):
        raise where.error(
            field_path(path, "entityType"), f"must be a string, got {show(entity_type)}"
        )
    native = ENTITY_TYPES.get(entity_type or "")
    if native is None:
        note(f"entity type {entity_type or 'not given'}: imported as other")
    party = Party(native or "other", optional_str(d, "name", where, path), None)
    key = "jurisdiction" if d.get("jurisdiction") is not None else "incorporatedInJurisdiction"
    if d.get(key) is None:
        note("entity without a jurisdiction: left unknown (review where it matters)")
    else:
        party.jurisdiction = _country(
            d[key], where, field_path(path, key), "jurisdiction", note, party.notes
        )
    # A business address is where the entity operates: its headquarters for the rule.
    business = _address_countries(d, where, path, ("business",), note)
    party.headquarters = business[0] if business else None
    return party


def _person(d: Mapping[str, Any], where: Where, path: str, note: Note) -> Party:
    """Persons count by country of residence: the residence address, else the first tax
    residency, else the first nationality; the other countries go to notes."""
    countries: list[tuple[str, str]] = []
    residence = d.get("placeOfResidence")
    if isinstance(residence, dict) and residence.get("country") is not None:
        p = f"{field_path(path, 'placeOfResidence')}.country"
        code = _country(residence["country"], where, p, "residence", note, [])
        countries += [("residence", code)] if code else []
    countries += [
        ("residence", c) for c in _address_countries(d, where, path, ("residence",), note)
    ]
    notes: list[str] = []
    for key, what in (("taxResidencies", "tax residency"), ("nationalities", "nationality")):
        for i, item in enumerate(value_list(d, key, where, path)):
            code = _country(item, where, f"{field_path(path, key)}[{i}]", what, note, notes)
            countries += [(what, code)] if code else []
    jurisdiction = countries[0][1] if countries else None
    others = sorted({f"{code} ({what})" for what, code in countries if code != jurisdiction})
    if jurisdiction is None:
        note("person without residence, tax residency or nationality: jurisdiction unknown")
    elif others:
        note("person with several countries: residence, tax residency, nationality in that order")
        notes.append(f"BODS also gives {', '.join(others)}")
    return Party("person", _person_name(d, where, path), jurisdiction, None, notes)


def _person_name(d: Mapping[str, Any], where: Where, path: str) -> str | None:
    for i, name in enumerate(dicts(d, "names", where, path)):
        p = f"{field_path(path, 'names')}[{i}]"
        full = optional_str(name, "fullName", where, p)
        parts = [optional_str(name, k, where, p) for k in ("givenName", "familyName")]
        text = full or " ".join(x for x in parts if x)
        if text:
            return text
    return None


# --- relationships --------------------------------------------------------------------------


def _reference(d: Mapping[str, Any], key: str, where: Where, path: str) -> tuple[str | None, str]:
    """``(record id, "")``, or ``(None, why)`` for an unspecified party or subject."""
    value = d.get(key)
    p = field_path(path, key)
    # Ids are interned: the same id appears in every relationship naming the record.
    if isinstance(value, str) and value:  # 0.4
        return sys.intern(value), ""
    if isinstance(value, dict):
        for described in ("describedByEntityStatement", "describedByPersonStatement"):
            if value.get(described) is not None:
                return sys.intern(required_str(value, described, where, p)), ""
        unspecified = value.get("unspecified", value)  # 0.2/0.3 wrap it, 0.4 does not
        if isinstance(unspecified, dict) and unspecified.get("reason") is not None:
            reason = optional_str(unspecified, "reason", where, p)
            text = optional_str(unspecified, "description", where, p)
            return None, f"{reason}: {text}" if text else str(reason)
    raise where.error(p, "must name a statement or record, or give an unspecified reason")


def parse_relationship(d: Mapping[str, Any], where: Where, path: str) -> Relationship:
    """A relationship (ownership-or-control statement) record's details."""
    subject, why_subject = _reference(d, "subject", where, path)
    party, why_party = _reference(d, "interestedParty", where, path)
    unspecified = None
    if subject is None:
        unspecified = f"subject unspecified ({why_subject})"
    elif party is None:
        unspecified = f"interested party unspecified ({why_party})"
    interests = tuple(
        _interest(item, where, f"{field_path(path, 'interests')}[{i}]")
        for i, item in enumerate(dicts(d, "interests", where, path))
    )
    key = "componentRecords" if d.get("componentRecords") is not None else "componentStatementIDs"
    components = tuple(str_list(d, key, where, path))
    return Relationship(
        subject, party, unspecified, interests, components, where, field_path(path, "interests")
    )


def _interest(d: Mapping[str, Any], where: Where, path: str) -> Interest:
    label = optional_str(d, "type", where, path)
    key = label.replace("-", "").replace("_", "").lower() if label else "unknowninterest"
    kind = INTEREST_KINDS.get(key, "other")
    level = optional_str(d, "directOrIndirect", where, path) or optional_str(
        d, "interestLevel", where, path
    )
    share = _share(optional_dict(d, "share", where, path), where, field_path(path, "share"))
    # A start date only ever narrows when an interest counts, so one of the wrong type is only
    # noted (as unreadable); an end date of the wrong type is an error, like any field.
    end = optional_str(d, "endDate", where, path)
    period = read_period(d.get("startDate"), end, "startDate", "endDate")
    return Interest(kind, label or "untyped", level or "unknown", share, period)


def _share(d: Mapping[str, Any], where: Where, path: str) -> Interval | None:
    """``exact``, or a band from ``minimum``/``maximum`` and their exclusive forms.

    Before 0.4 ``exclusiveMinimum``/``exclusiveMaximum`` are booleans marking ``minimum``/
    ``maximum`` as strict; from 0.4 they are numbers, strict bounds in their own right. A
    missing bound is 0 or 100; a share with no number at all is unknown (``None``).
    """
    exact = percent(d, "exact", where, path)
    if exact is not None:
        return Interval.exact(exact)
    low = _bound(d, "minimum", "exclusiveMinimum", where, path, max)
    high = _bound(d, "maximum", "exclusiveMaximum", where, path, min)
    if low is None and high is None:
        return None
    lo, lo_x = low or (0.0, False)
    hi, hi_x = high or (100.0, False)
    if lo > hi or (lo == hi and (lo_x or hi_x)):
        raise where.error(path, f"no share fits: the minimum {lo:g} is above the maximum {hi:g}")
    return Interval(lo, hi, lo_x, hi_x)


def _bound(
    d: Mapping[str, Any],
    key: str,
    exclusive_key: str,
    where: Where,
    path: str,
    tighter: Callable[[float, float], float],
) -> tuple[float, bool] | None:
    """One side of a band as ``(value, exclusive)``; the tighter bound when both are given."""
    value = percent(d, key, where, path)
    flag = d.get(exclusive_key)
    if isinstance(flag, bool) or flag is None:  # before 0.4: marks ``key`` as exclusive
        return None if value is None else (value, bool(flag))
    strict = percent(d, exclusive_key, where, path)
    assert strict is not None
    if value is None or tighter(value, strict) == strict:
        return strict, True
    return value, False

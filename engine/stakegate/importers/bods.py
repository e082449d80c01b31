"""Import Beneficial Ownership Data Standard (BODS) 0.2, 0.3 and 0.4 into the native registry.

BODS publishes *statements* about entities, persons and relationships, in order, and later
statements update or close earlier ones. The rule needs only the current picture, so this
module replays the statements (streamed: JSON array or JSON lines, see ``jsonstream``), keeps
the live record of each, and writes the native registry at the end. How BODS maps, and why:

* **Ids** are the BODS ``recordId`` (0.4) or ``statementID`` (0.2/0.3) of the entity or person
  statement, so every decision traces back to the source.
* **Types**: registeredEntity and legalEntity are companies; state and stateBody are states
  (a state body counts by its country, like its state); arrangement, anonymousEntity and
  unknownEntity are "other". Persons are persons.
* **Countries**: an entity's ``jurisdiction.code`` (0.4) or ``incorporatedInJurisdiction.code``
  (0.2/0.3), ISO 3166-2 subdivisions kept (``US-DE``); a name without a usable code is looked up
  exactly (``countries``); otherwise the jurisdiction is left unknown and noted, never guessed.
  The country of a ``business`` address is the headquarters. A person's jurisdiction is their
  residence (``placeOfResidence`` or a ``residence`` address), else the first tax residency,
  else the first nationality: the rule counts persons by residence, and nationality is the
  weakest proxy. Other countries given for the person are kept in the entity's ``notes``.
* **Shares**: ``shareholding`` interests become ownership records. ``exact`` is a number;
  ``minimum``/``maximum`` with their exclusive forms (booleans before 0.4, numbers from 0.4)
  are a band; no share at all is unknown (the builder's 0-100 band). An interest with no type
  (or ``unknownInterest``/``unpublishedInterest``), and a relationship with no interests, may
  be a shareholding, so it is one of unknown size, not nothing. ``votingRights`` and control
  interests are written as ``interest: voting`` / ``other`` when the registry schema has that
  field, else skipped with a counted reason. Several shareholding interests in one relationship
  are added (share classes); several live relationships for the same owner and owned are
  merged into the band covering each. An exact share of 0 is skipped (a native share is more
  than 0).
* **Dates** are kept: an interest's ``startDate`` and ``endDate`` become the ``start`` and
  ``end`` of its ownership records (it no longer counts from its ``endDate``), so one import
  can be screened at any date. Where the claims of one holding overlap in time (share classes
  with their own dates, two relationships for one owner and owned), the history is cut at each
  date and each piece gets one record with the share of the claims live on it
  (``periods.share_history``): records of one holding never overlap. BODS allows a month
  (``YYYY-MM``) or a year (``YYYY``) for a date: a start counts from the first day of it, an
  end ends on its last day, which keeps the interest live longest. A date that is not such a
  date bounds nothing, and an ``endDate`` before the ``startDate`` is no end: the interest is
  counted and noted, never dropped. With ``stakegate import --as-of`` only what is live on that
  day is written; interests that ended by then, or begin after it, are counted as skipped.
* **Updates**: statements apply in file order (files in the order given). In 0.4 a statement
  replaces the earlier one of its ``recordId``. A record closed by ``recordStatus: closed`` is
  history: the closing statement's details are kept, and the holdings of a closed relationship,
  or of one naming a closed entity or person, end on the closing statement's ``statementDate``
  at the latest (the day after it when a time of day is given). A closing statement without a
  readable ``statementDate`` cannot be dated: the record and every relationship naming it are
  left out, counted. In 0.2/0.3 ``replacesStatements`` removes the named statements; a replaced
  entity or person statement's id then points to its replacement.
* **Indirect ownership**: a relationship with ``componentRecords`` (0.4) or
  ``componentStatementIDs`` (0.3) is the primary declaration of an indirect holding whose
  chain is given by its component relationships. The components become ownership records; the
  primary's interests do not, unless stated ``direct`` (it would count the same shares twice:
  an interest of ``unknown`` level on a primary is taken as the indirect one). When the chain
  rebuilt from the components (look-through, shares multiplied along paths) does not give the
  declared share, the declaration is kept as evidence in the owned entity's ``notes`` and
  counted in the report. An indirect interest with no components in the input is kept as an
  ownership record (the best knowledge there is) and counted.
* **Unspecified parties** (unknown, exempt, not provided) carry no identity or country, so they
  are no ownership record; they are counted and noted on the owned entity.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

from stakegate.heap import collector_paused
from stakegate.importers.base import Period, RegistryBuilder
from stakegate.importers.bods_parse import (
    Interest,
    Party,
    Relationship,
    parse_party,
    parse_relationship,
)
from stakegate.importers.fields import Where, optional_dict, optional_str, required_str, str_list
from stakegate.importers.jsonstream import JsonItem, iter_json_items
from stakegate.importers.periods import Group, add_up, ended_by, share_history, statement_day
from stakegate.importers.shares import describe_share, native_percent, near
from stakegate.ownership.interval import Interval
from stakegate.registry.check import registry_schema

__all__ = ["import_files"]

_STATEMENT_TYPES: Final = {
    "entityStatement": "entity",
    "personStatement": "person",
    "ownershipOrControlStatement": "relationship",
}
_STATUSES: Final = ("new", "updated", "closed")
# How closely a share rebuilt from components must match the declared one (float noise only).
_REBUILD_TOLERANCE: Final = 1e-6
_UNKNOWN: Final = Interval(0.0, 100.0)
# A relationship that states no interests at all: some interest of unknown kind and size.
_UNSTATED: Final = Interest("untyped", "unstated", "unknown", None)
_Key = tuple[str, str, str]  # owner, owned, interest


def import_files(paths: Sequence[Path], builder: RegistryBuilder) -> None:
    """Stream BODS statements from ``paths`` (JSON arrays or JSON lines) into ``builder``."""
    replay = _Replay(builder, interest_kinds())
    with collector_paused():  # millions of small, acyclic objects (stakegate.heap)
        for path in paths:
            for item in iter_json_items(path):
                replay.statement(item, str(path))
        replay.finish()


def interest_kinds() -> frozenset[str]:
    """The ``interest`` values the registry schema accepts; only shares before it had one."""
    schema = registry_schema()
    spec: Any = schema["$defs"]["holding"]["properties"].get("interest")
    if isinstance(spec, dict) and isinstance(spec.get("$ref"), str):
        spec = schema["$defs"].get(spec["$ref"].rsplit("/", 1)[-1])
    values = spec.get("enum") if isinstance(spec, dict) else None
    return frozenset(values) if isinstance(values, list) else frozenset({"shares"})


class _Replay:
    """The live records of a statement stream: what is left once updates and closures apply."""

    __slots__ = ("aliases", "builder", "closed", "kinds", "parties", "relationships", "repeats")

    def __init__(self, builder: RegistryBuilder, kinds: frozenset[str]) -> None:
        self.builder = builder
        self.kinds = kinds
        self.parties: dict[str, Party] = {}
        self.relationships: dict[str, Relationship] = {}
        # Closed records -> the day they ended by (None: the closing statement has no date).
        self.closed: dict[str, date | None] = {}
        # 0.2/0.3: a replaced entity or person statement id -> the statement replacing it.
        self.aliases: dict[str, str] = {}
        # 0.2/0.3: statement ids seen more than once with different content, and how often.
        self.repeats: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<_Replay parties={len(self.parties)} relationships={len(self.relationships)}>"

    # --- reading ---------------------------------------------------------------------------

    def statement(self, item: JsonItem, source: str) -> None:
        s = item.value
        where = Where(source, item.line, item.index)
        if not isinstance(s, dict):
            raise where.error(None, "a BODS statement must be a JSON object")
        sid = s.get("statementId", s.get("statementID"))
        where = Where(source, item.line, item.index, sid if isinstance(sid, str) else None)
        if "recordType" in s or "recordDetails" in s or "recordId" in s:
            self._record(s, where)
        elif "statementType" in s:
            self._statement(s, where)
        else:
            raise where.error(
                "recordType", "is required (or statementType, before BODS 0.4): not a statement"
            )

    def _record(self, s: dict[str, Any], where: Where) -> None:
        """A BODS 0.4 statement: the latest statement of each ``recordId`` is the record."""
        rid = sys.intern(required_str(s, "recordId", where, ""))
        record_type = required_str(s, "recordType", where, "")
        status = optional_str(s, "recordStatus", where, "")
        if status is not None and status not in _STATUSES:
            raise where.error("recordStatus", f"{status!r} is not one of: {', '.join(_STATUSES)}")
        if s.get("recordDetails") is None:
            raise where.error("recordDetails", "is required")
        details = optional_dict(s, "recordDetails", where, "")
        if record_type not in ("entity", "person", "relationship"):
            self.builder.skip(f"recordType {record_type[:40]!r} is not entity/person/relationship")
            return
        if self._drop(rid):
            self.builder.skip("statement replaced by a later statement of its record")
        if status == "closed":
            self.closed[rid] = day = statement_day(s.get("statementDate"))
            if day is None:
                self.builder.skip("record closed by a statement without a readable date")
                return
        else:
            self.closed.pop(rid, None)
        if record_type == "relationship":
            self.relationships[rid] = parse_relationship(details, where, "recordDetails")
        else:
            self.parties[rid] = parse_party(record_type, details, where, "recordDetails")

    def _statement(self, s: dict[str, Any], where: Where) -> None:
        """A BODS 0.2/0.3 statement: ids never repeat; ``replacesStatements`` retires others."""
        sid = sys.intern(required_str(s, "statementID", where, ""))
        kind = _STATEMENT_TYPES.get(required_str(s, "statementType", where, ""))
        replaces = str_list(s, "replacesStatements", where, "")
        if kind is None:
            self.builder.skip("statementType is not an entity, person or ownership statement")
            return
        for old in replaces:
            if old == sid:
                continue
            if self._drop(old):
                self.builder.skip("statement replaced by a later statement (replacesStatements)")
            else:
                self.builder.note("replacesStatements names a statement not in the input")
            if kind != "relationship":
                self.aliases[old] = sid
        if kind != "relationship":
            if self._drop(sid):
                self.builder.skip("statement replaced by a later statement of its record")
            self.parties[sid] = parse_party(kind, s, where, "")
            return
        relationship = parse_relationship(s, where, "")
        known = self.relationships.get(sid)
        if known is None:
            self.relationships[sid] = relationship
        elif known == relationship:
            self.builder.skip("statement repeated")
        else:  # two different statements under one id: a publisher's error; lose neither
            self.repeats[sid] = n = self.repeats.get(sid, 0) + 1
            self.relationships[f"{sid}#{n}"] = relationship
            self.builder.note("statementID repeated with different content: both kept")

    def _drop(self, rid: str) -> bool:
        """Forget the live record ``rid`` (and any repeats of it); True if there was one."""
        found = self.parties.pop(rid, None) is not None
        found = self.relationships.pop(rid, None) is not None or found
        for n in range(1, self.repeats.pop(rid, 0) + 1):
            self.relationships.pop(f"{rid}#{n}", None)
        return found

    # --- writing ---------------------------------------------------------------------------

    def resolve(self, rid: str | None) -> str | None:
        seen = 0
        while rid in self.aliases and seen <= len(self.aliases):
            rid, seen = self.aliases[rid], seen + 1
        return rid

    def finish(self) -> None:
        """Turn the live records into native entities and ownership records.

        Records are handed over one at a time and forgotten, so that the live records and the
        native document are not both held whole at the end of a large import.
        """
        holdings: dict[_Key, list[Group]] = {}
        for rid, relationship in self.relationships.items():
            for key, claims in self._holdings(rid, relationship):
                holdings.setdefault(key, []).append(Group(claims, _error(relationship)))
        self.relationships.clear()
        for eid in list(self.parties):
            party = self.parties.pop(eid)
            for counted in party.counts:
                self.builder.note(counted)
            self.builder.entity(
                eid,
                party.type,
                name=party.name,
                jurisdiction=party.jurisdiction,
                headquarters=party.headquarters,
                notes="; ".join(party.notes) or None,
            )
        for owner, owned, kind in list(holdings):
            groups = holdings.pop((owner, owned, kind))
            pieces = share_history(groups, self.builder.as_of)
            if any(piece.overlaps for piece in pieces):
                self.builder.note(
                    "several relationships for one owner and owned: merged into one band"
                )
            for piece in pieces:
                if piece.too_many_dates:
                    self.builder.note(
                        "holding with too many dated claims: one 0-100 band over their span"
                    )
                if piece.share is not None and piece.share.max == 0:
                    self.builder.skip("share of 0 percent")
                    continue
                self.builder.holding(
                    owner, owned, native_percent(piece.share), interest=kind, period=piece.period
                )

    def _holdings(
        self, rid: str, relationship: Relationship
    ) -> Iterable[tuple[_Key, list[tuple[Period, Interval | None]]]]:
        """The dated claims one live relationship gives, by (owner, owned, interest)."""
        skip, note = self.builder.skip, self.builder.note
        subject, party = self.resolve(relationship.subject), self.resolve(relationship.party)
        if relationship.unspecified or subject is None or party is None:
            what = "subject" if subject is None else "interested party"
            skip(f"relationship with an unspecified {what}")
            if subject in self.parties:
                self.parties[subject].notes.append(f"BODS: {relationship.unspecified}")
            return ()
        ended = [self.closed[r] for r in (rid, subject, party) if r in self.closed]
        if None in ended:
            skip("relationship names a record closed without a readable date")
            return ()
        closed_by = min((d for d in ended if d is not None), default=None)
        if subject == party:
            skip("relationship of a record with itself")
            return ()
        components = [c for c in relationship.components if c in self.relationships]
        if relationship.components and not components:
            note("indirect relationship whose components are not in the input: kept as declared")
        as_of = self.builder.as_of
        claims: dict[str, list[tuple[Period, Interval | None]]] = {}
        for interest in relationship.interests or (_UNSTATED,):
            kind = "shares" if interest.kind == "untyped" else interest.kind
            period = ended_by(interest.period, closed_by)
            if period is None:
                skip("interest begins after its record was closed")
            elif as_of is not None and not period.is_live(as_of):
                skip(
                    "interest ended (endDate on or before the as-of date)"
                    if period.start is None or period.start <= as_of
                    else "interest begins after the as-of date"
                )
            # On a primary, only an interest stated as direct is a holding of its own; one of
            # unknown level may be the indirect holding the components already give.
            elif components and interest.level != "direct":
                if kind == "shares":
                    self._check_declared(rid, subject, party, interest, components)
                skip("indirect interest given by its component relationships")
            elif kind not in self.kinds:
                skip(f"{interest.label[:40]} interest: the registry has no field for it")
            else:
                if interest.kind == "untyped":
                    note("interest of no stated type: treated as a shareholding")
                if interest.level == "indirect":
                    note("indirect interest without its intermediate owners: kept as declared")
                for counted in period.notes:
                    note(counted)
                claims.setdefault(kind, []).append((period, interest.share))
        return [((party, subject, kind), parts) for kind, parts in claims.items()]

    def _check_declared(
        self, rid: str, subject: str, party: str, interest: Interest, components: list[str]
    ) -> None:
        """Keep a declared indirect share as evidence when its components do not rebuild it
        (the components as of the import's date, else the last day the declaration holds)."""
        declared = interest.share
        if declared is None:
            return
        end = interest.period.end
        day = self.builder.as_of or (end - timedelta(days=1) if end is not None else None)
        rebuilt = self._rebuild(subject, party, components, day)
        if rebuilt is not None and near(rebuilt, declared, _REBUILD_TOLERANCE):
            return
        given = "no complete chain" if rebuilt is None else describe_share(rebuilt)
        if subject in self.parties:
            self.parties[subject].notes.append(
                f"BODS relationship {rid}: {party} holds {describe_share(declared)} indirectly; "
                f"its components give {given}"
            )
        self.builder.note(
            "declared indirect share not rebuilt from its components: kept in the entity's notes"
        )

    def _rebuild(
        self, subject: str, party: str, components: list[str], day: date | None
    ) -> Interval | None:
        """``party``'s look-through share of ``subject`` over the component relationships live
        on ``day`` (None: those still held), unknown shares as 0-100; ``None`` for a cycle."""
        owners: dict[str, list[tuple[str, Interval]]] = {}
        for cid in components:
            c = self.relationships[cid]
            owned, owner = self.resolve(c.subject), self.resolve(c.party)
            if owned is None or owner is None:
                continue
            parts = [
                i.share
                for i in c.interests
                if i.kind in ("shares", "untyped")
                and i.level != "indirect"
                and (i.period.end is None if day is None else i.period.is_live(day))
            ]
            share = add_up(parts, _error(c)) if parts else None
            owners.setdefault(owned, []).append((owner, share or _UNKNOWN))
        memo: dict[str, tuple[float, float]] = {party: (100.0, 100.0)}
        visiting: set[str] = set()

        def held(node: str) -> tuple[float, float] | None:
            if node in memo:
                return memo[node]
            if node in visiting or len(visiting) > 10_000:
                return None
            visiting.add(node)
            low = high = 0.0
            for owner, share in owners.get(node, ()):
                above = held(owner)
                if above is None:
                    return None
                low += share.min * above[0] / 100
                high += share.max * above[1] / 100
            visiting.discard(node)
            memo[node] = (low, min(high, 100.0))
            return memo[node]

        result = held(subject)
        return None if result is None else Interval(*result)


def _error(relationship: Relationship) -> Callable[[str], Exception]:
    """How a relationship whose shares cannot be added up is refused (file, line, field)."""
    return lambda message: relationship.where.error(relationship.interests_field, message)

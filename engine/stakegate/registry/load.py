"""Load and validate a native registry (YAML or JSON) into typed entities and holdings.

Everything downstream (ownership math, facts, OPA) trusts this module's output. Schema errors
(malformed files, unknown fields, dangling ids, bad percents) are rejected outright, with messages
from ``check``. *Data faults*, which real registers do contain, are collected instead of
guessed around, each as a :class:`DataFault` naming its records: self-ownership, duplicate
holdings (two records of one interest type for one owner and owned entity, unless they say they
are one interest by a shared ``interest_id``), and owners of one entity whose minimum shares add
up to more than 100. Records of *different* interest types for one pair (shares and voting rights,
as UK PSC reports them) are two views of one relationship, not a fault: ``pair_shares`` combines
them by their larger bounds, so nothing is counted twice and the stronger interest decides. Closed
cycles are found with the graph (``policy.facts``). Whether a fault stops the run is the caller's
choice (``data_faults="error"|"review"``).
"""

from __future__ import annotations

import difflib
import math
import os
import stat
import sys
from contextlib import nullcontext
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Final

from stakegate import forked, settings
from stakegate.errors import RegistryError
from stakegate.heap import collector_paused
from stakegate.ownership.interval import Interval
from stakegate.registry.check import (
    CODE_MESSAGE,
    Problem,
    fast_problems,
    problem,
    record_spec,
    registry_error,
    schema_problems,
)
from stakegate.registry.dates import calendar_problem, day_problems, parse_day
from stakegate.registry.faults import FaultScan, registry_as_of
from stakegate.registry.model import (
    Designation,
    Entity,
    EntityType,
    Holding,
    InterestType,
    Registry,
)
from stakegate.registry.parse import parse_document
from stakegate.registry.pieces import Piece, Unsplit, pieces

__all__ = ["load_registry", "parse_registry"]

# From this size a JSON registry is read in pieces (``pieces``) instead of whole.
PIECES_MIN: Final = 1 << 20


def load_registry(path: str | Path) -> Registry:
    """Read and validate a registry file: ``.json`` as JSON, ``.yaml``/``.yml`` as YAML,
    anything else (and ``-``, stdin) as JSON, falling back to YAML."""
    settings.require_valid()
    stdin = str(path) == "-"
    source = "<stdin>" if stdin else str(path)
    data = _read_bounded(path, source, settings.REGISTRY_MAX_BYTES)
    suffix = "" if stdin else Path(path).suffix.lower()
    with collector_paused():
        if suffix in (".json", "") and len(data) >= PIECES_MIN:
            try:
                return _build_pieces(data, source)
            except Unsplit:
                pass  # read whole, as any other document
        document = parse_document(data, suffix, source)
        del data  # the file's bytes (185 MB for 1M entities) are not needed while building
        return _parse(document, source, full_schema=False, consume=True)


def parse_registry(document: object, source: str, *, full_schema: bool = False) -> Registry:
    """Validate a parsed registry document and build the model; ``source`` names it in errors.

    ``full_schema`` validates every record with ``jsonschema`` (slow) instead of the
    equivalent hand-written check. Schema errors raise ``RegistryError``; data faults are
    returned in ``Registry.faults``.
    """
    return _parse(document, source, full_schema=full_schema, consume=False)


def _parse(document: object, source: str, *, full_schema: bool, consume: bool) -> Registry:
    """``parse_registry``; with ``consume`` (a document nobody else holds), each ownership
    record is dropped from it once built (1M entities: about 400 MB less at the peak)."""
    with collector_paused():
        problems = schema_problems(document) if full_schema else fast_problems(document)
        if problems:
            raise registry_error(problems, source)
        assert isinstance(document, dict)  # the schema guarantees the shape from here on
        return _build(document, source, consume)


def _read_bounded(path: str | Path, source: str, limit: int) -> bytes:
    """The file's bytes, refused when larger than ``limit``: a regular file unread, a stream
    (standard input, a pipe) once it has passed the limit."""
    try:
        if str(path) == "-":
            data = _read_stream(sys.stdin.buffer, limit)
        else:
            with open(path, "rb") as handle:
                regular = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
                too_big = regular and os.fstat(handle.fileno()).st_size > limit
                data = b"" if too_big else handle.read() if regular else _read_stream(handle, limit)
                too_big = too_big or len(data) > limit
    except OSError as e:
        raise RegistryError(f"cannot read the registry: {e.strerror or e}", source=source) from e
    if str(path) == "-":
        too_big = len(data) > limit
    if too_big:
        raise RegistryError(
            f"the registry is larger than {limit:,} bytes, the limit "
            "(setting STAKEGATE_REGISTRY_MAX_BYTES)",
            source=source,
        )
    return data


def _read_stream(handle: BinaryIO, limit: int) -> bytes:
    """At most ``limit + 1`` bytes, read in chunks (``read(limit)`` would allocate it all)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = handle.read(min(1 << 24, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


# --- consistency checks and the model ------------------------------------------------------

_TYPES: Final = {t.value: t for t in EntityType}
_INTERESTS: Final = {t.value: t for t in InterestType}


class _Builder:
    """The model, built section by section from validated records.

    ``doc`` labels problems with their records; it is None for a document read in pieces,
    where the first problem raises ``Unsplit`` so the whole reading reports them all.
    """

    __slots__ = (
        "dated", "doc", "entities", "exact", "first_index", "normal", "problems", "records",
    )  # fmt: skip

    def __init__(self, doc: dict[str, Any] | None) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.entities: dict[str, Entity] = {}
        self.records: list[Holding] = []
        # Upper-cased code per distinct code string; None for one that is not a code. The
        # schema's pattern, like any JSON Schema pattern checked in Python, lets 'CN\n'
        # through, and a code that does not match the region list exactly would be a silent
        # allow.
        self.normal: dict[str, str | None] = {}
        self.exact: dict[float, Interval | str] = {}  # Interval is frozen: one per share
        self.dated = False
        self.first_index: dict[str, int] = {}

    def _refuse(self) -> None:
        if self.doc is None:
            raise Unsplit

    def add_entities(self, records: list[dict[str, Any]], first: int) -> None:
        doc, problems, entities, normal = self.doc, self.problems, self.entities, self.normal
        fullmatch = record_spec().code.fullmatch
        for i, rec in enumerate(records, first):
            eid = rec["id"]
            if eid in entities:
                self._refuse()
                assert doc is not None
                if not self.first_index:  # filled only once a duplicate id turns up
                    for n, r in enumerate(doc["entities"]):
                        self.first_index.setdefault(r["id"], n)
                msg = f"duplicate id, first defined at entities[{self.first_index[eid]}]"
                problems.append(problem(doc, ("entities", i, "id"), msg))
                continue
            codes: list[str | None] = []  # jurisdiction, headquarters
            for k in ("jurisdiction", "headquarters"):
                c = rec.get(k)
                if c is not None:
                    if c not in normal:
                        normal[c] = c.upper() if fullmatch(c) else None
                    if normal[c] is None:
                        problems.append(problem(doc, ("entities", i, k), CODE_MESSAGE.format(c)))
                    c = normal[c]
                codes.append(c)
            kind, name, (j, hq) = _TYPES[rec["type"]], rec.get("name"), codes
            if "designations" in rec:
                designations = _designations(doc, i, rec["designations"], problems)
                entities[eid] = Entity(eid, kind, name, j, hq, designations)
            else:
                entities[eid] = Entity(eid, kind, name, j, hq)
        if problems:
            self._refuse()

    def add_ownership(self, records: list[Any], first: int, consume: bool = False) -> None:
        """``consume`` (records nobody else holds): each is dropped once built (1M entities:
        about 400 MB less at the peak of a whole-document reading)."""
        doc, problems, exact, entity = self.doc, self.problems, self.exact, self.entities.get
        append = self.records.append
        for n, rec in enumerate(records):
            if consume and n:
                records[n - 1] = None  # built, and any problem with it already labelled
            i = first + n
            owner, owned = entity(rec["owner"]), entity(rec["owned"])
            pct = rec.get("percent")
            share: Interval | str | None
            if pct is None:
                share = None  # a consolidation record; the schema requires percent elsewhere
            elif type(pct) is dict:
                share = _share(pct)
            else:
                share = exact.get(pct) or exact.setdefault(pct, _share(pct))
            if owner is None or owned is None or isinstance(share, str):
                self._refuse()
                assert doc is not None
                problems += _holding_problems(doc, i, self.entities, share)
                continue
            # The entities' own id strings: one copy of each id however many records name it.
            if len(rec) == 3 and "percent" in rec:  # the common record: owner, owned, percent
                append(Holding(owner.id, owned.id, share, i))
                continue
            start, end = _interval(doc, ("ownership", i), rec, "start", "end", problems)
            self.dated = self.dated or start is not None or end is not None
            append(
                Holding(
                    owner.id, owned.id, share, i, _INTERESTS[rec.get("interest", "shares")],
                    rec.get("interest_id"), start, end,
                )
            )  # fmt: skip
        if problems:
            self._refuse()

    def registry(self, source: str, *, clean: bool = False) -> Registry:
        """The model; ``clean``: no record can be a data fault (``FaultScan``)."""
        if self.problems:
            raise registry_error(self.problems, source)
        registry = Registry(source, self.entities, self.records, [], None, None, self.dated)
        return registry_as_of(registry, None, clean=clean)


def _build(doc: dict[str, Any], source: str, consume: bool = False) -> Registry:
    builder = _Builder(doc)
    builder.add_entities(doc["entities"], 0)
    builder.add_ownership(doc.get("ownership", []), 0, consume)
    return builder.registry(source)


# The forked checker's verdicts; any other status (a refused record, a failed or killed
# checker) sends the document to the whole reading.
_CLEAN: Final = 0  # every record passes, and none can be a data fault
_PASSED: Final = 2  # every record passes; data faults are looked for as usual
_PASSING: Final = (_CLEAN, _PASSED)


def _build_pieces(data: bytes, source: str) -> Registry:
    """The model of a JSON document read in pieces (``pieces``); ``Unsplit`` if it cannot be,
    or if anything in it is refused (the whole reading then names every problem).

    The record checks, and a scan for records that may be data faults (``FaultScan``), run
    beside the building, in a forked child that reads the pieces too (``stakegate.forked``).
    Nothing built is returned before the child has passed every record: a record it refuses
    may break the building first (a missing field, a string for a number), and then its
    verdict decides whether that was the data (``Unsplit``) or a fault of the engine (raised
    as it is). 1M entities: the checks were about 4 s and the search for faults about 4 s of
    the 20 s one core took."""
    with forked.start(lambda: _checked_pieces(data)) or nullcontext() as checker:
        try:
            builder = _built_pieces(data, checked=checker is not None)
        except Unsplit:
            raise
        except Exception:
            if _verdict(checker) not in _PASSING:
                raise Unsplit from None
            raise
        verdict = _verdict(checker)
        if verdict not in _PASSING:
            raise Unsplit
        return builder.registry(source, clean=verdict == _CLEAN)


def _verdict(checker: forked.Forked | None) -> int:
    """The checker's verdict; without one, the records were checked in line (``_PASSED``)."""
    return _PASSED if checker is None else checker.result()


def _checked_pieces(data: bytes) -> int:
    """The forked checker's work: its verdict on the records (``_CLEAN``, ``_PASSED``), or 1."""
    scan = FaultScan()
    try:
        # The builder proves the document's keys (``pieces``); the pieces here are the same.
        for piece in pieces(data, count_keys=False):
            if _piece_problems(piece):
                return 1
            if piece[0] == "ownership":
                scan.add(piece[2])
    except Unsplit:
        return 1
    return _PASSED if scan.may_have_faults() else _CLEAN


def _piece_problems(piece: Piece) -> list[Problem]:
    """The record check of one piece alone, in a document of its own."""
    section, _, records = piece
    alone = {"entities": records} if section == "entities" else {"entities": [], section: records}
    return fast_problems(alone)


def _built_pieces(data: bytes, *, checked: bool) -> _Builder:
    """The model's parts from the pieces; ``checked``: the records are checked elsewhere."""
    builder = _Builder(None)
    seen = set()
    for piece in pieces(data):
        section, first, records = piece
        seen.add(section)
        if not checked and _piece_problems(piece):
            raise Unsplit
        if section == "entities":
            builder.add_entities(records, first)
        else:
            builder.add_ownership(records, first, consume=True)
        del records, piece
    if "entities" not in seen:
        raise Unsplit
    return builder


def _interval(
    doc: dict[str, Any] | None,
    where: tuple[str | int, ...],
    rec: dict[str, Any],
    first: str,
    last: str,
    problems: list[Problem],
) -> tuple[date | None, date | None]:
    """A record's two dates (the record check saw their form); problems for a day the calendar
    lacks or an interval that ends before it starts."""
    days: list[date | None] = []
    for key in (first, last):
        text = rec.get(key)
        day = None if text is None else parse_day(text)
        if text is not None and day is None:
            problems.append(calendar_problem(doc, (*where, key), text))
        days.append(day)
    problems += day_problems(doc, where, days[0], days[1], f"{first}/{last}")
    return days[0], days[1]


def _designations(
    doc: dict[str, Any] | None, i: int, items: list[dict[str, Any]], problems: list[Problem]
) -> tuple[Designation, ...]:
    out = []
    for n, item in enumerate(items):
        where = ("entities", i, "designations", n)
        since, until = _interval(doc, where, item, "since", "until", problems)
        out.append(Designation(item["list"], item.get("program"), since, until))
    return tuple(out)


def _holding_problems(
    doc: dict[str, Any], i: int, entities: dict[str, Entity], share: Interval | str | None
) -> list[Problem]:
    """What is wrong with holding ``i``, which the schema accepted."""
    rec = doc["ownership"][i]
    out = []
    for k in ("owner", "owned"):
        eid = rec[k]
        if eid not in entities:
            msg = f"{eid!r} is not an entity id in this registry{_id_hint(eid, entities)}"
            out.append(problem(doc, ("ownership", i, k), msg))
    if isinstance(share, str):
        out.append(problem(doc, ("ownership", i, "percent"), share))
    return out


def _id_hint(eid: str, entities: dict[str, Entity]) -> str:
    if len(entities) > 10_000:  # difflib is quadratic-ish; not worth it on big registries
        return ""
    close = difflib.get_close_matches(eid, entities, n=1, cutoff=0.8)
    return f"; did you mean {close[0]!r}?" if close else ""


def _share(pct: int | float | dict[str, Any]) -> Interval | str:
    """The share as an interval, or what is wrong with it (checks the schema cannot make)."""
    if not isinstance(pct, dict):
        return Interval.exact(float(pct)) if math.isfinite(pct) else f"must be finite, got {pct}"
    lo, hi = pct["min"], pct["max"]
    lo_x, hi_x = pct.get("min_exclusive", False), pct.get("max_exclusive", False)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"band bounds must be finite, got min {lo}, max {hi}"
    if lo > hi:
        return f"band min {lo} is more than max {hi}"
    if lo == hi and (lo_x or hi_x):
        return f"band min and max are both {lo} with an exclusive bound: no share fits"
    return Interval(float(lo), float(hi), lo_x, hi_x)

"""Load and validate a native registry (YAML or JSON) into typed entities and holdings.

Everything downstream (ownership math, facts, OPA) trusts this module's output, so it rejects
anything doubtful instead of guessing: unknown fields (a typo must not be silently ignored),
dangling ids, self-ownership, empty bands, duplicate edges, and owners of one entity whose
minimum shares add up to more than 100. Closed cycles are left to ``ownership``.

``schemas/registry.schema.json`` is the contract. Validating every record with ``jsonschema``
takes about 14 s per 100k entities and 200k edges, too slow for million-entity registries, so
the schema checks the top-level shape and a hand-written check with the same messages checks
the records. ``parse_registry(..., full_schema=True)`` runs the schema on everything; the tests
hold both paths to the same messages.
"""

from __future__ import annotations

import copy
import difflib
import gc
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Final

import jsonschema
import yaml

from stakegate import settings
from stakegate.exc import RegistryError
from stakegate.interval import Interval

__all__ = [
    "Entity",
    "EntityType",
    "Holding",
    "Registry",
    "load_registry",
    "parse_registry",
    "registry_schema",
]

_YamlLoader: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Problems listed in one error message; the count of the rest is given.
MAX_REPORTED: Final = 5
# Owners listed when the shares of one entity add up to more than 100.
MAX_LISTED_OWNERS: Final = 10
# Owners' minimum shares of one entity may exceed 100 by this much (float noise) before it is an
# error. Fixed, unlike the policy's percent_tolerance: this checks data, not a decision.
SUM_TOLERANCE: Final = 1e-9


class EntityType(StrEnum):
    """What kind of party an entity is; persons count by country of residence."""

    COMPANY = "company"
    PERSON = "person"
    STATE = "state"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Entity:
    """One registry entity; codes are upper case, ``None`` means unknown."""

    id: str
    type: EntityType
    name: str | None = None
    jurisdiction: str | None = None
    headquarters: str | None = None


@dataclass(frozen=True, slots=True)
class Holding:
    """``owner`` holds ``share`` percent of ``owned``; ``record`` indexes ``ownership``."""

    owner: str
    owned: str
    share: Interval
    record: int


@dataclass(frozen=True, slots=True)
class Registry:
    """A validated registry: entities by id in file order, and their holdings."""

    source: str
    entities: dict[str, Entity]
    holdings: list[Holding]

    def __repr__(self) -> str:
        return (
            f"Registry(source={self.source!r}, entities={len(self.entities)}, "
            f"holdings={len(self.holdings)})"
        )


@cache
def registry_schema() -> dict[str, Any]:
    """The registry JSON Schema (``schemas/registry.schema.json``)."""
    with open(settings.SCHEMA_DIR / "registry.schema.json", encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


def load_registry(path: str | Path) -> Registry:
    """Read and validate a registry file: ``.json`` as JSON, ``.yaml``/``.yml`` as YAML,
    anything else (and ``-``, stdin) as JSON, falling back to YAML."""
    stdin = str(path) == "-"
    source = "<stdin>" if stdin else str(path)
    try:
        data = sys.stdin.buffer.read() if stdin else Path(path).read_bytes()
    except OSError as e:
        raise RegistryError(f"cannot read the registry: {e.strerror or e}", source=source) from e
    suffix = "" if stdin else Path(path).suffix.lower()
    with _gc_paused():
        return parse_registry(_parse(data, suffix, source), source)


def parse_registry(document: object, source: str, *, full_schema: bool = False) -> Registry:
    """Validate a parsed registry document and build the model; ``source`` names it in errors.

    ``full_schema`` validates every record with ``jsonschema`` (slow) instead of the
    equivalent hand-written check.
    """
    with _gc_paused():
        problems = _schema_problems(document) if full_schema else _fast_problems(document)
        if problems:
            raise _error(problems, source)
        assert isinstance(document, dict)  # the schema guarantees the shape from here on
        return _build(document, source)


# --- parsing -------------------------------------------------------------------------------


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: loading builds millions of objects and no cycles,
    and collections triggered by the allocations triple the time of a large YAML load."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(data: bytes, suffix: str, source: str) -> object:
    if suffix == ".json":
        document = _parse_json(data, source)
    elif suffix in (".yaml", ".yml"):
        document = _parse_yaml(data, source)
    else:
        try:
            document = _parse_json(data, source)
        except RegistryError as json_error:
            try:
                document = _parse_yaml(data, source)
            except RegistryError:
                if data.lstrip()[:1] in (b"{", b"["):
                    raise json_error from None
                raise
    return document


def _parse_json(data: bytes, source: str) -> object:
    try:
        return json.loads(data)
    except json.JSONDecodeError as e:
        raise RegistryError(
            f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}", source=source
        ) from None
    except (UnicodeDecodeError, RecursionError) as e:
        raise RegistryError(f"malformed JSON: {e}", source=source) from None


def _parse_yaml(data: bytes, source: str) -> object:
    try:
        return _load_yaml(data)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(str(m) for m in (e.context, e.problem) if m)
        raise RegistryError(f"malformed YAML{where}: {what}", source=source) from None
    except (yaml.YAMLError, RecursionError) as e:
        raise RegistryError(f"malformed YAML: {e}", source=source) from None


_YAML_TAG: Final = "tag:yaml.org,2002:"


class _Unusual(Exception):
    """The document needs PyYAML's full constructor (merge keys, unhashable keys)."""


def _load_yaml(data: bytes) -> object:
    """``yaml.load`` with a safe loader, about a third faster on large registries.

    PyYAML's constructor spends seconds per 100k records in generic Python dispatch. Plain
    strings, mappings and lists, nearly every node of a registry, are built directly here;
    every other node (numbers, booleans, null, dates) goes through the loader's own safe
    constructors, and a document with merge keys is loaded again the ordinary way.
    """
    loader = _YamlLoader(data)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        memo: dict[int, object] = {}  # an alias is one shared object, as in PyYAML

        def build(node: yaml.Node) -> object:
            tag = node.tag
            if tag == _YAML_TAG + "str":
                return node.value
            if id(node) in memo:
                return memo[id(node)]
            if tag == _YAML_TAG + "map" and isinstance(node, yaml.MappingNode):
                mapping: dict[object, object] = {}
                memo[id(node)] = mapping
                for key, value in node.value:
                    if key.tag == _YAML_TAG + "merge":
                        raise _Unusual
                    try:
                        mapping[build(key)] = build(value)
                    except TypeError:
                        raise _Unusual from None
                return mapping
            if tag == _YAML_TAG + "seq" and isinstance(node, yaml.SequenceNode):
                items: list[object] = []
                memo[id(node)] = items
                items.extend(build(item) for item in node.value)
                return items
            return loader.construct_object(node, deep=True)

        return build(root)
    except _Unusual:
        return yaml.load(data, Loader=_YamlLoader)  # noqa: S506 (a safe loader)
    finally:
        loader.dispose()


# --- problems and messages -----------------------------------------------------------------

_SECTIONS: Final = {"entities": 0, "ownership": 1}
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class _Problem:
    order: tuple[int, int]  # (section, index) for sorting; top level is (-1, 0)
    record: str | None
    field: str | None
    message: str

    def key(self) -> tuple[int, int, str, str]:
        return (*self.order, self.field or "", self.message)


def _problem(doc: object, path: Iterable[str | int], message: str) -> _Problem:
    """A problem at a document path such as ``("ownership", 7, "percent", "min")``."""
    parts = list(path)
    if len(parts) >= 2 and parts[0] in _SECTIONS and isinstance(parts[1], int):
        section, index = str(parts[0]), parts[1]
        record = _record_label(doc, section, index)
        order, rest = (_SECTIONS[section], index), parts[2:]
    else:
        record, order, rest = None, (-1, 0), parts
    return _Problem(order, record, ".".join(map(str, rest)) or None, message)


def _record_label(doc: object, section: str, index: int) -> str:
    """``entities[3] (id 'acme-sg')`` or ``ownership[7] (acme-cn -> acme-sg)``."""
    try:
        rec = doc[section][index]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        rec = None
    label = f"{section}[{index}]"
    if not isinstance(rec, dict):
        return label
    if section == "entities" and isinstance(rec.get("id"), str):
        return f"{label} (id {rec['id']!r})"
    owner, owned = rec.get("owner"), rec.get("owned")
    if section == "ownership" and isinstance(owner, str) and isinstance(owned, str):
        return f"{label} ({owner} -> {owned})"
    return label


def _show(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "a mapping"
    return type(value).__name__


_TYPE_WORDS: Final = {
    "string": "a string",
    "array": "a list",
    "object": "a mapping",
    "number": "a number",
    "boolean": "true or false",
}


def _type_message(expected: str, value: object, field: str | None) -> str:
    if field is None and expected == "object":
        return (
            f"the registry must be a mapping with 'entities' (and optionally 'ownership'), "
            f"got {'an empty document' if value is None else _show(value)}"
        )
    want = "a number or a band {min, max}" if field == "percent" else _TYPE_WORDS[expected]
    message = f"must be {want}, got {_show(value)}"
    if expected == "string" and isinstance(value, bool):
        message += " (quote it: YAML reads unquoted yes/no/on/off, e.g. NO for Norway, as booleans)"
    return message


def _unknown_field_message(name: object, allowed: Iterable[str]) -> str:
    names = sorted(allowed)
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown field; {hint}allowed: {', '.join(names)}"


def _enum_message(value: object, options: Iterable[str]) -> str:
    shown = repr(value) if isinstance(value, str) else _show(value)
    return f"{shown} is not one of: {', '.join(options)}"


_CODE_MESSAGE: Final = (
    "{!r} is not an ISO 3166 country or subdivision code such as 'CN' or 'RU-MOW'"
)
_REQUIRED: Final = "is required"
_EMPTY: Final = "must not be empty"
_LIMITS: Final = {"exclusiveMinimum": "more than", "minimum": "at least", "maximum": "at most"}


def _limit_message(keyword: str, limit: object, value: object) -> str:
    return f"must be {_LIMITS[keyword]} {limit}, got {value!r}"


# --- the reference path: jsonschema on everything ------------------------------------------


@cache
def _validator(top_level_only: bool) -> jsonschema.protocols.Validator:
    schema = registry_schema()
    if top_level_only:
        schema = copy.deepcopy(schema)
        for name in _SECTIONS:
            del schema["properties"][name]["items"]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _schema_problems(doc: object, *, top_level_only: bool = False) -> list[_Problem]:
    """Every schema violation in ``doc``, translated into this module's messages."""
    out: list[_Problem] = []
    for error in _validator(top_level_only).iter_errors(doc):  # type: ignore[arg-type]
        path = list(error.absolute_path)
        keyword = error.validator
        instance: Any = error.instance
        value: Any = error.validator_value
        schema: Any = error.schema
        # The field named in messages: None for the document itself, "" for a whole record.
        field: str | None = ".".join(map(str, path[2:] if path and path[0] in _SECTIONS else path))
        field = field if path else None
        if keyword == "required":
            out += [_problem(doc, [*path, k], _REQUIRED) for k in value if k not in instance]
        elif keyword == "additionalProperties":
            allowed = schema.get("properties", {})
            for name in instance:
                if name not in allowed:
                    out.append(_problem(doc, [*path, name], _unknown_field_message(name, allowed)))
        elif keyword == "type":
            out.append(_problem(doc, path, _type_message(str(value), instance, field)))
        elif keyword == "minLength":
            out.append(_problem(doc, path, _EMPTY))
        elif keyword == "enum":
            out.append(_problem(doc, path, _enum_message(instance, value)))
        elif keyword == "pattern":
            out.append(_problem(doc, path, _CODE_MESSAGE.format(instance)))
        elif keyword in _LIMITS:
            out.append(_problem(doc, path, _limit_message(str(keyword), value, instance)))
        else:  # a keyword this module does not know yet: keep jsonschema's own words
            out.append(_problem(doc, path, error.message))
    return out


# --- the fast path: the schema on the top level, a hand-written check on the records -------


@dataclass(frozen=True, slots=True)
class _Spec:
    """Names the hand-written check reads from the schema, so the two cannot drift apart."""

    entity_fields: frozenset[str]
    entity_required: tuple[str, ...]
    types: tuple[str, ...]
    code: re.Pattern[str]
    holding_fields: frozenset[str]
    holding_required: tuple[str, ...]
    band_fields: frozenset[str]
    band_required: tuple[str, ...]


@cache
def _spec() -> _Spec:
    defs = registry_schema()["$defs"]
    entity, holding, band = defs["entity"], defs["holding"], defs["band"]
    return _Spec(
        entity_fields=frozenset(entity["properties"]),
        entity_required=tuple(entity["required"]),
        types=tuple(entity["properties"]["type"]["enum"]),
        code=re.compile(defs["code"]["pattern"]),
        holding_fields=frozenset(holding["properties"]),
        holding_required=tuple(holding["required"]),
        band_fields=frozenset(band["properties"]),
        band_required=tuple(band["required"]),
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fast_problems(doc: object) -> list[_Problem]:
    out = _schema_problems(doc, top_level_only=True)
    if not isinstance(doc, dict):
        return out
    spec = _spec()
    entity_fields, types, code = spec.entity_fields, spec.types, spec.code.search
    entities = doc.get("entities")
    if isinstance(entities, list):
        for i, rec in enumerate(entities):
            # A quick test for the common, valid record; the slow path words the problems.
            if not (
                type(rec) is dict
                and rec.keys() <= entity_fields
                and type(eid := rec.get("id")) is str
                and eid
                and rec.get("type") in types
                and type(rec.get("name", "")) is str
                and type(rec.get("notes", "")) is str
                and (type(j := rec.get("jurisdiction", "CN")) is str and code(j))
                and (type(h := rec.get("headquarters", "CN")) is str and code(h))
            ):
                out += _entity_problems(doc, i, rec, spec)
    holding_fields = spec.holding_fields
    holdings = doc.get("ownership")
    if isinstance(holdings, list):
        for i, rec in enumerate(holdings):
            if not (
                type(rec) is dict
                and rec.keys() <= holding_fields
                and type(owner := rec.get("owner")) is str
                and owner
                and type(owned := rec.get("owned")) is str
                and owned
                and type(rec.get("notes", "")) is str
                and ((t := type(p := rec.get("percent", 0))) is int or t is float)
                and 0 < p <= 100
            ):
                out += _holding_problems(doc, i, rec, spec)
    return out


def _entity_problems(doc: object, i: int, rec: object, spec: _Spec) -> list[_Problem]:
    # Each check mirrors one schema keyword with jsonschema's semantics: a keyword that does
    # not apply to the value's type passes, and NaN passes the numeric limits.
    if not isinstance(rec, dict):
        return [_problem(doc, ("entities", i), _type_message("object", rec, ""))]
    out = [
        _problem(doc, ("entities", i, k), _unknown_field_message(k, spec.entity_fields))
        for k in rec
        if k not in spec.entity_fields
    ]
    out += [
        _problem(doc, ("entities", i, k), _REQUIRED) for k in spec.entity_required if k not in rec
    ]
    for k, v in rec.items():
        path = ("entities", i, k)
        if k in ("id", "name", "notes", "jurisdiction", "headquarters") and not isinstance(v, str):
            out.append(_problem(doc, path, _type_message("string", v, k)))
        elif k == "id" and not v:
            out.append(_problem(doc, path, _EMPTY))
        elif k == "type" and not (isinstance(v, str) and v in spec.types):
            out.append(_problem(doc, path, _enum_message(v, spec.types)))
        elif k in ("jurisdiction", "headquarters") and not spec.code.search(v):
            out.append(_problem(doc, path, _CODE_MESSAGE.format(v)))
    return out


def _holding_problems(doc: object, i: int, rec: object, spec: _Spec) -> list[_Problem]:
    if not isinstance(rec, dict):
        return [_problem(doc, ("ownership", i), _type_message("object", rec, ""))]
    out = [
        _problem(doc, ("ownership", i, k), _unknown_field_message(k, spec.holding_fields))
        for k in rec
        if k not in spec.holding_fields
    ]
    out += [
        _problem(doc, ("ownership", i, k), _REQUIRED) for k in spec.holding_required if k not in rec
    ]
    for k in ("owner", "owned", "notes"):
        v = rec.get(k, _MISSING)
        if v is not _MISSING and not isinstance(v, str):
            out.append(_problem(doc, ("ownership", i, k), _type_message("string", v, k)))
        elif k != "notes" and v == "":
            out.append(_problem(doc, ("ownership", i, k), _EMPTY))
    if "percent" in rec:
        out += _percent_problems(doc, i, rec["percent"], spec)
    return out


def _percent_problems(doc: object, i: int, pct: object, spec: _Spec) -> list[_Problem]:
    path: tuple[str | int, ...] = ("ownership", i, "percent")
    if isinstance(pct, dict):
        out = [
            _problem(doc, (*path, k), _unknown_field_message(k, spec.band_fields))
            for k in pct
            if k not in spec.band_fields
        ]
        out += [_problem(doc, (*path, k), _REQUIRED) for k in spec.band_required if k not in pct]
        for k in ("min", "max"):
            if k in pct:
                out += _number_problems(doc, (*path, k), pct[k], k == "max")
        for k in ("min_exclusive", "max_exclusive"):
            if k in pct and not isinstance(pct[k], bool):
                out.append(_problem(doc, (*path, k), _type_message("boolean", pct[k], k)))
        return out
    return _number_problems(doc, path, pct, True)


def _number_problems(
    doc: object, path: tuple[str | int, ...], v: object, above_zero: bool
) -> list[_Problem]:
    if not _is_number(v):
        return [_problem(doc, path, _type_message("number", v, ".".join(map(str, path[2:]))))]
    assert isinstance(v, int | float)
    out = []
    if above_zero and v <= 0:
        out.append(_problem(doc, path, _limit_message("exclusiveMinimum", 0, v)))
    elif not above_zero and v < 0:
        out.append(_problem(doc, path, _limit_message("minimum", 0, v)))
    if v > 100:
        out.append(_problem(doc, path, _limit_message("maximum", 100, v)))
    return out


# --- consistency checks and the model ------------------------------------------------------

_TYPES: Final = {t.value: t for t in EntityType}


def _build(doc: dict[str, Any], source: str) -> Registry:
    problems: list[_Problem] = []
    entities: dict[str, Entity] = {}
    # Upper-cased code per distinct code string; None for one that is not a code. The schema's
    # pattern, like any JSON Schema pattern checked in Python, lets 'CN\n' through, and a code
    # that does not match the region list exactly would be a silent allow.
    normal: dict[str, str | None] = {}
    fullmatch = _spec().code.fullmatch
    first_index: dict[str, int] = {}  # filled only once a duplicate id turns up
    for i, rec in enumerate(doc["entities"]):
        eid = rec["id"]
        if eid in entities:
            if not first_index:
                for n, r in enumerate(doc["entities"]):
                    first_index.setdefault(r["id"], n)
            msg = f"duplicate id, first defined at entities[{first_index[eid]}]"
            problems.append(_problem(doc, ("entities", i, "id"), msg))
            continue
        codes: list[str | None] = []
        for k in ("jurisdiction", "headquarters"):
            c = rec.get(k)
            if c is not None:
                if c not in normal:
                    normal[c] = c.upper() if fullmatch(c) else None
                if normal[c] is None:
                    problems.append(_problem(doc, ("entities", i, k), _CODE_MESSAGE.format(c)))
                c = normal[c]
            codes.append(c)
        entities[eid] = Entity(eid, _TYPES[rec["type"]], rec.get("name"), *codes)

    holdings: list[Holding] = []
    edges: dict[tuple[str, str], int] = {}
    exact: dict[float, Interval | str] = {}  # Interval is frozen: one per distinct share
    append = holdings.append
    for i, rec in enumerate(doc.get("ownership", ())):
        owner, owned, pct = rec["owner"], rec["owned"], rec["percent"]
        if type(pct) is dict:
            share = _share(pct)
        else:
            share = exact.get(pct) or exact.setdefault(pct, _share(pct))
        if (
            owner in entities
            and owned in entities
            and owner != owned
            and edges.setdefault((owner, owned), i) == i
            and type(share) is Interval
        ):
            append(Holding(owner, owned, share, i))
        else:
            problems += _holding_consistency(doc, i, entities, edges, share)
    problems += _oversubscribed(holdings)
    if problems:
        raise _error(problems, source)
    return Registry(source, entities, holdings)


def _holding_consistency(
    doc: dict[str, Any],
    i: int,
    entities: dict[str, Entity],
    edges: dict[tuple[str, str], int],
    share: Interval | str,
) -> list[_Problem]:
    """What is wrong with holding ``i``, which the schema accepted."""
    rec = doc["ownership"][i]
    owner, owned = rec["owner"], rec["owned"]
    out = []
    for k, eid in (("owner", owner), ("owned", owned)):
        if eid not in entities:
            msg = f"{eid!r} is not an entity id in this registry{_id_hint(eid, entities)}"
            out.append(_problem(doc, ("ownership", i, k), msg))
    if owner == owned:
        msg = f"an entity cannot own itself ({owner!r})"
        out.append(_problem(doc, ("ownership", i, "owned"), msg))
    first = edges.setdefault((owner, owned), i)
    if first != i:
        msg = (
            f"duplicate holding, {owner!r} already owns {owned!r} at "
            f"ownership[{first}]; give one share (a band if uncertain)"
        )
        out.append(_problem(doc, ("ownership", i, "owned"), msg))
    if isinstance(share, str):
        out.append(_problem(doc, ("ownership", i, "percent"), share))
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


def _oversubscribed(holdings: list[Holding]) -> list[_Problem]:
    """Owners of one entity whose minimum shares add up to more than 100 percent."""
    totals: dict[str, float] = {}
    for h in holdings:
        totals[h.owned] = totals.get(h.owned, 0.0) + h.share.min
    suspects = {k for k, v in totals.items() if v >= 100 - SUM_TOLERANCE}
    if not suspects:
        return []
    by_owned: dict[str, list[Holding]] = {}
    for h in holdings:
        if h.owned in suspects:
            by_owned.setdefault(h.owned, []).append(h)
    out = []
    for owned, hs in by_owned.items():
        total = math.fsum(h.share.min for h in hs)
        exclusive = any(h.share.min_exclusive for h in hs)
        if total <= 100 + SUM_TOLERANCE and not (exclusive and total >= 100 - SUM_TOLERANCE):
            continue
        shown = hs[:MAX_LISTED_OWNERS]
        parts = ", ".join(
            f"ownership[{h.record}] ({h.owner} -> {owned}) "
            f"{'more than ' if h.share.min_exclusive else ''}{h.share.min:g}"
            for h in shown
        )
        if len(hs) > len(shown):
            parts += f", and {len(hs) - len(shown)} more"
        if total > 100 + SUM_TOLERANCE:
            held = f"at least {total:g} percent between them, more than 100"
        else:
            held = f"more than 100 percent between them ({total:g}, with exclusive bounds)"
        record = ", ".join(f"ownership[{h.record}]" for h in shown)
        msg = f"owners of {owned!r} hold {held}: {parts}"
        out.append(_Problem((1, hs[0].record), record, "percent", msg))
    return out


def _error(problems: list[_Problem], source: str) -> RegistryError:
    """One error naming the first problem, listing a few more and counting the rest."""
    ordered = sorted(set(problems), key=_Problem.key)
    first, rest = ordered[0], ordered[1:]
    message = first.message
    if rest:
        message += f"\n  {len(rest)} more problem{'s' if len(rest) > 1 else ''}:"
        for p in rest[: MAX_REPORTED - 1]:
            where = ", ".join(
                x
                for x in (p.record and f"record {p.record}", p.field and f"field {p.field!r}")
                if x
            )
            message += f"\n  - {where + ': ' if where else ''}{p.message}"
        if len(rest) > MAX_REPORTED - 1:
            message += f"\n  - ... and {len(rest) - (MAX_REPORTED - 1)} more"
    return RegistryError(message, source=source, record=first.record, field=first.field)

"""The hand-written record check of a registry document and the messages of every problem.

``schemas/registry.schema.json`` is the contract. Validating every record with ``jsonschema``
takes about 14 s per 100k entities and 200k edges, too slow for million-entity registries, so the
schema checks the top-level shape and ``fast_problems`` checks the records by hand, with the same
messages; ``schema_problems`` runs the schema on everything (the reference the tests hold the fast
check to). ``problems.registry_error`` turns problems into one ``RegistryError`` naming file,
record and field (re-exported here).
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import jsonschema

from stakegate import settings
from stakegate.registry.dates import (
    DATE_MESSAGE,
    DATE_PATTERN,
    date_problems,
    designation_problems,
    is_date_text,
)
from stakegate.registry.problems import MAX_REPORTED, SECTIONS, Problem, problem, registry_error

__all__ = [
    "CODE_MESSAGE",
    "MAX_REPORTED",
    "Problem",
    "fast_problems",
    "problem",
    "registry_error",
    "registry_schema",
    "schema_problems",
    "record_spec",
]


@cache
def registry_schema() -> dict[str, Any]:
    """The registry JSON Schema (``schemas/registry.schema.json``)."""
    with open(settings.SCHEMA_DIR / "registry.schema.json", encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


# --- messages ----------------------------------------------------------------------------

_MISSING: Final = object()


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


CODE_MESSAGE: Final = "{!r} is not an ISO 3166 country or subdivision code such as 'CN' or 'RU-MOW'"
_REQUIRED: Final = "is required"
_EMPTY: Final = "must not be empty"
_BLANK: Final = "must not be blank (only whitespace)"
_LIMITS: Final = {"exclusiveMinimum": "more than", "minimum": "at least", "maximum": "at most"}


def _limit_message(keyword: str, limit: object, value: object) -> str:
    return f"must be {_LIMITS[keyword]} {limit}, got {value!r}"


# --- the reference path: jsonschema on everything ------------------------------------------


@cache
def _validator(top_level_only: bool) -> jsonschema.protocols.Validator:
    schema = registry_schema()
    if top_level_only:
        schema = copy.deepcopy(schema)
        for name in SECTIONS:
            del schema["properties"][name]["items"]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_problems(doc: object, *, top_level_only: bool = False) -> list[Problem]:
    """Every schema violation in ``doc``, translated into this module's messages."""
    out: list[Problem] = []
    for error in _validator(top_level_only).iter_errors(doc):  # type: ignore[arg-type]
        path = list(error.absolute_path)
        keyword = error.validator
        instance: Any = error.instance
        value: Any = error.validator_value
        schema: Any = error.schema
        # The field named in messages: None for the document itself, "" for a whole record.
        field: str | None = ".".join(map(str, path[2:] if path and path[0] in SECTIONS else path))
        field = field if path else None
        if keyword == "required":
            out += [problem(doc, [*path, k], _REQUIRED) for k in value if k not in instance]
        elif keyword == "additionalProperties":
            allowed = schema.get("properties", {})
            for name in instance:
                if name not in allowed:
                    out.append(problem(doc, [*path, name], _unknown_field_message(name, allowed)))
        elif keyword == "type":
            out.append(problem(doc, path, _type_message(str(value), instance, field)))
        elif keyword == "minLength":
            out.append(problem(doc, path, _EMPTY))
        elif keyword == "enum":
            out.append(problem(doc, path, _enum_message(instance, value)))
        elif keyword == "pattern" and value == DATE_PATTERN:
            out.append(problem(doc, path, f"{DATE_MESSAGE}, got {instance!r}"))
        elif keyword == "pattern" and value != r"\S":
            out.append(problem(doc, path, CODE_MESSAGE.format(instance)))
        elif keyword == "pattern":
            if instance:  # an empty string is reported by minLength
                out.append(problem(doc, path, _BLANK))
        elif keyword in _LIMITS:
            out.append(problem(doc, path, _limit_message(str(keyword), value, instance)))
        else:  # a keyword this module does not know yet: keep jsonschema's own words
            out.append(problem(doc, path, error.message))
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
    interests: tuple[str, ...]
    band_fields: frozenset[str]
    band_required: tuple[str, ...]


@cache
def record_spec() -> _Spec:
    defs = registry_schema()["$defs"]
    entity, holding, band = defs["entity"], defs["holding"], defs["band"]
    return _Spec(
        entity_fields=frozenset(entity["properties"]),
        entity_required=tuple(entity["required"]),
        types=tuple(entity["properties"]["type"]["enum"]),
        code=re.compile(defs["code"]["pattern"]),
        holding_fields=frozenset(holding["properties"]),
        holding_required=tuple(holding["required"]),
        interests=tuple(holding["properties"]["interest"]["enum"]),
        band_fields=frozenset(band["properties"]),
        band_required=tuple(band["required"]),
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fast_problems(doc: object) -> list[Problem]:
    out = schema_problems(doc, top_level_only=True)
    if not isinstance(doc, dict):
        return out
    spec = record_spec()
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
                and not eid.isspace()
                and rec.get("type") in types
                and type(rec.get("name", "")) is str
                and type(rec.get("notes", "")) is str
                and (type(j := rec.get("jurisdiction", "CN")) is str and code(j))
                and (type(h := rec.get("headquarters", "CN")) is str and code(h))
                and "designations" not in rec  # rare: checked in full below
            ):
                out += _entity_problems(doc, i, rec, spec)
    holding_fields, band_fields = spec.holding_fields, spec.band_fields
    holdings = doc.get("ownership")
    if isinstance(holdings, list):
        for i, rec in enumerate(holdings):
            if not (
                type(rec) is dict
                and rec.keys() <= holding_fields
                and type(owner := rec.get("owner")) is str
                and owner
                and not owner.isspace()
                and type(owned := rec.get("owned")) is str
                and owned
                and not owned.isspace()
                and (len(rec) == 3 or _optional_fields_ok(rec, spec))
                and (
                    ((t := type(p := rec.get("percent", 0))) is int or t is float)
                    and 0 < p <= 100
                    or t is dict
                    and _band_ok(p, band_fields)
                )
            ):
                out += _holding_problems(doc, i, rec, spec)
    return out


def _band_ok(band: dict[str, Any], fields: frozenset[str]) -> bool:
    """A band the schema accepts (min <= max is the loader's check, not the schema's)."""
    lo, hi = band.get("min"), band.get("max")
    return (
        band.keys() <= fields
        and (type(lo) is int or type(lo) is float)
        and (type(hi) is int or type(hi) is float)
        and 0 <= lo <= 100
        and 0 < hi <= 100
        and type(band.get("min_exclusive", False)) is bool
        and type(band.get("max_exclusive", False)) is bool
    )


def _optional_fields_ok(rec: dict[str, Any], spec: _Spec) -> bool:
    return (
        type(rec.get("notes", "")) is str
        and rec.get("interest", "shares") in spec.interests
        and (type(n := rec.get("interest_id", "x")) is str and n != "" and not n.isspace())
        and ("start" not in rec or is_date_text(rec["start"]))
        and ("end" not in rec or is_date_text(rec["end"]))
    )


def _record_problems(
    doc: object,
    where: tuple[str, int],
    rec: object,
    fields: frozenset[str],
    required: Iterable[str],
) -> list[Problem]:
    """What entities and holdings share: the record is an object (else that is the only
    problem), with no unknown field (additionalProperties) and every required one."""
    if not isinstance(rec, dict):
        return [problem(doc, where, _type_message("object", rec, ""))]
    out = [
        problem(doc, (*where, k), _unknown_field_message(k, fields)) for k in rec if k not in fields
    ]
    return out + [problem(doc, (*where, k), _REQUIRED) for k in required if k not in rec]


def _entity_problems(doc: object, i: int, rec: object, spec: _Spec) -> list[Problem]:
    # Each check mirrors one schema keyword with jsonschema's semantics: a keyword that does
    # not apply to the value's type passes, and NaN passes the numeric limits.
    out = _record_problems(doc, ("entities", i), rec, spec.entity_fields, spec.entity_required)
    if not isinstance(rec, dict):
        return out
    for k, v in rec.items():
        path = ("entities", i, k)
        if k in ("id", "name", "notes", "jurisdiction", "headquarters") and not isinstance(v, str):
            out.append(problem(doc, path, _type_message("string", v, k)))
        elif k == "id" and not v:
            out.append(problem(doc, path, _EMPTY))
        elif k == "id" and v.isspace():
            out.append(problem(doc, path, _BLANK))
        elif k == "type" and not (isinstance(v, str) and v in spec.types):
            out.append(problem(doc, path, _enum_message(v, spec.types)))
        elif k in ("jurisdiction", "headquarters") and not spec.code.search(v):
            out.append(problem(doc, path, CODE_MESSAGE.format(v)))
        elif k == "designations":
            out += designation_problems(doc, i, v)
    return out


def _holding_problems(doc: object, i: int, rec: object, spec: _Spec) -> list[Problem]:
    out = _record_problems(doc, ("ownership", i), rec, spec.holding_fields, spec.holding_required)
    if not isinstance(rec, dict):
        return out
    # The schema's if/else: percent may only be left out of a consolidation record.
    if "percent" not in rec and not _is_consolidation(rec.get("interest")):
        out.append(problem(doc, ("ownership", i, "percent"), _REQUIRED))
    for k in ("owner", "owned", "notes", "interest_id"):
        v = rec.get(k, _MISSING)
        if v is not _MISSING and not isinstance(v, str):
            out.append(problem(doc, ("ownership", i, k), _type_message("string", v, k)))
        elif k != "notes" and v == "":
            out.append(problem(doc, ("ownership", i, k), _EMPTY))
        elif k != "notes" and isinstance(v, str) and v.isspace():
            out.append(problem(doc, ("ownership", i, k), _BLANK))
    interest = rec.get("interest", "shares")
    if not (isinstance(interest, str) and interest in spec.interests):
        out.append(
            problem(doc, ("ownership", i, "interest"), _enum_message(interest, spec.interests))
        )
    if "percent" in rec:
        out += _percent_problems(doc, i, rec["percent"], spec)
    for k in ("start", "end"):
        if k in rec:
            out += date_problems(doc, ("ownership", i, k), rec[k])
    return out


def _is_consolidation(value: object) -> bool:
    return isinstance(value, str) and value == "consolidation"


def _percent_problems(doc: object, i: int, pct: object, spec: _Spec) -> list[Problem]:
    path: tuple[str | int, ...] = ("ownership", i, "percent")
    if isinstance(pct, dict):
        out = [
            problem(doc, (*path, k), _unknown_field_message(k, spec.band_fields))
            for k in pct
            if k not in spec.band_fields
        ]
        out += [problem(doc, (*path, k), _REQUIRED) for k in spec.band_required if k not in pct]
        for k in ("min", "max"):
            if k in pct:
                out += _number_problems(doc, (*path, k), pct[k], k == "max")
        for k in ("min_exclusive", "max_exclusive"):
            if k in pct and not isinstance(pct[k], bool):
                out.append(problem(doc, (*path, k), _type_message("boolean", pct[k], k)))
        return out
    return _number_problems(doc, path, pct, True)


def _number_problems(
    doc: object, path: tuple[str | int, ...], v: object, above_zero: bool
) -> list[Problem]:
    if not _is_number(v):
        return [problem(doc, path, _type_message("number", v, ".".join(map(str, path[2:]))))]
    assert isinstance(v, int | float)
    out = []
    if above_zero and v <= 0:
        out.append(problem(doc, path, _limit_message("exclusiveMinimum", 0, v)))
    elif not above_zero and v < 0:
        out.append(problem(doc, path, _limit_message("minimum", 0, v)))
    if v > 100:
        out.append(problem(doc, path, _limit_message("maximum", 100, v)))
    return out

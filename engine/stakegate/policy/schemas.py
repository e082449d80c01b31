"""Loads the JSON Schemas in ``schemas/``: the same files OPA type-checks the policy against.

Validators are compiled once per process and cached, because the engine validates every facts
document it sends and every decision it receives: a million of each when screening a national
register. Every document goes through ``fastjsonschema`` (the same schema file compiled to
Python, about 20 times faster than ``jsonschema``), which decides; a document it rejects is
validated again with ``jsonschema`` only to word every violation, and is an error even if that
finds none. A document that fails its schema is never sent on, and never an allow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from stakegate import settings
from stakegate.errors import FactsValidationError

__all__ = ["load_schema", "validate", "validator"]

_MAX_REPORTED = 10


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``schemas/<name>.schema.json`` as a dict."""
    path = settings.SCHEMA_DIR / f"{name}.schema.json"
    with path.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name))


@cache
def _compiled(name: str) -> Callable[[object], object]:
    # fastjsonschema knows drafts 4, 6 and 7; the schemas use nothing newer than draft 7 keywords
    # ($defs is reached by JSON pointer), so they compile as draft 7.
    schema = {k: v for k, v in load_schema(name).items() if k != "$schema"}
    validate_fast: Callable[[object], object] = fastjsonschema.compile(schema)
    return validate_fast


def _describe(error: ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(document)"
    return f"{where}: {error.message}"


def validate(name: str, document: object, what: str) -> None:
    """Raise ``FactsValidationError`` listing the violations of ``document`` against a schema."""
    try:
        _compiled(name)(document)
        return
    except fastjsonschema.JsonSchemaValueException as fast_error:
        first = f"{fast_error.name}: {fast_error.message}"
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        shown = [_describe(e) for e in errors[:_MAX_REPORTED]]
        if len(errors) > _MAX_REPORTED:
            shown.append(f"... and {len(errors) - _MAX_REPORTED} more")
        raise FactsValidationError(f"{what} fails schema {name!r}", shown)
    raise FactsValidationError(f"{what} fails schema {name!r}", [first])


# The common facts entity (no faults, no evidence) is checked by ``_plain_entity`` below instead
# of the compiled schema. That check only accepts documents the schema accepts (it tests every
# keyword of ``$defs/entity`` and ``$defs/share`` that applies, with stricter types: exact
# ``str``/``float``/``bool``/``dict``/``list``), so anything it does not accept, including every
# entity with faults or evidence, is left to the compiled schema.
_NON_SPACE = re.compile(r"\S")  # the entity id's pattern, searched as fastjsonschema does
_ENTITY_KEYS = frozenset({"id", "name", "type", "jurisdiction", "headquarters", "ownership"})
_ENTITY_TYPES = frozenset({"company", "person", "state", "other"})
_METHOD_KEYS = frozenset({"control", "look_through"})
_SHARE_KEYS = frozenset({"min", "max", "min_exclusive", "max_exclusive", "paths", "evidence"})
_SIDE_BY_SIDE_KEYS = _ENTITY_KEYS | {"regimes"}
_REGIME_KEYS = frozenset({"ownership"})


def _plain_share(share: Any) -> bool:
    if type(share) is not dict or share.keys() != _SHARE_KEYS:
        return False
    lo, hi, paths, evidence = share["min"], share["max"], share["paths"], share["evidence"]
    return (
        type(lo) is float
        and type(hi) is float
        and 0.0 <= lo <= 100.0
        and 0.0 <= hi <= 100.0
        and type(share["min_exclusive"]) is bool
        and type(share["max_exclusive"]) is bool
        and type(paths) is list
        and not paths
        and type(evidence) is list
        and not evidence
    )


def _plain_regimes(regimes: Any) -> bool:
    """Side-by-side facts (``$defs/regime_facts`` per regime) without faults or evidence."""
    if type(regimes) is not dict:
        return False
    for entry in regimes.values():
        if type(entry) is not dict or entry.keys() != _REGIME_KEYS:
            return False
        ownership = entry["ownership"]
        if ownership == "none":
            continue
        if not (type(ownership) is dict and ownership.keys() == _METHOD_KEYS):
            return False
        control, look_through = ownership["control"], ownership["look_through"]
        if type(control) is list:
            if not (_short_share(control) and _short_share(look_through)):
                return False
        elif not (_plain_share(control) and _plain_share(look_through)):
            return False
    return True


def _short_share(share: Any) -> bool:
    """``[min, max]``: a share without exclusive bounds or paths (``$defs/short_share``)."""
    return (
        type(share) is list
        and len(share) == 2
        and type(share[0]) is float
        and type(share[1]) is float
        and 0.0 <= share[0] <= 100.0
        and 0.0 <= share[1] <= 100.0
    )


def _plain_entity(entity: Any) -> bool:
    """True only for an entity without faults, designations or evidence that ``$defs/entity``
    accepts (with or without side-by-side facts)."""
    if type(entity) is not dict:
        return False
    if not entity.keys() <= _ENTITY_KEYS:
        if not (entity.keys() <= _SIDE_BY_SIDE_KEYS and _plain_regimes(entity.get("regimes"))):
            return False
    entity_id, kind, ownership = entity.get("id"), entity.get("type"), entity.get("ownership")
    name, jurisdiction, hq = (
        entity.get("name"),
        entity.get("jurisdiction"),
        entity.get("headquarters"),
    )
    return (
        type(entity_id) is str
        and _NON_SPACE.search(entity_id) is not None
        and type(kind) is str
        and kind in _ENTITY_TYPES
        and (name is None or type(name) is str)
        and (jurisdiction is None or type(jurisdiction) is str)
        and (hq is None or type(hq) is str)
        and type(ownership) is dict
        and ownership.keys() == _METHOD_KEYS
        and _plain_share(ownership["control"])
        and _plain_share(ownership["look_through"])
    )


def validate_facts(document: dict[str, Any], what: str) -> None:
    """``validate("facts", document, what)``, with the common entities checked directly.

    The schema checks each entity on its own, so ``document`` is valid exactly when its plain
    entities are (``_plain_entity``) and the same document with only the other entities is: that
    reduced document goes through the compiled schema. Any failure validates the whole document
    again, which words the violations as ``validate`` does.
    """
    entities = document.get("entities")
    if type(entities) is list:
        rest = [entity for entity in entities if not _plain_entity(entity)]
        if len(rest) < len(entities):
            try:
                _compiled("facts")({**document, "entities": rest})
                return
            except fastjsonschema.JsonSchemaValueException:
                pass
    validate("facts", document, what)

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
from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from stakegate import settings
from stakegate.errors import FactsValidationError

__all__ = ["is_valid_part", "load_schema", "validate", "validator"]

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


@cache
def _compiled_definition(name: str, definition: str) -> Callable[[object], object]:
    schema = load_schema(name)
    # The schema's own $id: fastjsonschema resolves "#/..." against the last $id it compiled.
    part = {"$id": schema["$id"], "$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    validate_fast: Callable[[object], object] = fastjsonschema.compile(part)
    return validate_fast


def is_valid_part(name: str, definition: str, document: object) -> bool:
    """Whether ``document`` is valid against ``$defs/<definition>`` of schema ``name`` (for a
    caller that checks the rest of a document itself and words failures with ``validate``)."""
    try:
        _compiled_definition(name, definition)(document)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


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

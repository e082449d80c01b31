"""Loads the JSON Schemas in ``schemas/``: the same files OPA type-checks the policy against.

Validators are compiled once per process and cached, because the engine validates every facts
document it sends and every decision it receives.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from stakegate import settings
from stakegate.exc import FactsValidationError

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


def _describe(error: ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(document)"
    return f"{where}: {error.message}"


def validate(name: str, document: object, what: str) -> None:
    """Raise ``FactsValidationError`` listing the violations of ``document`` against a schema."""
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        shown = [_describe(e) for e in errors[:_MAX_REPORTED]]
        if len(errors) > _MAX_REPORTED:
            shown.append(f"... and {len(errors) - _MAX_REPORTED} more")
        raise FactsValidationError(f"{what} fails schema {name!r}", shown)

"""Typed access to the fields of a parsed JSON statement, failing with where and what.

The importers read foreign JSON (BODS statements, FtM entities) field by field; each accessor
returns the field in the type the reader needs or raises a ``RegistryError`` naming the file,
the line and statement (``Where``) and the field's dotted path, with what was found instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stakegate.errors import RegistryError

__all__ = [
    "Where",
    "field_path",
    "show",
    "dicts",
    "optional_dict",
    "optional_str",
    "percent",
    "required_str",
    "str_list",
    "value_list",
]


@dataclass(frozen=True, slots=True)
class Where:
    """Where a statement is, for error messages: file, line, position and id."""

    source: str
    line: int
    index: int
    statement_id: str | None = None

    def label(self) -> str:
        sid = f", id {self.statement_id!r}" if self.statement_id else ""
        return f"line {self.line} (statement {self.index}{sid})"

    def error(self, path: str | None, message: str) -> RegistryError:
        return RegistryError(message, source=self.source, record=self.label(), field=path)


def field_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    return "a list" if isinstance(value, list) else "an object"


def optional_str(obj: Mapping[str, Any], key: str, where: Where, path: str) -> str | None:
    """A string field; absent or null is ``None``, anything else is an error."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise where.error(field_path(path, key), f"must be a string, got {show(value)}")


def required_str(obj: Mapping[str, Any], key: str, where: Where, path: str) -> str:
    value = optional_str(obj, key, where, path)
    if not value:
        raise where.error(
            field_path(path, key), "is required" if value is None else "must not be empty"
        )
    return value


def optional_dict(obj: Mapping[str, Any], key: str, where: Where, path: str) -> dict[str, Any]:
    """An object field; absent or null is an empty object."""
    value = obj.get(key)
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise where.error(field_path(path, key), f"must be an object, got {show(value)}")


def value_list(obj: Mapping[str, Any], key: str, where: Where, path: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise where.error(field_path(path, key), f"must be a list, got {show(value)}")


def dicts(obj: Mapping[str, Any], key: str, where: Where, path: str) -> list[dict[str, Any]]:
    items = value_list(obj, key, where, path)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise where.error(
                f"{field_path(path, key)}[{i}]", f"must be an object, got {show(item)}"
            )
    return items


def str_list(obj: Mapping[str, Any], key: str, where: Where, path: str) -> list[str]:
    items = value_list(obj, key, where, path)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise where.error(f"{field_path(path, key)}[{i}]", f"must be an id, got {show(item)}")
    return items


def percent(obj: Mapping[str, Any], key: str, where: Where, path: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(field_path(path, key), f"must be a number, got {show(value)}")
    if not (math.isfinite(value) and 0 <= value <= 100):
        raise where.error(
            field_path(path, key), f"must be a percentage from 0 to 100, got {value!r}"
        )
    return float(value)

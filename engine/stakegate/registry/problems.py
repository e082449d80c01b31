"""Problems found in a registry document, and the one ``RegistryError`` that reports them.

Shared by the record check (``check``) and the strict readers (``parse``): a problem names
its record (``ownership[7] (acme-cn -> acme-sg)``) and field, and ``registry_error`` orders
them, names the first and lists a few more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from stakegate.errors import RegistryError

__all__ = ["MAX_REPORTED", "SECTIONS", "Problem", "problem", "registry_error"]

# Problems listed in one error message; the count of the rest is given.
MAX_REPORTED: Final = 5
# The record lists of a registry, in the order problems are reported.
SECTIONS: Final = {"entities": 0, "ownership": 1}


@dataclass(frozen=True, slots=True)
class Problem:
    order: tuple[int, int]  # (section, index) for sorting; top level is (-1, 0)
    record: str | None
    field: str | None
    message: str

    def key(self) -> tuple[int, int, str, str]:
        return (*self.order, self.field or "", self.message)


def problem(doc: object, path: Iterable[str | int], message: str) -> Problem:
    """A problem at a document path such as ``("ownership", 7, "percent", "min")``."""
    parts = list(path)
    if len(parts) >= 2 and parts[0] in SECTIONS and isinstance(parts[1], int):
        section, index = str(parts[0]), parts[1]
        record = _record_label(doc, section, index)
        order, rest = (SECTIONS[section], index), parts[2:]
    else:
        record, order, rest = None, (-1, 0), parts
    return Problem(order, record, ".".join(map(str, rest)) or None, message)


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


def registry_error(problems: list[Problem], source: str) -> RegistryError:
    """One error naming the first problem, listing a few more and counting the rest."""
    ordered = sorted(set(problems), key=Problem.key)
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

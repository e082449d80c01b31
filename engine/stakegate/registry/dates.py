"""Dates in a registry: when a holding or a designation counts, and the checks of their records.

One rule serves holdings (``start``/``end``), designations (``since``/``until``) and the
importers' own dates: a dated fact counts as of a day when it began on or before that day and
has not ended by it, ``start <= as_of < end``, with an absent bound open. On its end date a
holding no longer counts; that is how BODS ``endDate`` and UK PSC ``ceased_on`` read.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from stakegate.registry.problems import Problem, problem

__all__ = [
    "DATE_MESSAGE",
    "DATE_PATTERN",
    "calendar_problem",
    "date_problems",
    "day_problems",
    "designation_problems",
    "is_date_text",
    "live_at",
    "parse_day",
]

# The registry schema's $defs/date pattern (checked equal by the tests).
DATE_PATTERN: Final = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
DATE_MESSAGE: Final = "must be a date YYYY-MM-DD"
_DATE = re.compile(DATE_PATTERN)
_DESIGNATION_FIELDS: Final = ("list", "program", "since", "until")


def live_at(start: date | None, end: date | None, as_of: date) -> bool:
    """Whether something that began on ``start`` and ended on ``end`` counts on ``as_of``."""
    return (start is None or start <= as_of) and (end is None or as_of < end)


def parse_day(value: object) -> date | None:
    """A ``YYYY-MM-DD`` string as a date; None for anything else (a wrong type, another
    spelling, a day the calendar does not have)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2025-02-30
        return None


def date_problems(doc: object, path: tuple[str | int, ...], value: object) -> list[Problem]:
    """What the schema finds wrong with one date field: a string of the form YYYY-MM-DD.
    (Whether the calendar has that day is the loader's check, ``day_problems``.)"""
    if isinstance(value, str) and _DATE.fullmatch(value):
        return []
    shown = repr(value) if isinstance(value, str) else type(value).__name__
    return [problem(doc, path, f"{DATE_MESSAGE}, got {shown}")]


def is_date_text(value: object) -> bool:
    """The schema's test of a date field (the fast record check)."""
    return isinstance(value, str) and _DATE.fullmatch(value) is not None


def day_problems(
    doc: object, where: tuple[str | int, ...], first: date | None, last: date | None, names: str
) -> list[Problem]:
    """The loader's check of a dated record: an interval that ends before it starts."""
    begin, end = names.split("/")
    if first is not None and last is not None and last < first:
        return [problem(doc, (*where, end), f"{last} is before {begin} {first}")]
    return []


def calendar_problem(doc: object, path: tuple[str | int, ...], text: str) -> Problem:
    return problem(doc, path, f"{text!r} is not a day of the calendar")


def designation_problems(doc: object, i: int, value: object) -> list[Problem]:
    """What is wrong with an entity's ``designations`` (a list of {list, program?, since?,
    until?})."""
    where: tuple[str | int, ...] = ("entities", i, "designations")
    if not isinstance(value, list):
        return [problem(doc, where, "must be a list of {list, program?, since?, until?}")]
    out: list[Problem] = []
    for n, item in enumerate(value):
        at = (*where, n)
        if not isinstance(item, dict):
            out.append(problem(doc, at, "must be a mapping {list, program?, since?, until?}"))
            continue
        for key in item:
            if key not in _DESIGNATION_FIELDS:
                allowed = ", ".join(_DESIGNATION_FIELDS)
                out.append(problem(doc, (*at, key), f"unknown field; allowed: {allowed}"))
        name = item.get("list")
        if not isinstance(name, str) or not name.strip():
            out.append(problem(doc, (*at, "list"), "must name the list (a non-blank string)"))
        if "program" in item and not isinstance(item["program"], str):
            out.append(problem(doc, (*at, "program"), "must be a string"))
        for key in ("since", "until"):
            if key in item:
                out += date_problems(doc, (*at, key), item[key])
    return out

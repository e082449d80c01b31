"""The shape every comparison report shares, whatever it compares and however it is rendered.

``bundle diff`` (two policies, one registry) and ``changes`` (two screenings) produce the same
report: a JSON document with ``impact`` (``{"deny->allow": n}``) and ``entities`` (``[{entity,
name, before, after, reasons_before, reasons_after, ...}]``). The entity lists are produced on
demand, one entity at a time, so a report over a million entities is written without holding
them all; the renderers (``render``) stream them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Entry", "Report", "transition"]

Entry = dict[str, Any]


def transition(before: str, after: str) -> str:
    """The impact key of a flip: ``deny->allow``."""
    return f"{before}->{after}"


@dataclass(slots=True)
class Report:
    """``doc`` is the JSON document less its lists; ``lists`` yield them (``entities`` always,
    ``appeared``/``disappeared`` for screenings) and are written after ``doc``, in order;
    ``diagram`` draws one entry (its index keeps SVG ids unique on a page)."""

    kind: Literal["policy", "screenings"]
    title: str
    doc: dict[str, Any]
    lists: dict[str, Callable[[], Iterator[Entry]]] = field(default_factory=dict)
    diagram: Callable[[Entry, int], str] | None = None

    def entries(self, name: str) -> Iterator[Entry]:
        make = self.lists.get(name)
        return make() if make is not None else iter(())

    def full(self) -> dict[str, Any]:
        """The whole JSON document in memory (for tests and small reports)."""
        return {**self.doc, **{name: list(self.entries(name)) for name in self.lists}}

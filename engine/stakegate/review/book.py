"""What a report knows about each entity it names: name, location, decision, direct owners.

Sentences and diagrams speak of the owners on a path, not only of the entity that flipped, so
they look each one up in a *book*: a function from entity id to ``EntityInfo``. A review of two
policies fills it from the registry and the decisions; a comparison of two screenings from the
decision lines (and, when given, the registry). A book never guesses: what it does not know is
``None`` and is shown as unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stakegate.ownership.interval import Interval
from stakegate.registry.model import Registry

__all__ = [
    "LOCATION_CODES",
    "Book",
    "EntityInfo",
    "entity_label",
    "located_regions",
    "registry_owners",
    "share_label",
]

# Reason codes that say an entity is itself in a restricted region.
LOCATION_CODES = frozenset({"restricted_jurisdiction", "restricted_headquarters"})


@dataclass(frozen=True, slots=True)
class EntityInfo:
    """One entity as a report shows it; ``owners`` is ``None`` when the direct owners are not
    known (no registry), else ``(owner id, share label)`` pairs, largest share first."""

    name: str | None = None
    location: str | None = None
    decision: str | None = None
    regions: tuple[str, ...] = ()
    owners: tuple[tuple[str, str], ...] | None = None

    @property
    def restricted_by_location(self) -> bool:
        return bool(self.regions)

    @property
    def restricted_by_ownership(self) -> bool:
        return self.decision == "deny" and not self.regions


Book = Callable[[str], EntityInfo]


def entity_label(entity_id: str, info: EntityInfo) -> str:
    """``Name (id)``, or the id alone when the entity has no name."""
    if info.name and info.name != entity_id:
        return f"{info.name} ({entity_id})"
    return entity_id


def located_regions(reasons: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The restricted regions a decision's location reasons name (empty: not located in one)."""
    found: list[str] = []
    for reason in reasons:
        if reason.get("code") in LOCATION_CODES:
            region = str(reason.get("region") or reason.get("value") or "?")
            if region not in found:
                found.append(region)
    return tuple(found)


def _number(value: float) -> str:
    return f"{round(value, 2):g}"


def share_label(share: Interval) -> str:
    """``60%``, or ``>50–75%`` for a band (``>`` and ``<`` mark exclusive bounds)."""
    low = f"{'>' if share.min_exclusive else ''}{_number(share.min)}"
    if share.min == share.max:
        return f"{low}%"
    return f"{low}–{'<' if share.max_exclusive else ''}{_number(share.max)}%"


def registry_owners(
    registry: Registry, entity_ids: Iterable[str]
) -> dict[str, tuple[tuple[str, str], ...]]:
    """The direct owners of ``entity_ids`` with their share labels, largest first (one pass
    over the holdings; the labels of several records for one pair are joined with `` / ``)."""
    wanted = set(entity_ids)
    found: dict[str, dict[str, list[tuple[float, str]]]] = {e: {} for e in wanted}
    for holding in registry.holdings:
        if holding.owned not in wanted:
            continue
        share = holding.share
        label = "consolidation" if share is None else share_label(share)
        top = 100.0 if share is None else share.max
        found[holding.owned].setdefault(holding.owner, []).append((top, label))
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for entity_id, owners in found.items():
        ranked = sorted(owners.items(), key=lambda item: (-max(t for t, _ in item[1]), item[0]))
        out[entity_id] = tuple(
            (owner, " / ".join(label for _, label in shares)) for owner, shares in ranked
        )
    return out

"""Which entities of a registry the batch form sends as plain group members: decided once for
the whole registry, in numpy, then read for each batch.

A plain member (``policy/batch.py``) is an entity whose facts are its group's shared facts
(type, jurisdiction, headquarters), its id and name, and four inclusive bounds that cannot
cross the threshold: not restricted, no data fault, no evidence. For a policy that takes them,
a group sends its members as columns (ids, names, each bound, exact bounds), which OPA checks
with a few builtins over each column and searches that stop at the first failure, instead of
one rule body per member (``batch.rego`` has the numbers).

Asked entity by entity which entities are plain members, that cost the engine about 3.5 µs of
Python per entity and batch at 1M entities (a third of the time it spent building a screening's
requests); as columns over the register it is a few numpy passes, once (1M: about 0.9 s, 0.3 s
of it the rounding the batch form needed before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

import numpy as np

from stakegate.ownership.compute import OwnershipResult
from stakegate.policy.facts import GroupKey, Member, RegistryFacts

__all__ = ["MemberGroups", "MemberPlan"]

# The facts a member shares with its group: type, jurisdiction, headquarters.
_SHARED: Final = attrgetter("type", "jurisdiction", "headquarters")


@dataclass(slots=True)
class MemberGroups:
    """The plain members of one batch, grouped by the facts they share, groups in the order of
    their first member and members in batch order."""

    keys: list[GroupKey]
    # Per group: the positions (in the batch) of its members, and the members with their
    # exact bounds ([id, name, control_min, control_max, look_through_min, look_through_max]).
    groups: list[tuple[list[int], list[Member]]]
    # Per group: its fields as sent beside its facts, {"members": [...]} and maybe
    # {"columns": {...}} (``MemberPlan.groups``).
    sent: list[dict[str, Any]]


class MemberPlan:
    """For every entity of one ``RegistryFacts``: whether it is a plain member, its group, its
    name and its bounds (exact, and rounded outward as a policy that takes members of seven
    reads them: ``OwnershipResult.sent_bounds``). Rows are the facts' index positions, which
    follow the registry's order."""

    __slots__ = ("_changed", "_codes", "_exact", "_keys", "_names", "_plain", "_sent")

    def __init__(self, facts: RegistryFacts) -> None:
        entities = list(facts.registry.entities.values())
        index, last = facts.index, len(entities) - 1
        if len(index) != len(entities) or (
            entities and (index[entities[0].id], index[entities[-1].id]) != (0, last)
        ):
            raise ValueError("the facts' index does not follow the registry's order")
        # C-level loops only (map, dict.fromkeys): a generator here cost 0.5 s at 1M.
        shared = list(map(_SHARED, entities))
        codes = {key: code for code, key in enumerate(dict.fromkeys(shared))}
        self._codes = np.fromiter(map(codes.__getitem__, shared), np.int64, len(shared))
        self._keys: list[GroupKey] = [(kind.value, j, hq) for kind, j, hq in codes]
        self._names = [e.name for e in entities]
        result = facts.result
        if not isinstance(result, OwnershipResult):  # facts under a regime: side by side only
            self._plain = np.zeros(len(entities), dtype=bool)
            self._exact = self._sent = np.zeros((len(entities), 4))
            self._changed = self._plain
            return
        exact, plain = result.plain_columns()
        self._sent, self._changed = result.sent_bounds()
        # A share whose upper bound may cross the threshold has evidence: sent whole.
        plain = plain & ~facts.threshold.upper_crosses_many(np.maximum(exact[:, 1], exact[:, 3]))
        for entity_id in facts.faults:
            plain[index[entity_id]] = False
        self._exact, self._plain = exact, plain

    def plain(self, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` are plain members."""
        result: np.ndarray = self._plain[rows]
        return result

    def groups(
        self,
        ids: Sequence[str],
        rows: np.ndarray,
        positions: np.ndarray,
        *,
        rounded: bool,
        columns: bool = False,
    ) -> MemberGroups:
        """The plain members at ``positions`` of a batch (``ids``, at index ``rows``), grouped.
        ``rounded``: each is sent as [id, name, four bounds rounded outward, the exact bounds
        or None when rounding changed none] (``batch.facts``); else as its exact member.
        ``columns`` (with ``rounded``): the same, as the group's columns."""
        at = rows[positions]
        codes = self._codes[at]
        order = np.argsort(codes, kind="stable")
        parts = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1) if len(order) else []
        parts.sort(key=lambda part: int(part[0]))  # groups in the order of their first member
        where, rows_of = positions.tolist(), at.tolist()
        exact = self._exact[at].tolist()
        sent_rows = self._sent[at]
        if not rounded:
            sent = exact
        elif columns:
            sent = []  # each group reads its columns from sent_rows
        else:
            sent = sent_rows.tolist()
        changed = self._changed[at].tolist() if rounded else None
        names, keys = self._names, self._keys
        out = MemberGroups([], [], [])
        for part in parts:
            picked = part.tolist()
            members = [[ids[where[k]], names[rows_of[k]], *exact[k]] for k in picked]
            out.keys.append(keys[int(codes[picked[0]])])
            out.groups.append(([where[k] for k in picked], members))
            if changed is None:
                out.sent.append({"members": members})
            elif columns:
                bounds = sent_rows[part].T.tolist()
                columns_of = _columns(members, bounds, exact, picked, changed)
                out.sent.append({"columns": columns_of, "members": []})
            else:
                out.sent.append(
                    {
                        "members": [
                            [*member[:2], *sent[k], exact[k] if changed[k] else None]
                            for k, member in zip(picked, members, strict=True)
                        ]
                    }
                )
        return out


def _columns(
    members: list[Member],
    bounds: list[list[float]],
    exact: list[list[float]],
    picked: list[int],
    changed: list[bool],
) -> dict[str, list[Any]]:
    """A group's members as columns: ids, names, each bound as sent
    (``bounds``, one list per bound), and the exact bounds (None where rounding changed none)."""
    control_min, control_max, look_through_min, look_through_max = bounds
    return {
        "ids": [m[0] for m in members],
        "names": [m[1] for m in members],
        "control_min": control_min,
        "control_max": control_max,
        "look_through_min": look_through_min,
        "look_through_max": look_through_max,
        "exact": [exact[k] if changed[k] else None for k in picked],
    }

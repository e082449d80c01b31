"""The regimes a policy defines, as the policy view gives them, and who each one restricts.

A regime (docs/regimes.md) is a rule of its own: its restricted regions, its designation lists,
its threshold, and whether restricted owners' shares are added up (``combined``) or each owner
counts alone (``per_owner``). Which regimes exist and what they say is policy data in Rego; the
engine reads them from the policy view (``data.stakegate.view.policy``, ``regimes``), the default
regime (the top-level parameters) first, and keeps no regime value of its own. Each regime comes
with the codes its regions restrict, so that the engine classifies a code under any regime
without asking OPA again; a code the policy does not know is unknown under every regime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast

from stakegate.errors import InputError, PolicyEvaluationError
from stakegate.ownership.graph import Status
from stakegate.ownership.interval import Comparison, Threshold
from stakegate.registry.model import Entity

__all__ = [
    "ALL",
    "Aggregation",
    "RegimeParams",
    "parse_regimes",
    "regime_status",
    "resolve_regimes",
]

Aggregation = Literal["combined", "per_owner"]
# What --regimes takes for every regime the policy defines.
ALL = "all"
_METHODS = ("control", "look_through", "either")
_AGGREGATIONS = ("combined", "per_owner")


@dataclass(frozen=True, slots=True)
class RegimeParams:
    """One regime of the policy view; ``restricted_codes`` maps each known code its regions
    restrict to the region (every other known code is clear under it)."""

    name: str
    title: str
    restricted_codes: Mapping[str, str]
    designation_lists: frozenset[str]
    threshold: Threshold
    aggregation: Aggregation
    method: str
    in_force: tuple[Mapping[str, Any], ...] = ()

    @property
    def has_regions(self) -> bool:
        return bool(self.restricted_codes)


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _regime(doc: object, tolerance: float) -> RegimeParams:
    if not isinstance(doc, dict):
        raise PolicyEvaluationError(f"policy view: a regime is not an object: {str(doc)[:200]}")
    name, codes, lists = doc.get("name"), doc.get("restricted_codes"), doc.get("designation_lists")
    threshold, comparison = doc.get("threshold"), doc.get("comparison")
    windows = doc.get("in_force")
    if not (
        _text(name)
        and _text(doc.get("title"))
        and isinstance(codes, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in codes.items())
        and isinstance(lists, list)
        and all(_text(x) for x in lists)
        and _number(threshold)
        and comparison in (">", ">=")
        and doc.get("aggregation") in _AGGREGATIONS
        and doc.get("method") in _METHODS
        and isinstance(windows, list)
        and all(isinstance(w, dict) for w in windows)
    ):
        raise PolicyEvaluationError(f"policy view: regime is invalid: {str(doc)[:300]}")
    assert isinstance(threshold, int | float)
    return RegimeParams(
        cast(str, name),
        cast(str, doc["title"]),
        codes,
        frozenset(cast(list[str], lists)),
        Threshold(float(threshold), cast(Comparison, comparison), tolerance),
        cast(Aggregation, doc["aggregation"]),
        cast(str, doc["method"]),
        tuple(windows),
    )


def parse_regimes(doc: object, tolerance: float) -> tuple[RegimeParams, ...]:
    """The view's ``regimes`` (absent in a policy built before regimes: none); anything
    malformed is a policy error."""
    if doc is None:
        return ()
    if not isinstance(doc, list) or not doc:
        raise PolicyEvaluationError("policy view: regimes is not a non-empty list")
    regimes = tuple(_regime(item, tolerance) for item in doc)
    if len({r.name for r in regimes}) != len(regimes):
        raise PolicyEvaluationError("policy view: two regimes have the same name")
    return regimes


def resolve_regimes(asked: Sequence[str], regimes: Sequence[RegimeParams]) -> list[RegimeParams]:
    """The regimes named in ``asked`` (``all``: every one, the default first), in the order
    asked; an unknown or repeated name is an ``InputError``."""
    if not regimes:
        raise InputError(
            "the policy defines no regimes (built before regimes existed)", param="regimes"
        )
    by_name = {r.name: r for r in regimes}
    if list(asked) == [ALL]:
        return list(regimes)
    if not asked:
        raise InputError("name at least one regime, or 'all'", param="regimes")
    out: list[RegimeParams] = []
    for name in asked:
        if name not in by_name:
            known = ", ".join(by_name)
            raise InputError(f"unknown regime {name!r}; the policy has: {known}", param="regimes")
        if by_name[name] in out:
            raise InputError(f"regime {name!r} is named twice", param="regimes")
        out.append(by_name[name])
    return out


def regime_status(
    regime: RegimeParams,
    entities: Sequence[Entity],
    known: Mapping[str, str | None],
    as_of: date,
) -> list[Status]:
    """Each entity's status under ``regime`` as of ``as_of``: ``RESTRICTED`` when a code of it is
    restricted by the regime's regions or it has a designation on one of the regime's lists that
    counts that day; otherwise, only for a regime with regions, ``UNKNOWN`` without a
    jurisdiction or with a code the policy does not know (``known``: the view's classification);
    otherwise ``CLEAR``."""
    codes, lists, regions = regime.restricted_codes, regime.designation_lists, regime.has_regions
    restricted, unknown, clear = Status.RESTRICTED, Status.UNKNOWN, Status.CLEAR
    out: list[Status] = []
    append = out.append
    for e in entities:
        j, hq = e.jurisdiction, e.headquarters
        if (j is not None and j in codes) or (hq is not None and hq in codes):
            append(restricted)
        elif e.designations and any(d.list in lists and d.is_live(as_of) for d in e.designations):
            append(restricted)
        elif regions and (j is None or j not in known or (hq is not None and hq not in known)):
            append(unknown)
        else:
            append(clear)
    return out

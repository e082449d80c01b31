"""Reasons as plain sentences: what a lawyer reads instead of reason codes and JSON.

One function, ``reason_sentence``, writes every sentence every format shows (JSON, Markdown,
HTML, CSV, PDF, and ``check --format text``), so a reason reads the same wherever it appears.
Bounds are spelled out ("more than 50% and at most 100%"), never shown as ``(50, 100]``; the
threshold is said the way the policy applies it ("the policy bars more than 50%"); a path names
each owner with the share it holds in the next ("Red Lantern Holdings (rl) 60% → …"). Entities
are looked up in a ``Book`` for names, regions and whether an intermediate is itself restricted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stakegate import settings
from stakegate.review.book import Book, EntityInfo, entity_label

__all__ = [
    "decision_sentences",
    "percent_phrase",
    "reason_sentence",
    "threshold_phrase",
]

_METHOD = {"control": "control method", "look_through": "look-through method"}


def _number(value: Any) -> str:
    try:
        return f"{round(float(value), 2):g}"
    except (TypeError, ValueError):
        return str(value)


def percent_phrase(bounds: Mapping[str, Any]) -> str:
    """``60%``, ``between 45% and 58%``, or with exclusive bounds ``more than 50% and at most
    100%`` (exclusivity flags absent count as inclusive)."""
    low, high = bounds.get("min"), bounds.get("max")
    low_x, high_x = bool(bounds.get("min_exclusive")), bool(bounds.get("max_exclusive"))
    if low == high and not (low_x or high_x):
        return f"{_number(low)}%"
    if not (low_x or high_x):
        return f"between {_number(low)}% and {_number(high)}%"
    lower = f"{'more than' if low_x else 'at least'} {_number(low)}%"
    upper = f"{'less than' if high_x else 'at most'} {_number(high)}%"
    return f"{lower} and {upper}"


def threshold_phrase(policy: Mapping[str, Any]) -> str:
    """What the policy bars: ``more than 50%`` (``>``) or ``at least 50%`` (``>=``)."""
    words = "at least" if policy.get("comparison") == ">=" else "more than"
    return f"{words} {_number(policy.get('threshold'))}%"


def _unknown(_entity_id: str) -> EntityInfo:
    return EntityInfo()


def _node(entity_id: str, info: EntityInfo, position: str) -> str:
    label = entity_label(entity_id, info)
    if position == "source" and info.regions:
        return f"{label} [{', '.join(info.regions)}]"
    if position == "middle" and info.restricted_by_location:
        return f"{label} [itself in {', '.join(info.regions)}]"
    if position == "middle" and info.restricted_by_ownership:
        return f"{label} [itself restricted]"
    return label


def _edge(edge: Any) -> str:
    if isinstance(edge, Mapping) and "min" in edge and "max" in edge:
        low, high = _number(edge["min"]), _number(edge["max"])
        return f" {low}%" if low == high else f" {low}–{high}%"
    return ""


def _path_phrase(path: Sequence[str], edges: Sequence[Any], book: Book) -> str:
    parts: list[str] = []
    for i, node in enumerate(path):
        position = "source" if i == 0 else "entity" if i == len(path) - 1 else "middle"
        text = _node(node, book(node), position)
        if i < len(path) - 1 and i < len(edges):
            text += _edge(edges[i])
        parts.append(text)
    cut = "… → " if len(path) >= settings.MAX_PATH_NODES else ""
    return cut + " → ".join(parts)


def _paths(reason: Mapping[str, Any]) -> list[tuple[list[str], list[Any]]]:
    evidence = reason.get("evidence")
    if isinstance(evidence, list) and evidence:
        return [
            (list(item.get("path", [])), list(item.get("edges", [])))
            for item in evidence
            if isinstance(item, Mapping)
        ]
    return [(list(path), []) for path in reason.get("paths", []) if isinstance(path, list)]


def _owners_phrase(paths: list[tuple[list[str], list[Any]]], book: Book) -> str:
    regions: list[str] = []
    uncertain = False
    for path, _ in paths:
        if not path:
            continue
        info = book(path[0])
        regions += [r for r in info.regions if r not in regions]
        uncertain = uncertain or (info.decision is not None and not info.regions)
    if regions and uncertain:
        return f"owners in {' and '.join(regions)} or of uncertain status"
    if regions:
        return f"owners in {' and '.join(regions)}"
    if uncertain:
        return "owners of uncertain status (unknown jurisdiction or faulty data)"
    return "restricted owners"


def _ownership(reason: Mapping[str, Any], policy: Mapping[str, Any], book: Book) -> str:
    paths = _paths(reason)
    share = percent_phrase(reason.get("restricted_percent") or {})
    method = _METHOD.get(str(reason.get("method")), f"{reason.get('method')} method")
    owners = _owners_phrase(paths, book)
    bars = f"the policy bars {threshold_phrase(policy)}"
    if reason.get("code") == "restricted_ownership":
        text = f"{share} owned by {owners} ({method}); {bars}"
    else:
        text = (
            f"{share} owned by {owners} ({method}); {bars}, and the registry's figures do not "
            "say on which side of it the share lies, so it needs review"
        )
    shown = [_path_phrase(path, edges, book) for path, edges in paths if path]
    if shown:
        text += f". {'Path' if len(shown) == 1 else 'Paths'}: " + "; ".join(shown)
    return text[0].upper() + text[1:] + "."


def _location(reason: Mapping[str, Any]) -> str:
    verb = "Headquartered" if reason.get("code") == "restricted_headquarters" else "Incorporated"
    value, region = reason.get("value"), reason.get("region")
    if value == region or not region:
        return f"{verb} in {value}, a restricted region."
    return f"{verb} in {value}, part of the restricted region {region}."


def _faults(reason: Mapping[str, Any]) -> str:
    parts = []
    for fault in reason.get("faults", []):
        if isinstance(fault, Mapping):
            records = ", ".join(str(r) for r in fault.get("records", []))
            parts.append(f"{fault.get('message', fault.get('kind'))} (records: {records})")
    return "The registry data about it is faulty, so it needs review: " + "; ".join(parts) + "."


def reason_sentence(
    reason: Mapping[str, Any], policy: Mapping[str, Any], book: Book | None = None
) -> str:
    """One reason of a decision made under ``policy`` (its ``threshold`` and ``comparison``)."""
    look = book or _unknown
    code = reason.get("code")
    if code in ("restricted_ownership", "possible_restricted_ownership"):
        return _ownership(reason, policy, look)
    if code in ("restricted_jurisdiction", "restricted_headquarters"):
        return _location(reason)
    if code == "unknown_jurisdiction":
        return "Its jurisdiction is not known, so it needs review."
    if code == "data_fault":
        return _faults(reason)
    if code == "exception_applied":
        return (
            f"Allowed by an exception approved by {reason.get('approver')}, valid until "
            f"{reason.get('expires')}: {reason.get('reason')}."
        )
    if code == "exception_expired":
        return (
            f"An exception approved by {reason.get('approver')} expired on "
            f"{reason.get('expires')} and no longer applies ({reason.get('reason')})."
        )
    if code == "invalid_facts":
        fields = ", ".join(str(f) for f in reason.get("fields", []))
        return f"The facts about it were missing or malformed ({fields}), so it needs review."
    if code == "designated":
        since = f" since {reason['since']}" if reason.get("since") else ""
        program = f" ({reason['program']})" if reason.get("program") else ""
        return f"It is itself on the list {reason.get('list')}{program}{since}."
    if code == "regime_not_in_force":
        windows = "; ".join(
            f"from {w.get('from')}" + (f" until {w['until']}" if w.get("until") else "")
            for w in reason.get("in_force", [])
            if isinstance(w, Mapping)
        )
        return (
            f"The regime {reason.get('regime')} is not in force on {reason.get('as_of')} "
            f"(in force {windows or 'never'}), so it restricts nothing that day."
        )
    details = ", ".join(f"{k} {v}" for k, v in reason.items() if k != "code")
    return f"Reason {code}" + (f": {details}." if details else ".")


def decision_sentences(
    outcome: str,
    reasons: Sequence[Mapping[str, Any]],
    policy: Mapping[str, Any],
    book: Book | None = None,
) -> list[str]:
    """Every reason of a decision as a sentence; an allow without reasons says so."""
    if not reasons:
        return ["No restriction found."] if outcome == "allow" else [f"{outcome} without reasons."]
    return [reason_sentence(reason, policy, book) for reason in reasons]

"""What a new policy changes: the report a legal reviewer reads before approving it.

``compare_policies`` reads both policies (OLD a verified bundle, NEW a bundle or, for a preview,
a policy directory), then lays side by side what changed in the text (Rego diffs), in the
parameters (regions added or removed, threshold, method, exceptions), in the documentation the
rules carry (METADATA annotations, read by ``opa inspect``, shown in an appendix), and, most
important, in the decisions: it screens one registry under each policy with the real engine (the
same ``Screener`` as ``stakegate screen``) and counts every transition, so the numbers in the
report are exactly what running ``screen`` with each policy would show. Every entity that flips
carries its name, its reasons as sentences, the changes that cause the flip (``causes``), and a
diagram of its owners.

With ``regimes`` (docs/regimes.md) both policies decide side by side under the same regimes
(``all``: every regime of NEW, which OLD must define too); the entities listed are those whose
combined decision flips, and ``regimes`` counts every regime's own transitions.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from stakegate import settings
from stakegate.errors import InputError
from stakegate.registry.model import Entity, Registry
from stakegate.review.book import Book, EntityInfo, located_regions, registry_owners, share_label
from stakegate.review.causes import attribute, open_policy
from stakegate.review.diagram import entity_diagram
from stakegate.review.report import Entry, Report, transition
from stakegate.review.sentences import decision_sentences
from stakegate.review.sources import PolicySource, load_source, rule_annotations

__all__ = ["compare_policies", "location_caption", "share_label"]

_NONE: tuple[dict[str, Any], ...] = ()


@dataclass(slots=True)
class _Run:
    """One policy screened over the registry: outcome and reasons per entity (no reasons kept
    for the common allow), and the policy block the decisions carry."""

    source: PolicySource
    results: dict[str, tuple[str, list[dict[str, Any]] | tuple[dict[str, Any], ...]]]
    policy: dict[str, Any]
    # With regimes: the regimes decided under, and each entity's outcome under each.
    regimes: list[str] | None = None
    by_regime: dict[str, dict[str, str]] | None = None


def location_caption(entity: Entity | None) -> str | None:
    """``SG``, ``SG / HQ CN``, or ``jurisdiction unknown``; ``None`` for an unknown entity."""
    if entity is None:
        return None
    if not entity.jurisdiction:
        hq = f" / HQ {entity.headquarters}" if entity.headquarters else ""
        return f"jurisdiction unknown{hq}"
    if entity.headquarters and entity.headquarters != entity.jurisdiction:
        return f"{entity.jurisdiction} / HQ {entity.headquarters}"
    return entity.jurisdiction


def _screen(
    source: PolicySource,
    registry: Registry,
    as_of: date,
    key: Path | None,
    regimes: Sequence[str] | None = None,
) -> _Run:
    results: dict[str, Any] = {}
    policy: dict[str, Any] = {}
    by_regime: dict[str, dict[str, str]] | None = None
    with open_policy(source.path, key) as screener_for:
        try:
            screener = screener_for(registry, as_of, regimes)
        except InputError as err:
            raise InputError(f"{source.path}: {err.detail}", param=err.param) from None
        names = None if screener.pipeline.regimes is None else screener.pipeline.regimes.names
        if names is not None:
            by_regime = {}
        for decision in screener.screen():
            results[decision["entity"]] = (decision["decision"], decision["reasons"] or _NONE)
            policy = dict(decision["policy"])
            if by_regime is not None:
                under = decision.get("regimes") or {}
                by_regime[decision["entity"]] = {n: d["decision"] for n, d in under.items()}
    return _Run(source, results, policy, names, by_regime)


def regime_impact(old: _Run, new: _Run, entity_ids: Iterable[str]) -> dict[str, Any]:
    """Per regime, the transitions of its own decisions and the unchanged counts."""
    names = new.regimes or []
    impact: dict[str, dict[str, int]] = {name: {} for name in names}
    unchanged: dict[str, dict[str, int]] = {name: {} for name in names}
    before, after = old.by_regime or {}, new.by_regime or {}
    for entity_id in entity_ids:
        b_all, a_all = before.get(entity_id, {}), after.get(entity_id, {})
        for name in names:
            b, a = b_all.get(name, "?"), a_all.get(name, "?")
            if b == a:
                unchanged[name][b] = unchanged[name].get(b, 0) + 1
            else:
                key = transition(b, a)
                impact[name][key] = impact[name].get(key, 0) + 1
    return {
        "names": names,
        "impact": {n: dict(sorted(v.items())) for n, v in impact.items()},
        "unchanged": {n: dict(sorted(v.items())) for n, v in unchanged.items()},
    }


def _missing(items: Iterable[Any], others: list[Any]) -> list[Any]:
    return [item for item in items if item not in others]


def parameter_changes(old: PolicySource, new: PolicySource) -> list[dict[str, Any]]:
    """One entry per changed config parameter, with regions/exceptions added and removed."""
    before, after = old.config, new.config
    changes: list[dict[str, Any]] = []
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        if b == a:
            continue
        entry: dict[str, Any] = {"name": name, "before": b, "after": a}
        if name == "restricted_regions" and isinstance(b, list) and isinstance(a, list):
            old_set, new_set = {str(r).upper() for r in b}, {str(r).upper() for r in a}
            entry["added"] = sorted(new_set - old_set)
            entry["removed"] = sorted(old_set - new_set)
        elif isinstance(b, list) and isinstance(a, list):
            entry["added"] = _missing(a, b)
            entry["removed"] = _missing(b, a)
        changes.append(entry)
    return changes


def rego_changes(old: PolicySource, new: PolicySource) -> list[dict[str, Any]]:
    """Unified diffs of the rule files, added and removed files included."""
    changes: list[dict[str, Any]] = []
    for name in sorted(set(old.rego) | set(new.rego)):
        b, a = old.rego.get(name), new.rego.get(name)
        if a == b:
            continue
        status = "added" if b is None else "removed" if a is None else "changed"
        diff = difflib.unified_diff(
            (b or b"").decode("utf-8", "replace").splitlines(keepends=True),
            (a or b"").decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"{old.version}/{name}",
            tofile=f"{new.version}/{name}",
        )
        changes.append({"file": name, "status": status, "diff": "".join(diff)})
    return changes


def documentation_changes(
    old: Mapping[str, dict[str, Any]], new: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for key in sorted(set(old) | set(new)):
        b, a = old.get(key), new.get(key)
        if a == b:
            continue
        status = "added" if b is None else "removed" if a is None else "changed"
        changes.append({"key": key, "status": status, "before": b, "after": a})
    return changes


def _regime_outcomes(old: _Run, new: _Run, entity_id: str) -> dict[str, Any]:
    if new.regimes is None:
        return {}
    return {
        "regimes_before": (old.by_regime or {}).get(entity_id, {}),
        "regimes_after": (new.by_regime or {}).get(entity_id, {}),
    }


def _book(registry: Registry, run: _Run, owners: Mapping[str, tuple[tuple[str, str], ...]]) -> Book:
    def look(entity_id: str) -> EntityInfo:
        entity = registry.entities.get(entity_id)
        outcome, reasons = run.results.get(entity_id, (None, _NONE))
        return EntityInfo(
            name=entity.name if entity else None,
            location=location_caption(entity),
            decision=outcome,
            regions=located_regions(reasons),
            owners=owners.get(entity_id),
        )

    return look


def compare_policies(
    old_path: Path,
    new_path: Path,
    registry: Registry,
    *,
    public_key: Path | None = None,
    as_of: date | None = None,
    regimes: Sequence[str] | None = None,
) -> Report:
    """Read both policies, screen ``registry`` under each (side by side under ``regimes`` when
    given), and describe every difference."""
    key = public_key or settings.BUNDLE_PUBLIC_KEY
    day = as_of or datetime.now(UTC).date()
    old_source, new_source = load_source(old_path, key), load_source(new_path, key)
    new = _screen(new_source, registry, day, key, regimes)
    old = _screen(old_source, registry, day, key, new.regimes)
    impact: dict[str, int] = {}
    unchanged: dict[str, int] = {}
    reasons_changed: list[str] = []
    changed: list[str] = []
    for entity_id in registry.entities:
        (b, b_reasons), (a, a_reasons) = old.results[entity_id], new.results[entity_id]
        if b == a:
            unchanged[b] = unchanged.get(b, 0) + 1
            if list(b_reasons) != list(a_reasons):
                reasons_changed.append(entity_id)
            continue
        impact[transition(b, a)] = impact.get(transition(b, a), 0) + 1
        changed.append(entity_id)
    attribution = attribute(old_source, new_source, registry, day, changed, new.regimes)
    owners = registry_owners(registry, changed)
    old_book, new_book = _book(registry, old, owners), _book(registry, new, owners)

    def entities() -> Iterator[Entry]:
        for entity_id in changed:
            (b, b_reasons), (a, a_reasons) = old.results[entity_id], new.results[entity_id]
            causes, combined = attribution.causes(entity_id, a)
            yield {
                "entity": entity_id,
                "name": registry.entities[entity_id].name,
                "before": b,
                "after": a,
                "causes": causes,
                "combined": combined,
                "reasons_before": list(b_reasons),
                "reasons_after": list(a_reasons),
                "sentences_before": decision_sentences(b, b_reasons, old.policy, old_book),
                "sentences_after": decision_sentences(a, a_reasons, new.policy, new_book),
                **_regime_outcomes(old, new, entity_id),
            }

    def diagram(entry: Entry, index: int) -> str:
        reasons = entry["reasons_before"] + entry["reasons_after"]
        return entity_diagram(entry["entity"], reasons, new_book, old_book, uid=f"e{index}")

    old_docs, new_docs = rule_annotations(old_source), rule_annotations(new_source)
    doc = {
        "old": old_source.info(),
        "new": new_source.info(),
        "preview": new_source.bundle is None or old_source.bundle is None,
        "registry": registry.source,
        "as_of": day.isoformat(),
        "parameters": parameter_changes(old_source, new_source),
        "rego": rego_changes(old_source, new_source),
        "documentation": {
            "changes": documentation_changes(old_docs, new_docs),
            "rules": list(new_docs.values()),
        },
        "causes": attribution.to_json(),
        "summary": {
            "entities": len(registry.entities),
            "changed": len(changed),
            "unchanged": dict(sorted(unchanged.items())),
            "reasons_changed": reasons_changed,
        },
        "impact": dict(sorted(impact.items())),
    }
    if new.regimes is not None:
        doc["regimes"] = regime_impact(old, new, registry.entities)
    title = f"Policy review: stakegate {old_source.version} → {new_source.version}"
    return Report("policy", title, doc, {"entities": entities}, diagram)

"""What a new policy version changes: the report a legal reviewer reads before approving it.

``compare_bundles`` verifies both bundles, then lays side by side what changed in the text
(Rego diffs), in the parameters (regions added or removed, threshold, method, exceptions), in
the documentation the rules carry (METADATA annotations, read by ``opa inspect``), and, most
important, in the decisions: it screens one registry under each bundle with the real engine
(the same ``Screener`` as ``stakegate screen``) and counts every transition, so the numbers in
the report are exactly what running ``screen`` with each bundle would show.
``review_render`` turns the result into JSON, Markdown or HTML.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from stakegate import settings
from stakegate.bundles.signing import VerifiedBundle
from stakegate.bundles.trust import Trust
from stakegate.errors import PolicyEvaluationError
from stakegate.opa_binary import find_opa_binary
from stakegate.ownership.interval import Interval
from stakegate.policy.client import PolicyClient
from stakegate.policy.decision import Decision
from stakegate.policy.pipeline import Connection, Screener, today
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.model import Registry
from stakegate.review.diagram import Node, ownership_svg

__all__ = ["Review", "compare_bundles", "share_label"]

_METHODS = ("control", "look_through")


@dataclass(slots=True)
class _Run:
    """One bundle screened over the registry."""

    bundle: VerifiedBundle
    decisions: dict[str, Decision]
    classification: dict[str, str]
    fact_paths: dict[str, list[list[str]]]
    docs: dict[str, dict[str, Any]]


@dataclass(slots=True)
class Review:
    """The report: ``doc`` is the JSON document; ``diagrams`` maps entity id to an SVG."""

    doc: dict[str, Any]
    diagrams: dict[str, str] = field(default_factory=dict)


def share_label(share: Interval) -> str:
    """``60%``, or ``>50–75%`` for a band (``>`` marks an exclusive bound)."""
    low = f"{'>' if share.min_exclusive else ''}{share.min:g}"
    if share.min == share.max:
        return f"{low}%"
    return f"{low}–{'<' if share.max_exclusive else ''}{share.max:g}%"


def _screen(bundle_path: Path, registry: Registry, as_of: date, public_key: Path | None) -> _Run:
    # A preview: a bundle not yet in effect is what a reviewer reads before it takes effect.
    with LocalOpa(bundle_path, trust=Trust(public_key=public_key), preview=True) as opa:
        assert opa.bundle is not None  # a .tar.gz is always verified by LocalOpa
        client = PolicyClient(opa.url)
        try:
            connection = Connection(client, opa.revision, opa)
            screener = Screener(connection, registry, as_of)
            decisions = {d["entity"]: d for d in screener.screen()}
            view = connection.view
            classification = {
                code: region
                for entity in registry.entities.values()
                for code in (entity.jurisdiction, entity.headquarters)
                if code is not None and (region := view.region(code)) is not None
            }
        finally:
            client.close()
        bundle = opa.bundle
    fact_paths: dict[str, list[list[str]]] = {}
    for entity_id in registry.entities:
        facts = screener.facts.entity_facts(entity_id)["ownership"]
        fact_paths[entity_id] = [p for m in _METHODS for p in facts[m]["paths"]]
    return _Run(bundle, decisions, classification, fact_paths, _annotations(bundle))


def _annotations(bundle: VerifiedBundle) -> dict[str, dict[str, Any]]:
    """METADATA annotations of the bundle's rules and packages, keyed by ``path (scope)``."""
    with tempfile.TemporaryDirectory(prefix="stakegate-inspect-") as tmp:
        copy = Path(tmp) / bundle.path.name
        copy.write_bytes(bundle.data)  # inspect exactly the verified bytes
        cmd = [find_opa_binary(), "inspect", "--annotations", "--format", "json", str(copy)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise PolicyEvaluationError(f"opa inspect {bundle.path} failed: {done.stderr.strip()}")
    docs: dict[str, dict[str, Any]] = {}
    for item in json.loads(done.stdout).get("annotations") or []:
        notes = item.get("annotations", {})
        path = ".".join(str(part["value"]) for part in item.get("path", []))
        entry = {
            "path": path,
            "scope": notes.get("scope", ""),
            "title": notes.get("title", ""),
            "description": str(notes.get("description", "")).strip(),
            "entrypoint": bool(notes.get("entrypoint", False)),
            "custom": notes.get("custom", {}),
        }
        key = f"{path} ({entry['scope']})"
        while key in docs:
            key += "'"
        docs[key] = entry
    return dict(sorted(docs.items()))


def _bundle_info(bundle: VerifiedBundle) -> dict[str, Any]:
    meta = bundle.metadata
    return {
        "file": bundle.path.name,
        "version": bundle.version,
        "revision": bundle.revision,
        "sha256": bundle.sha256,
        "effective_date": meta.get("effective_date"),
        "author": meta.get("author"),
        "changelog": meta.get("changelog"),
        "source_commit": meta.get("source_commit"),
        "signing_key": bundle.key_id,
    }


def _config(bundle: VerifiedBundle) -> dict[str, Any]:
    data = json.loads(bundle.files.get("data.json", b"{}"))
    config = data.get("stakegate", {}).get("config", {})
    return config if isinstance(config, dict) else {}


def _missing(items: Iterable[Any], others: list[Any]) -> list[Any]:
    return [item for item in items if item not in others]


def parameter_changes(old: VerifiedBundle, new: VerifiedBundle) -> list[dict[str, Any]]:
    """One entry per changed config parameter, with regions/exceptions added and removed."""
    before, after = _config(old), _config(new)
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


def rego_changes(old: VerifiedBundle, new: VerifiedBundle) -> list[dict[str, Any]]:
    """Unified diffs of the bundles' Rego files, added and removed files included."""
    names = sorted(n for n in set(old.files) | set(new.files) if n.endswith(".rego"))
    changes: list[dict[str, Any]] = []
    for name in names:
        b = old.files.get(name)
        a = new.files.get(name)
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


def documentation_changes(old: _Run, new: _Run) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for key in sorted(set(old.docs) | set(new.docs)):
        b, a = old.docs.get(key), new.docs.get(key)
        if a == b:
            continue
        status = "added" if b is None else "removed" if a is None else "changed"
        changes.append({"key": key, "status": status, "before": b, "after": a})
    return changes


def _diagram(entity_id: str, old: _Run, new: _Run, registry: Registry, index: int) -> str:
    paths: list[list[str]] = []
    for decision in (old.decisions[entity_id], new.decisions[entity_id]):
        for reason in decision["reasons"]:
            paths += [p for p in reason.get("paths", []) if p not in paths]
    if not paths:  # no ownership reason: show who owns it anyway, under either policy
        for run in (old, new):
            paths += [p for p in run.fact_paths[entity_id] if p not in paths]
    nodes: dict[str, Node] = {}
    for node_id in {entity_id, *(n for p in paths for n in p)}:
        entity = registry.entities[node_id]
        codes = [c for c in (entity.jurisdiction, entity.headquarters) if c]
        caption = " / HQ ".join(codes) if len(codes) == 2 else (codes[0] if codes else "?")
        nodes[node_id] = Node(
            caption=caption, restricted=any(c in new.classification for c in codes)
        )
    edges = {
        (h.owner, h.owned): "consolidation" if h.share is None else share_label(h.share)
        for h in registry.holdings
    }
    return ownership_svg(entity_id, paths, nodes, edges, uid=f"e{index}")


def compare_bundles(
    old_path: Path,
    new_path: Path,
    registry: Registry,
    *,
    public_key: Path | None = None,
    as_of: date | None = None,
) -> Review:
    """Verify both bundles, screen ``registry`` under each, and describe every difference."""
    key = public_key or settings.BUNDLE_PUBLIC_KEY
    day = as_of or today()
    old = _screen(old_path, registry, day, key)
    new = _screen(new_path, registry, day, key)
    impact: dict[str, int] = {}
    entities: list[dict[str, Any]] = []
    unchanged: dict[str, int] = {}
    reasons_changed: list[str] = []
    review = Review(doc={})
    for entity_id in registry.entities:
        before, after = old.decisions[entity_id], new.decisions[entity_id]
        if before["decision"] == after["decision"]:
            unchanged[before["decision"]] = unchanged.get(before["decision"], 0) + 1
            if before["reasons"] != after["reasons"]:
                reasons_changed.append(entity_id)
            continue
        transition = f"{before['decision']}->{after['decision']}"
        impact[transition] = impact.get(transition, 0) + 1
        entities.append(
            {
                "entity": entity_id,
                "before": before["decision"],
                "after": after["decision"],
                "reasons_before": before["reasons"],
                "reasons_after": after["reasons"],
            }
        )
        review.diagrams[entity_id] = _diagram(entity_id, old, new, registry, len(entities))
    review.doc = {
        "old": _bundle_info(old.bundle),
        "new": _bundle_info(new.bundle),
        "registry": registry.source,
        "as_of": day.isoformat(),
        "parameters": parameter_changes(old.bundle, new.bundle),
        "rego": rego_changes(old.bundle, new.bundle),
        "documentation": {
            "changes": documentation_changes(old, new),
            "rules": list(new.docs.values()),
        },
        "summary": {
            "entities": len(registry.entities),
            "changed": len(entities),
            "unchanged": dict(sorted(unchanged.items())),
            "reasons_changed": reasons_changed,
        },
        "impact": dict(sorted(impact.items())),
        "entities": entities,
    }
    return review

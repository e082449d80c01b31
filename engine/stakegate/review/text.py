"""Small pieces of wording every report format shares: labels, causes, notes, header rows."""

from __future__ import annotations

import json
from typing import Any

from stakegate.review.report import Entry, Report

__all__ = ["INFO_ROWS", "cause_text", "label", "policy_note", "value"]

INFO_ROWS = [
    ("version", "Version"),
    ("revision", "Revision"),
    ("effective_date", "Effective date"),
    ("author", "Author"),
    ("changelog", "Changelog"),
    ("source_commit", "Source commit"),
    ("sha256", "Bundle sha256"),
    ("signing_key", "Signing key"),
]


def value(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item)


def label(entry: Entry) -> str:
    """``Name (id)``, or the id alone."""
    name = entry.get("name")
    return f"{name} ({entry['entity']})" if name and name != entry["entity"] else entry["entity"]


def cause_text(entry: Entry) -> str | None:
    """What flips the entity, in words; ``None`` when the report does not attribute causes."""
    causes = entry.get("causes")
    if causes is None:
        return None
    names = ", ".join(causes)
    if entry.get("combined"):
        return f"Cause: no single change flips it alone; the changes together do ({names})."
    if len(causes) == 1:
        return f"Cause: {names} (this change alone flips it)."
    return f"Causes: {names} (each of these changes alone flips it)."


def policy_note(report: Report) -> str | None:
    """A warning the reader must see first, if any."""
    doc = report.doc
    if report.kind == "policy":
        unsigned = [side for side in ("old", "new") if doc[side].get("kind") == "directory"]
        if unsigned:
            which = " and ".join(side.upper() for side in unsigned)
            return (
                f"{which} is an unsigned policy directory: this report is a preview of an "
                "unreleased policy, not the review of a signed bundle."
            )
        return None
    policy = doc["policy"]
    if policy["changed"]:
        before = ", ".join(policy["before"]) or "none"
        after = ", ".join(policy["after"]) or "none"
        return (
            f"The two screenings ran under different policy revisions ({before} → {after}): "
            "some flips may come from the policy change, not from the data."
        )
    return None

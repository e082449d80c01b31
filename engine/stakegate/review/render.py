"""Renders a policy review (``review.Review``) as JSON, Markdown or a self-contained HTML page.

JSON and Markdown are for machines and merge requests; HTML is for the legal reviewer, with
the ownership diagrams inline and no external resources (it opens from a file, offline, and can
be archived with the approval). All three show the same numbers from the same document.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from stakegate.review.compare import Review

__all__ = ["FORMATS", "render"]

FORMATS = ("html", "md", "json")

_INFO_ROWS = [
    ("version", "Version"),
    ("revision", "Revision"),
    ("effective_date", "Effective date"),
    ("author", "Author"),
    ("changelog", "Changelog"),
    ("source_commit", "Source commit"),
    ("sha256", "Bundle sha256"),
    ("signing_key", "Signing key"),
]


def render(review: Review, fmt: str) -> str:
    """The report in ``fmt`` (``html``, ``md`` or ``json``)."""
    if fmt == "json":
        return json.dumps(review.doc, indent=2) + "\n"
    if fmt == "md":
        return _markdown(review.doc)
    if fmt == "html":
        return _html(review)
    raise ValueError(f"unknown format {fmt!r}")


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _reason_text(reason: dict[str, Any]) -> str:
    parts = [str(reason.get("code", "?"))]
    if "method" in reason:
        parts.append(f"method {reason['method']}")
    pct = reason.get("restricted_percent")
    if isinstance(pct, dict):
        low, high = pct.get("min"), pct.get("max")
        parts.append(f"restricted {low:g}%" if low == high else f"restricted {low:g}–{high:g}%")
    for key in ("field", "value", "region", "approver", "expires"):
        if key in reason:
            parts.append(f"{key} {reason[key]}")
    return ", ".join(parts)


def _reasons_text(reasons: list[dict[str, Any]]) -> str:
    return "; ".join(_reason_text(r) for r in reasons) or "none"


def _paths_text(entity: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    for reason in entity["reasons_before"] + entity["reasons_after"]:
        for path in reason.get("paths", []):
            line = " → ".join(path)
            if line not in seen:
                seen.append(line)
    return seen


def _markdown(doc: dict[str, Any]) -> str:
    old, new = doc["old"], doc["new"]
    out = [
        f"# Policy review: stakegate {old['version']} → {new['version']}",
        "",
        f"Registry `{doc['registry']}`, {doc['summary']['entities']} entities, as of "
        f"{doc['as_of']}.",
        "",
        "| | Old | New |",
        "|---|---|---|",
    ]
    out += [f"| {label} | {old[key] or ''} | {new[key] or ''} |" for key, label in _INFO_ROWS]
    out += ["", "## Decision impact", ""]
    if doc["impact"]:
        out += ["| Transition | Entities |", "|---|---|"]
        out += [f"| {t} | {n} |" for t, n in doc["impact"].items()]
    else:
        out.append("No decision changes.")
    unchanged = ", ".join(f"{k} {v}" for k, v in doc["summary"]["unchanged"].items())
    out += ["", f"Unchanged: {unchanged or 'none'}."]
    if doc["summary"]["reasons_changed"]:
        out.append(
            "Same decision, different reasons: " + ", ".join(doc["summary"]["reasons_changed"])
        )
    out += ["", "## Parameter changes", ""]
    if doc["parameters"]:
        out += ["| Parameter | Before | After | Added | Removed |", "|---|---|---|---|---|"]
        for p in doc["parameters"]:
            added = ", ".join(map(_value, p.get("added", [])))
            removed = ", ".join(map(_value, p.get("removed", [])))
            row = [p["name"], _value(p["before"]), _value(p["after"]), added, removed]
            out.append("| " + " | ".join(f"`{c}`" if c else "" for c in row) + " |")
    else:
        out.append("None.")
    out += ["", "## Entities whose decision changes", ""]
    for e in doc["entities"]:
        out += [
            f"### {e['entity']}: {e['before']} → {e['after']}",
            "",
            f"- before: {_reasons_text(e['reasons_before'])}",
            f"- after: {_reasons_text(e['reasons_after'])}",
        ]
        out += [f"- path: {line}" for line in _paths_text(e)]
        out.append("")
    if not doc["entities"]:
        out += ["None.", ""]
    out += ["## Rego changes", ""]
    for change in doc["rego"]:
        out += [f"### `{change['file']}` ({change['status']})", "", "```diff"]
        out += [change["diff"].rstrip("\n"), "```", ""]
    if not doc["rego"]:
        out += ["None.", ""]
    out += ["## Documentation changes", ""]
    for change in doc["documentation"]["changes"]:
        after = change["after"] or change["before"]
        out.append(f"- {change['status']}: `{change['key']}` {after['title']}")
    if not doc["documentation"]["changes"]:
        out.append("None.")
    out += ["", f"## Policy documentation ({new['version']})", ""]
    for rule in doc["documentation"]["rules"]:
        marker = " (entrypoint)" if rule["entrypoint"] else ""
        out.append(f"- `{rule['path']}` ({rule['scope']}){marker}: **{rule['title']}**")
        if rule["description"]:
            out.append("  " + rule["description"].replace("\n", " "))
    return "\n".join(out).rstrip("\n") + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f3f3f3;white-space:nowrap}.count{font-weight:bold;text-align:right}
.deny{color:#b03a2e;font-weight:bold}.allow{color:#1e8449;font-weight:bold}
.review{color:#b9770e;font-weight:bold}pre.diff{background:#fafafa;padding:.5rem;overflow-x:auto;
font-size:.85rem}.add{background:#e6ffed}.del{background:#ffeef0}.hunk{color:#6f42c1}
.entity{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.doc dt{font-family:monospace;margin-top:.4rem}.doc dd{margin-left:1.5rem}
.changed{background:#fff8c5}code{font-size:.9em}
"""


def _badge(outcome: str) -> str:
    return f'<span class="{escape(outcome)}">{escape(outcome)}</span>'


def _diff_html(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        cls = (
            "hunk"
            if line.startswith("@@")
            else "add"
            if line.startswith("+") and not line.startswith("+++")
            else "del"
            if line.startswith("-") and not line.startswith("---")
            else ""
        )
        text = escape(line)
        lines.append(f'<span class="{cls}">{text}</span>' if cls else text)
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def _reason_list(reasons: list[dict[str, Any]]) -> str:
    if not reasons:
        return "<em>no reasons</em>"
    return "<ul>" + "".join(f"<li>{escape(_reason_text(r))}</li>" for r in reasons) + "</ul>"


def _html(review: Review) -> str:
    doc = review.doc
    old, new = doc["old"], doc["new"]
    title = f"Policy review: stakegate {old['version']} → {new['version']}"
    h: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Registry <code>{escape(doc['registry'])}</code>, "
        f"{doc['summary']['entities']} entities, decisions as of {escape(doc['as_of'])}.</p>",
        "<table><tr><th></th><th>Old</th><th>New</th></tr>",
    ]
    for key, label in _INFO_ROWS:
        h.append(
            f"<tr><th>{label}</th><td>{escape(str(old[key] or ''))}</td>"
            f"<td>{escape(str(new[key] or ''))}</td></tr>"
        )
    h += ["</table>", '<h2 id="impact">Decision impact</h2>']
    if doc["impact"]:
        h.append('<table id="impact-counts"><tr><th>Transition</th><th>Entities</th></tr>')
        for transition, count in doc["impact"].items():
            b, a = transition.split("->")
            h.append(
                f'<tr data-transition="{escape(transition)}"><td>{_badge(b)} → {_badge(a)}</td>'
                f'<td class="count">{count}</td></tr>'
            )
        h.append("</table>")
    else:
        h.append('<p id="impact-none">No decision changes.</p>')
    unchanged = ", ".join(f"{k} {v}" for k, v in doc["summary"]["unchanged"].items())
    h.append(f"<p>{doc['summary']['changed']} changed; unchanged: {escape(unchanged or 'none')}")
    if doc["summary"]["reasons_changed"]:
        names = ", ".join(doc["summary"]["reasons_changed"])
        h.append(f"; same decision, different reasons: {escape(names)}")
    h += ["</p>", '<h2 id="parameters">Parameter changes</h2>']
    if doc["parameters"]:
        h.append(
            "<table><tr><th>Parameter</th><th>Before</th><th>After</th><th>Added</th>"
            "<th>Removed</th></tr>"
        )
        for p in doc["parameters"]:
            cells = [
                p["name"],
                _value(p["before"]),
                _value(p["after"]),
                ", ".join(map(_value, p.get("added", []))),
                ", ".join(map(_value, p.get("removed", []))),
            ]
            h.append("<tr>" + "".join(f"<td><code>{escape(c)}</code></td>" for c in cells))
        h.append("</table>")
    else:
        h.append("<p>None.</p>")
    h.append('<h2 id="entities">Entities whose decision changes</h2>')
    for e in doc["entities"]:
        h += [
            f'<div class="entity" id="entity-{escape(e["entity"])}">',
            f"<h3>{escape(e['entity'])}: {_badge(e['before'])} → {_badge(e['after'])}</h3>",
            "<table><tr><th>Before</th><th>After</th></tr><tr>",
            f"<td>{_reason_list(e['reasons_before'])}</td>",
            f"<td>{_reason_list(e['reasons_after'])}</td></tr></table>",
            review.diagrams.get(e["entity"], ""),
            "</div>",
        ]
    if not doc["entities"]:
        h.append("<p>None.</p>")
    h.append('<h2 id="rego">Rego changes</h2>')
    for change in doc["rego"]:
        h.append(
            f"<details open><summary><code>{escape(change['file'])}</code> "
            f"({escape(change['status'])})</summary>{_diff_html(change['diff'])}</details>"
        )
    if not doc["rego"]:
        h.append("<p>None.</p>")
    changed_keys = {c["key"] for c in doc["documentation"]["changes"]}
    h += [
        f'<h2 id="documentation">Policy documentation ({escape(new["version"])})</h2>',
        "<p>From the rules' METADATA annotations; highlighted entries changed.</p>",
        '<dl class="doc">',
    ]
    for rule in doc["documentation"]["rules"]:
        key = f"{rule['path']} ({rule['scope']})"
        cls = ' class="changed"' if key in changed_keys else ""
        entry = " <em>entrypoint</em>" if rule["entrypoint"] else ""
        h.append(
            f"<dt{cls}>{escape(rule['path'])} ({escape(rule['scope'])}){entry}</dt>"
            f"<dd{cls}><strong>{escape(rule['title'])}</strong> "
            f"{escape(rule['description'])}</dd>"
        )
    removed = [c for c in doc["documentation"]["changes"] if c["status"] == "removed"]
    for change in removed:
        h.append(f"<dt><del>{escape(change['key'])}</del></dt><dd>removed</dd>")
    h += ["</dl>", "</body></html>"]
    return "\n".join(h) + "\n"

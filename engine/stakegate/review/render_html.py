"""The HTML form of a comparison report: one self-contained page, also the source of the PDF.

Written for the legal reviewer: names next to ids, reasons as sentences, what causes each flip,
and a diagram of each entity's owners; the engineering detail (Rego diffs, the rules'
documentation) comes last, the documentation in an appendix. No scripts and no external
resources: the page opens from a file, offline, and prints as it shows.
"""

from __future__ import annotations

from html import escape
from typing import IO, Any

from stakegate.review.diagram import MARKS
from stakegate.review.report import Entry, Report
from stakegate.review.text import INFO_ROWS, cause_text, label, policy_note, value

__all__ = ["MAX_DIAGRAMS", "write_html"]

# Diagrams drawn per page (the first changed entities); every entity still gets its sentences.
MAX_DIAGRAMS = 500

_CSS = """
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top}.allow{color:#1e7e34;font-weight:bold}.deny{color:#b02a37;
font-weight:bold}.review{color:#9a6700;font-weight:bold}pre.diff{background:#f6f8fa;
padding:.5rem;overflow-x:auto;font-size:.85em}.add{color:#1e7e34}.del{color:#b02a37}.hunk{color:#6f42c1}
.entity{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0;break-inside:avoid}
.doc dt{font-family:monospace;margin-top:.4rem}.doc dd{margin-left:1.5rem}
.changed{background:#fff8c5}code{font-size:.9em}.note{border-left:4px solid #b02a37;
padding:.5rem 1rem;background:#fdf2f2}.cause{font-weight:bold}svg{max-width:100%;height:auto}
.legend span{display:inline-block;padding:0 .5rem;margin-right:.5rem;border:1px solid}
"""


def _badge(outcome: str) -> str:
    return f'<span class="{escape(outcome)}">{escape(outcome)}</span>'


def _diff_html(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        if line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+") and not line.startswith("+++"):
            cls = "add"
        elif line.startswith("-") and not line.startswith("---"):
            cls = "del"
        else:
            cls = ""
        lines.append(f'<span class="{cls}">{escape(line)}</span>' if cls else escape(line))
    return '<pre class="diff">' + "\n".join(lines) + "</pre>"


def _sentences(sentences: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(s)}</li>" for s in sentences) + "</ul>"


def _head(report: Report) -> list[str]:
    doc = report.doc
    h: list[str] = []
    note = policy_note(report)
    if note:
        h.append(f'<p class="note" id="note">{escape(note)}</p>')
    if report.kind == "policy":
        old, new = doc["old"], doc["new"]
        h += [
            f"<p>Registry <code>{escape(doc['registry'])}</code>, "
            f"{doc['summary']['entities']} entities, decisions as of {escape(doc['as_of'])}.</p>",
            "<table><tr><th></th><th>Old</th><th>New</th></tr>",
        ]
        for key, text in INFO_ROWS:
            h.append(
                f"<tr><th>{text}</th><td>{escape(str(old[key] or ''))}</td>"
                f"<td>{escape(str(new[key] or ''))}</td></tr>"
            )
        return h + ["</table>"]
    h.append("<table><tr><th></th><th>File</th><th>Entities</th><th>Policy revision</th>")
    h.append("<th>As of</th></tr>")
    for side, text in (("old", "Before"), ("new", "After")):
        s = doc[side]
        h.append(
            f"<tr><th>{text}</th><td><code>{escape(s['file'])}</code></td><td>{s['entities']}"
            f"</td><td>{escape(', '.join(s['revisions']))}</td>"
            f"<td>{escape(', '.join(s['as_of']))}</td></tr>"
        )
    return h + ["</table>"]


def _impact(doc: dict[str, Any]) -> list[str]:
    h = ['<h2 id="impact">Decision impact</h2>']
    if doc["impact"]:
        h.append('<table id="impact-counts"><tr><th>Transition</th><th>Entities</th></tr>')
        for key, count in doc["impact"].items():
            b, a = key.split("->")
            h.append(
                f'<tr data-transition="{escape(key)}"><td>{_badge(b)} → {_badge(a)}</td>'
                f'<td class="count">{count}</td></tr>'
            )
        h.append("</table>")
    else:
        h.append('<p id="impact-none">No decision changes.</p>')
    summary = doc["summary"]
    unchanged = ", ".join(f"{k} {v}" for k, v in summary["unchanged"].items())
    line = f"<p>{summary['changed']} changed; unchanged: {escape(unchanged or 'none')}"
    names = summary["reasons_changed"]
    if names:
        shown = ", ".join(names[:50]) + (f" and {len(names) - 50} more" if len(names) > 50 else "")
        line += f"; same decision, different reasons ({len(names)}): {escape(shown)}"
    return h + [line + "</p>"] + _regimes(doc)


def _regimes(doc: dict[str, Any]) -> list[str]:
    """Each regime's own transitions (side-by-side reviews only)."""
    regimes = doc.get("regimes")
    if not regimes:
        return []
    h = [
        '<h3 id="impact-regimes">Impact per regime</h3>',
        '<table id="regime-impact"><tr><th>Regime</th><th>Transitions</th><th>Unchanged</th></tr>',
    ]
    for name in regimes["names"]:
        moves = ", ".join(f"{t} {n}" for t, n in regimes["impact"][name].items()) or "none"
        same = ", ".join(f"{k} {v}" for k, v in regimes["unchanged"][name].items()) or "none"
        h.append(
            f'<tr data-regime="{escape(name)}"><td>{escape(name)}</td>'
            f"<td>{escape(moves)}</td><td>{escape(same)}</td></tr>"
        )
    return h + ["</table>"]


def _parameters(doc: dict[str, Any]) -> list[str]:
    h = ['<h2 id="parameters">Parameter changes</h2>']
    if not doc["parameters"]:
        return h + ["<p>None.</p>"]
    h.append(
        "<table><tr><th>Parameter</th><th>Before</th><th>After</th><th>Added</th>"
        "<th>Removed</th></tr>"
    )
    for p in doc["parameters"]:
        cells = [
            p["name"],
            value(p["before"]),
            value(p["after"]),
            ", ".join(map(value, p.get("added", []))),
            ", ".join(map(value, p.get("removed", []))),
        ]
        h.append("<tr>" + "".join(f"<td><code>{escape(c)}</code></td>" for c in cells))
    h.append("</table>")
    causes = doc["causes"]
    h.append(
        f"<p>Causes are found by applying each change alone to the old policy "
        f"({len(causes['changes'])} changes, {causes['screenings']} extra screenings of the "
        "changed entities).</p>"
    )
    for change, why in causes["not_applicable_alone"].items():
        h.append(f"<p><code>{escape(change)}</code> cannot be applied alone: {escape(why)}</p>")
    return h


def _legend() -> str:
    items = "".join(
        f'<span style="background:{fill};border-color:{stroke}">{escape(words)}</span>'
        for fill, stroke, words in MARKS.values()
        if words
    )
    return f'<p class="legend">Diagrams: {items} thick border: the entity itself.</p>'


def _entity(entry: Entry, report: Report, index: int) -> list[str]:
    cause = cause_text(entry)
    h = [
        f'<div class="entity" id="entity-{escape(entry["entity"])}">',
        f"<h3>{escape(label(entry))}: {_badge(entry['before'])} → {_badge(entry['after'])}</h3>",
    ]
    if cause:
        h.append(f'<p class="cause">{escape(cause)}</p>')
    h += [
        "<table><tr><th>Before</th><th>After</th></tr><tr>",
        f"<td>{_sentences(entry['sentences_before'])}</td>",
        f"<td>{_sentences(entry['sentences_after'])}</td></tr></table>",
    ]
    if report.diagram is not None and index <= MAX_DIAGRAMS:
        h.append(report.diagram(entry, index))
    return h + ["</div>"]


def _appeared(report: Report, handle: IO[str]) -> None:
    for kind in ("appeared", "disappeared"):
        handle.write(f'<h2 id="{kind}">Entities that {kind}</h2>\n')
        count = 0
        for entry in report.entries(kind):
            if not count:
                handle.write("<table><tr><th>Entity</th><th>Decision</th><th>Reasons</th></tr>\n")
            count += 1
            handle.write(
                f"<tr><td>{escape(label(entry))}</td><td>{_badge(entry['decision'])}</td>"
                f"<td>{_sentences(entry['sentences'])}</td></tr>\n"
            )
        handle.write("</table>\n" if count else "<p>None.</p>\n")


def _appendix(doc: dict[str, Any]) -> list[str]:
    h = ['<h2 id="rego">Rego changes</h2>']
    for change in doc["rego"]:
        h.append(
            f"<details open><summary><code>{escape(change['file'])}</code> "
            f"({escape(change['status'])})</summary>{_diff_html(change['diff'])}</details>"
        )
    if not doc["rego"]:
        h.append("<p>None.</p>")
    changed_keys = {c["key"] for c in doc["documentation"]["changes"]}
    h += [
        f'<h2 id="documentation">Appendix: policy documentation ({escape(doc["new"]["version"])})'
        "</h2>",
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
    for change in doc["documentation"]["changes"]:
        if change["status"] == "removed":
            h.append(f"<dt><del>{escape(change['key'])}</del></dt><dd>removed</dd>")
    return h + ["</dl>"]


def write_html(report: Report, handle: IO[str]) -> None:
    """The report as one HTML page, written entity by entity."""
    doc = report.doc
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
        *_head(report),
        *_impact(doc),
    ]
    if report.kind == "policy":
        lines += _parameters(doc)
    heading = "decision changes" if report.kind == "policy" else "decision changed"
    lines += [f'<h2 id="entities">Entities whose {heading}</h2>', _legend()]
    handle.write("\n".join(lines) + "\n")
    count = 0
    for count, entry in enumerate(report.entries("entities"), start=1):
        handle.write("\n".join(_entity(entry, report, count)) + "\n")
    if not count:
        handle.write("<p>None.</p>\n")
    elif count > MAX_DIAGRAMS:
        handle.write(f"<p>Diagrams are drawn for the first {MAX_DIAGRAMS} entities only.</p>\n")
    if report.kind == "policy":
        handle.write("\n".join(_appendix(doc)) + "\n")
    else:
        _appeared(report, handle)
    handle.write("</body></html>\n")

"""Writes a comparison report (``report.Report``) as JSON, Markdown, CSV, HTML or PDF.

JSON and CSV are for machines, Markdown for merge requests, HTML and PDF for the legal reviewer
(diagrams inline, no external resources, so the page opens offline and can be archived with the
approval). Every format shows the same numbers and the same sentences, from the same document,
and writes the entity lists as it reads them (``render_html`` holds the HTML part).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import IO, Any

from stakegate.review.pdf import html_to_pdf
from stakegate.review.render_html import write_html
from stakegate.review.report import Report
from stakegate.review.text import INFO_ROWS, cause_text, label, policy_note, value

__all__ = ["FORMATS", "TEXT_FORMATS", "render", "render_pdf"]

TEXT_FORMATS = ("html", "md", "json", "csv")
FORMATS = (*TEXT_FORMATS, "pdf")


def render(report: Report, fmt: str, handle: IO[str]) -> None:
    """Write the report in ``fmt`` (one of ``TEXT_FORMATS``) to ``handle``."""
    if fmt == "json":
        _json(report, handle)
    elif fmt == "md":
        for line in _markdown(report):
            handle.write(line + "\n")
    elif fmt == "csv":
        _csv(report, handle)
    elif fmt == "html":
        write_html(report, handle)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def render_pdf(report: Report) -> bytes:
    """The HTML report printed to PDF by headless Chromium (``pdf.html_to_pdf``)."""
    page = io.StringIO()
    write_html(report, page)
    return html_to_pdf(page.getvalue())


def _json(report: Report, handle: IO[str]) -> None:
    head = json.dumps(report.doc, indent=2)
    handle.write(head[:-2] if report.lists else head)  # reopen the object for the lists
    for name in report.lists:
        handle.write(f",\n  {json.dumps(name)}: [")
        first = True
        for entry in report.entries(name):
            text = json.dumps(entry, indent=2).replace("\n", "\n    ")
            handle.write(("\n    " if first else ",\n    ") + text)
            first = False
        handle.write("]" if first else "\n  ]")
    handle.write("\n}\n" if report.lists else "\n")


_CSV_COLUMNS = [
    "change",
    "entity",
    "name",
    "before",
    "after",
    "causes",
    "reasons_before",
    "reasons_after",
]


def _csv(report: Report, handle: IO[str]) -> None:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for entry in report.entries("entities"):
        causes = "; ".join(entry.get("causes", []))
        if entry.get("combined"):
            causes = f"combined: {causes}"
        writer.writerow(
            [
                "changed",
                entry["entity"],
                entry.get("name") or "",
                entry["before"],
                entry["after"],
                causes,
                " ".join(entry["sentences_before"]),
                " ".join(entry["sentences_after"]),
            ]
        )
    for kind in ("appeared", "disappeared"):
        for entry in report.entries(kind):
            sentences = " ".join(entry["sentences"])
            row = [kind, entry["entity"], entry.get("name") or ""]
            if kind == "appeared":
                row += ["", entry["decision"], "", "", sentences]
            else:
                row += [entry["decision"], "", "", sentences, ""]
            writer.writerow(row)


def _impact_md(doc: dict[str, Any]) -> list[str]:
    out = ["## Decision impact", ""]
    if doc["impact"]:
        out += ["| Transition | Entities |", "|---|---|"]
        out += [f"| {t} | {n} |" for t, n in doc["impact"].items()]
    else:
        out.append("No decision changes.")
    unchanged = ", ".join(f"{k} {v}" for k, v in doc["summary"]["unchanged"].items())
    out += ["", f"Unchanged: {unchanged or 'none'}."]
    if doc["summary"]["reasons_changed"]:
        names = doc["summary"]["reasons_changed"]
        shown = ", ".join(names[:50]) + (f" and {len(names) - 50} more" if len(names) > 50 else "")
        out.append(f"Same decision, different reasons ({len(names)}): {shown}")
    return out + _regimes_md(doc) + [""]


def _regimes_md(doc: dict[str, Any]) -> list[str]:
    """Each regime's own transitions (side-by-side reviews only)."""
    regimes = doc.get("regimes")
    if not regimes:
        return []
    out = ["", "### Impact per regime", "", "| Regime | Transitions | Unchanged |", "|---|---|---|"]
    for name in regimes["names"]:
        moves = ", ".join(f"{t} {n}" for t, n in regimes["impact"][name].items()) or "none"
        same = ", ".join(f"{k} {v}" for k, v in regimes["unchanged"][name].items()) or "none"
        out.append(f"| {name} | {moves} | {same} |")
    return out


def _entities_md(report: Report) -> Iterator[str]:
    heading = "decision changes" if report.kind == "policy" else "decision changed"
    yield f"## Entities whose {heading}"
    yield ""
    count = 0
    for entry in report.entries("entities"):
        count += 1
        yield f"### {label(entry)}: {entry['before']} → {entry['after']}"
        yield ""
        cause = cause_text(entry)
        if cause:
            yield cause
            yield ""
        yield "Before:"
        yield from (f"- {s}" for s in entry["sentences_before"])
        yield "After:"
        yield from (f"- {s}" for s in entry["sentences_after"])
        seen: list[str] = []
        for reason in entry["reasons_before"] + entry["reasons_after"]:
            for path in reason.get("paths", []):
                line = " → ".join(path)
                if line not in seen:
                    seen.append(line)
                    yield f"- path: {line}"
        yield ""
    if not count:
        yield "None."
        yield ""


def _appeared_md(report: Report) -> Iterator[str]:
    for kind in ("appeared", "disappeared"):
        yield f"## Entities that {kind}"
        yield ""
        count = 0
        for entry in report.entries(kind):
            if not count:
                yield "| Entity | Decision | Reasons |"
                yield "|---|---|---|"
            count += 1
            text = " ".join(entry["sentences"]).replace("|", "\\|")
            yield f"| {label(entry)} | {entry['decision']} | {text} |"
        yield "" if count else "None."
        if not count:
            yield ""


def _policy_head_md(doc: dict[str, Any]) -> list[str]:
    old, new = doc["old"], doc["new"]
    out = [f"Registry `{doc['registry']}`, {doc['summary']['entities']} entities, as of "]
    out[0] += f"{doc['as_of']}."
    out += ["", "| | Old | New |", "|---|---|---|"]
    out += [f"| {text} | {old[k] or ''} | {new[k] or ''} |" for k, text in INFO_ROWS]
    return out + [""]


def _parameters_md(doc: dict[str, Any]) -> list[str]:
    out = ["## Parameter changes", ""]
    if not doc["parameters"]:
        return out + ["None.", ""]
    out += ["| Parameter | Before | After | Added | Removed |", "|---|---|---|---|---|"]
    for p in doc["parameters"]:
        added = ", ".join(map(value, p.get("added", [])))
        removed = ", ".join(map(value, p.get("removed", [])))
        row = [p["name"], value(p["before"]), value(p["after"]), added, removed]
        out.append("| " + " | ".join(f"`{c}`" if c else "" for c in row) + " |")
    return out + [""]


def _policy_tail_md(doc: dict[str, Any]) -> Iterator[str]:
    yield "## Rego changes"
    yield ""
    for change in doc["rego"]:
        yield from [f"### `{change['file']}` ({change['status']})", "", "```diff"]
        yield from [change["diff"].rstrip("\n"), "```", ""]
    if not doc["rego"]:
        yield from ["None.", ""]
    yield from ["## Appendix: policy documentation", ""]
    yield "Changed entries:"
    for change in doc["documentation"]["changes"]:
        after = change["after"] or change["before"]
        yield f"- {change['status']}: `{change['key']}` {after['title']}"
    if not doc["documentation"]["changes"]:
        yield "- none"
    yield ""
    for rule in doc["documentation"]["rules"]:
        # One line per entry: a description's own line breaks would end the list item.
        description = " ".join(str(rule["description"]).split())
        yield f"- `{rule['path']}` ({rule['scope']}): **{rule['title']}** {description}"


def _markdown(report: Report) -> Iterator[str]:
    doc = report.doc
    yield f"# {report.title}"
    yield ""
    note = policy_note(report)
    if note:
        yield from [f"> {note}", ""]
    if report.kind == "policy":
        yield from _policy_head_md(doc)
    else:
        for side, text in (("old", "Before"), ("new", "After")):
            s = doc[side]
            yield (
                f"- {text}: `{s['file']}`, {s['entities']} entities, policy revision "
                + (", ".join(s["revisions"]) or "none")
                + (f", as of {', '.join(s['as_of'])}" if s["as_of"] else "")
            )
        yield ""
    yield from _impact_md(doc)
    if report.kind == "policy":
        yield from _parameters_md(doc)
    yield from _entities_md(report)
    if report.kind == "policy":
        yield from _policy_tail_md(doc)
    else:
        yield from _appeared_md(report)

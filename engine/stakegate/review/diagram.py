"""Draws who owns an entity as a small, self-contained SVG for the review reports.

A reviewer reading "nl-grand flips from allow to deny" needs to see *why* at a glance: every
direct owner with its share (not only the restricted one), the paths from restricted owners with
the share at each step, and which owners are restricted themselves, by location or by their own
owners. Pure Python on purpose: no graphviz binary to install, and the same input always gives
the same bytes, so reports diff cleanly. Layout is by path position: owners on the left, the
entity on the right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from stakegate.review.book import Book, EntityInfo

__all__ = ["MARKS", "MAX_OWNERS", "Node", "entity_diagram", "ownership_svg"]

_W, _H = 190, 66  # node box
_DX, _DY = 250, 80  # column and row pitch
_PAD = 12
_MAX_LABEL = 30
# Direct owners drawn per diagram (largest shares first); the rest are counted in a note.
MAX_OWNERS = 12
# How a node is marked: fill, stroke, and the words that say it.
MARKS: dict[str, tuple[str, str, str]] = {
    "location": ("#fde2e1", "#c0392b", "restricted location"),
    "ownership": ("#fdebd0", "#d35400", "restricted by owners"),
    "review": ("#fff8c5", "#9a7d0a", "review"),
    "": ("#eef3fb", "#4a6fa5", ""),
}


@dataclass(frozen=True, slots=True)
class Node:
    """How one entity is drawn: its name (if any), a caption (its location) and its mark, a
    key of ``MARKS``; ``was`` is the mark it had before, shown when it differs."""

    name: str | None = None
    caption: str = ""
    mark: str = ""
    was: str | None = None  # the mark before, when it changed (a key of ``MARKS``)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _layout(
    entity: str, paths: Sequence[Sequence[str]]
) -> tuple[list[str], list[tuple[str, str]], dict[str, tuple[int, int]], int, int]:
    # Column = distance from the entity along the longest path it appears on.
    column: dict[str, int] = {entity: 0}
    order: list[str] = [entity]
    links: list[tuple[str, str]] = []
    for path in paths:
        for i, node in enumerate(path):
            column[node] = max(column.get(node, 0), len(path) - 1 - i)
            if node not in order:
                order.append(node)
            if i and (path[i - 1], node) not in links:
                links.append((path[i - 1], node))
    width_cols = max(column.values()) + 1
    rows: dict[int, int] = {}
    place: dict[str, tuple[int, int]] = {}
    for node in order:
        col = column[node]
        row = rows.get(col, 0)
        rows[col] = row + 1
        place[node] = (_PAD + (width_cols - 1 - col) * _DX, _PAD + row * _DY)
    width = _PAD * 2 + (width_cols - 1) * _DX + _W
    height = _PAD * 2 + (max(rows.values()) - 1) * _DY + _H
    return order, links, place, width, height


def ownership_svg(
    entity: str,
    paths: Sequence[Sequence[str]],
    nodes: Mapping[str, Node],
    edges: Mapping[tuple[str, str], str],
    *,
    uid: str = "d",
    note: str = "",
) -> str:
    """An SVG of ``paths`` (each owner first, ``entity`` last); ``edges`` labels each share and
    ``note`` is a line under the drawing. ``uid`` keeps marker ids unique on one HTML page."""
    order, links, place, width, height = _layout(entity, paths)
    if note:
        height += 20
    marker = f"arrow-{escape(uid)}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="owners of {escape(entity)}" font-family="sans-serif" font-size="12">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for owner, owned in links:
        (x1, y1), (x2, y2) = place[owner], place[owned]
        ax, ay = x1 + _W, y1 + _H // 2
        bx, by = x2, y2 + _H // 2
        out.append(
            f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke="#555" '
            f'stroke-width="1.5" marker-end="url(#{marker})"/>'
        )
        label = edges.get((owner, owned), "")
        if label:
            out.append(
                f'<text x="{(ax + bx) // 2}" y="{(ay + by) // 2 - 5}" text-anchor="middle" '
                f'fill="#333">{escape(label)}</text>'
            )
    for node in order:
        x, y = place[node]
        info = nodes.get(node, Node())
        fill, stroke, words = MARKS.get(info.mark, MARKS[""])
        border = 3 if node == entity else 1.5
        title = info.name or node
        caption = " · ".join(part for part in (info.caption, words) if part)
        before = ""
        if info.was is not None and info.was != info.mark:
            before = f"before: {MARKS.get(info.was, MARKS[''])[2] or 'clear'}"
        lines = [
            (title, ' font-weight="bold"'),
            (node if info.name else "", ' fill="#555"'),
            (caption, ' fill="#555"'),
            (before, ' fill="#555" font-style="italic"'),
        ]
        texts = "".join(
            f'<text x="{x + _W // 2}" y="{y + 15 + 15 * i}" text-anchor="middle"{style}>'
            f"{escape(_short(text))}</text>"
            for i, (text, style) in enumerate(lines)
            if text
        )
        tip = f"{title} ({node})" if info.name else node
        out.append(
            f"<g><title>{escape(tip + (', ' + words if words else ''))}</title>"
            f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{border}"/>{texts}</g>'
        )
    if note:
        out.append(f'<text x="{_PAD}" y="{height - 6}" fill="#555">{escape(note)}</text>')
    out.append("</svg>")
    return "".join(out)


def _edge_label(edge: Any) -> str:
    if isinstance(edge, Mapping) and "min" in edge and "max" in edge:
        low, high = f"{round(float(edge['min']), 2):g}", f"{round(float(edge['max']), 2):g}"
        return f"{low}%" if low == high else f"{low}–{high}%"
    return ""


def _mark(info: EntityInfo) -> str:
    if info.restricted_by_location:
        return "location"
    if info.restricted_by_ownership:
        return "ownership"
    return "review" if info.decision == "review" else ""


def entity_diagram(
    entity: str,
    reasons: Sequence[Mapping[str, Any]],
    after: Book,
    before: Book | None = None,
    *,
    uid: str = "d",
    max_owners: int = MAX_OWNERS,
) -> str:
    """``entity``'s direct owners (the largest ``max_owners``, from the ``after`` book) and the
    evidence paths of ``reasons``. Each node is marked as ``after`` says; where ``before`` says
    otherwise, a last line says what it was (``before: restricted by owners``)."""
    paths: list[list[str]] = []
    edges: dict[tuple[str, str], str] = {}
    for reason in reasons:
        evidence = reason.get("evidence") or [{"path": p} for p in reason.get("paths", [])]
        for item in evidence:
            path = [str(n) for n in item.get("path", [])]
            if len(path) < 2 or path in paths:
                continue
            paths.append(path)
            pairs = list(zip(path, path[1:], strict=False))
            for pair, edge in zip(pairs, item.get("edges", [])[: len(pairs)], strict=False):
                edges.setdefault(pair, _edge_label(edge))
    owners = after(entity).owners or ()
    for owner, label in owners[:max_owners]:
        edges[(owner, entity)] = label  # the registry's own figure, bounds included
        if [owner, entity] not in paths:
            paths.append([owner, entity])
    hidden = len(owners) - min(len(owners), max_owners)
    note = f"+ {hidden} more direct owner{'s' if hidden != 1 else ''} not drawn" if hidden else ""
    nodes: dict[str, Node] = {}
    for node in {entity, *(n for path in paths for n in path)}:
        info = after(node)
        was = _mark(before(node)) if before is not None else None
        nodes[node] = Node(name=info.name, caption=info.location or "", mark=_mark(info), was=was)
    return ownership_svg(entity, paths, nodes, edges, uid=uid, note=note)

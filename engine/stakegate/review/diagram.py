"""Draws an entity's ownership paths as a small, self-contained SVG for the review report.

A reviewer reading "sg-sub flips from allow to deny" needs to see *why* at a glance: which
restricted owner, through which companies, with which shares. Pure Python on purpose: no
graphviz binary to install, and the same input always gives the same bytes, so reports diff
cleanly. Layout is by path position: owners on the left, the entity on the right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Node", "ownership_svg"]

_W, _H = 150, 40  # node box
_DX, _DY = 200, 56  # column and row pitch
_PAD = 12
_MAX_LABEL = 20


@dataclass(frozen=True, slots=True)
class Node:
    """How one entity is drawn: a caption under its id, and whether it is restricted."""

    caption: str = ""
    restricted: bool = False


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def ownership_svg(
    entity: str,
    paths: Sequence[Sequence[str]],
    nodes: Mapping[str, Node],
    edges: Mapping[tuple[str, str], str],
    *,
    uid: str = "d",
) -> str:
    """An SVG of ``paths`` (each owner first, ``entity`` last); ``edges`` labels each share.

    ``uid`` keeps marker ids unique when several diagrams share one HTML page.
    """
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
    marker = f"arrow-{escape(uid)}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="ownership paths of {escape(entity)}" font-family="sans-serif" '
        'font-size="12">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for owner, owned in links:
        (x1, y1), (x2, y2) = place[owner], place[owned]
        ax, ay = x1 + _W, y1 + _H // 2
        bx, by = x2, y2 + _H // 2
        label = escape(edges.get((owner, owned), ""))
        out.append(
            f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke="#555" '
            f'stroke-width="1.5" marker-end="url(#{marker})"/>'
        )
        if label:
            out.append(
                f'<text x="{(ax + bx) // 2}" y="{(ay + by) // 2 - 5}" text-anchor="middle" '
                f'fill="#333">{label}</text>'
            )
    for node in order:
        x, y = place[node]
        info = nodes.get(node, Node())
        fill, stroke = ("#fde2e1", "#c0392b") if info.restricted else ("#eef3fb", "#4a6fa5")
        border = 3 if node == entity else 1.5
        out.append(
            f"<g><title>{escape(node)}{' (restricted)' if info.restricted else ''}</title>"
            f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{border}"/>'
            f'<text x="{x + _W // 2}" y="{y + 16}" text-anchor="middle" font-weight="bold">'
            f"{escape(_short(node))}</text>"
            f'<text x="{x + _W // 2}" y="{y + 31}" text-anchor="middle" fill="#555">'
            f"{escape(_short(info.caption))}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)

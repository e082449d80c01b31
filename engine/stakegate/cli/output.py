"""Writes decisions in the command line's formats, and never half a file.

One vocabulary serves every command (``FORMATS``): ``json`` is one JSON document, ``jsonl`` one
JSON object per line, ``csv`` and ``table`` one row per entity, ``text`` a few lines a person
reads; reports add ``md``, ``html`` and ``pdf``. Each command accepts the subset that fits it.
``atomic_output`` writes to a hidden partial file beside the target and renames it only when
the whole run succeeded, so a run that fails midway leaves ``--out`` untouched.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Protocol

import orjson

from stakegate.outfile import atomic_write, standard_output
from stakegate.policy.decision import Bounds, Decision
from stakegate.review.sentences import reason_sentence

__all__ = [
    "CHECK_FORMATS",
    "FORMATS",
    "SCREEN_FORMATS",
    "DecisionWriter",
    "atomic_output",
    "format_text",
    "make_writer",
]

# What each --format name means, whatever the command.
FORMATS = {
    "json": "one JSON document",
    "jsonl": "one JSON object per line",
    "csv": "comma-separated values, one row per entity, with a header",
    "table": "aligned columns for a terminal",
    "text": "a few lines per entity, for a person",
    "md": "a Markdown report",
    "html": "an HTML report",
    "pdf": "a PDF report",
}
CHECK_FORMATS = ("json", "jsonl", "csv", "table", "text")
SCREEN_FORMATS = ("jsonl", "json", "csv", "table", "text")


@contextmanager
def atomic_output(out: str | None) -> Iterator[IO[str]]:
    """Stdout for ``None``/``-``; otherwise a partial file renamed onto ``out`` on success
    (``outfile.atomic_write``: a bad path is an ``InputError`` naming it)."""
    if out in (None, "-"):
        with standard_output() as handle:
            yield handle
        return
    assert out is not None
    with atomic_write(out) as handle:
        yield handle


def _percent(bounds: Bounds | dict[str, Any] | None) -> str:
    if not bounds:
        return ""
    low, high = float(bounds["min"]), float(bounds["max"])
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def _codes(decision: Decision) -> str:
    return ";".join(str(reason.get("code")) for reason in decision["reasons"])


class DecisionWriter(Protocol):
    def write(self, decision: Decision) -> None: ...
    def close(self) -> None: ...


class _JsonLines:
    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle

    def write(self, decision: Decision) -> None:
        # orjson: the standard library's encoder was a tenth of a whole screening's Python time.
        self.handle.write(orjson.dumps(decision, option=orjson.OPT_APPEND_NEWLINE).decode())

    def close(self) -> None:
        self.handle.flush()


_CSV_COLUMNS = [
    "entity",
    "name",
    "decision",
    "reason_codes",
    "control_min",
    "control_max",
    "look_through_min",
    "look_through_max",
    "policy_revision",
    "as_of",
]


def _regime_cell(decision: Decision, regime: str) -> str:
    """One regime's outcome and its restricted share under its method (``deny 60%``)."""
    regimes: dict[str, Decision] = decision.get("regimes") or {}
    own = regimes.get(regime)
    if own is None:
        return "?"
    method = "look_through" if own["policy"]["method"] == "look_through" else "control"
    share = _percent(own["ownership"].get(method))
    return own["decision"] if share in ("", "0") else f"{own['decision']} {share}%"


class _Csv:
    def __init__(self, handle: IO[str], regimes: list[str] | None = None) -> None:
        self.writer = csv.writer(handle, lineterminator="\n")
        self.regimes = regimes or []
        self.writer.writerow(_CSV_COLUMNS + [f"regime:{name}" for name in self.regimes])
        self.handle = handle

    def write(self, decision: Decision) -> None:
        own = decision["ownership"]
        regimes: dict[str, Decision] = decision.get("regimes") or {}
        self.writer.writerow(
            [
                decision["entity"],
                decision.get("name", ""),
                decision["decision"],
                _codes(decision),
                own["control"]["min"],
                own["control"]["max"],
                own["look_through"]["min"],
                own["look_through"]["max"],
                decision["policy"]["revision"],
                decision["as_of"],
                *(regimes[name]["decision"] if name in regimes else "" for name in self.regimes),
            ]
        )

    def close(self) -> None:
        self.handle.flush()


class _Table:
    _NAME_WIDTH = 32

    def __init__(
        self, handle: IO[str], entity_width: int, regimes: list[str] | None = None
    ) -> None:
        self.handle = handle
        self.regimes = regimes
        if regimes is not None:
            # One column per regime: its outcome and share (``_regime_cell``).
            widths = [max(len(name), 16) for name in regimes]
            columns = "".join(f"{{:<{w}}}  " for w in widths)
            self.row = f"{{:<{entity_width}}}  {{:<{self._NAME_WIDTH}}}  {{:<8}}  {columns}{{}}\n"
            handle.write(self.row.format("ENTITY", "NAME", "DECISION", *regimes, "REASONS"))
            return
        self.row = (
            f"{{:<{entity_width}}}  {{:<{self._NAME_WIDTH}}}  {{:<8}}  {{:>12}}  {{:>14}}  {{}}\n"
        )
        handle.write(
            self.row.format("ENTITY", "NAME", "DECISION", "CONTROL %", "LOOK-THROUGH %", "REASONS")
        )

    def write(self, decision: Decision) -> None:
        own = decision["ownership"]
        name = decision.get("name", "")
        if len(name) > self._NAME_WIDTH:
            name = name[: self._NAME_WIDTH - 1] + "…"
        if self.regimes is not None:
            cells = [_regime_cell(decision, regime) for regime in self.regimes]
            codes = sorted(dict.fromkeys(str(r.get("code")) for r in decision["reasons"]))
            self.handle.write(
                self.row.format(
                    decision["entity"], name, decision["decision"], *cells, ", ".join(codes)
                )
            )
            return
        self.handle.write(
            self.row.format(
                decision["entity"],
                name,
                decision["decision"],
                _percent(own.get("control")),
                _percent(own.get("look_through")),
                _codes(decision).replace(";", ", "),
            )
        )

    def close(self) -> None:
        self.handle.flush()


class _JsonArray:
    """One JSON array, written as decisions come (the whole list is never held)."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.first = True
        handle.write("[")

    def write(self, decision: Decision) -> None:
        self.handle.write(("\n" if self.first else ",\n") + orjson.dumps(decision).decode())
        self.first = False

    def close(self) -> None:
        self.handle.write("\n]\n" if not self.first else "]\n")
        self.handle.flush()


class _Text:
    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle

    def write(self, decision: Decision) -> None:
        self.handle.write(format_text(decision))

    def close(self) -> None:
        self.handle.flush()


def make_writer(
    fmt: str, handle: IO[str], entity_width: int = 20, regimes: list[str] | None = None
) -> DecisionWriter:
    """A writer of decisions in one of ``SCREEN_FORMATS``; ``regimes``: the regimes decided
    under side by side, a column each in ``table`` and ``csv``."""
    if fmt == "jsonl":
        return _JsonLines(handle)
    if fmt == "json":
        return _JsonArray(handle)
    if fmt == "text":
        return _Text(handle)
    if fmt == "csv":
        return _Csv(handle, regimes)
    if fmt == "table":
        return _Table(handle, max(6, min(entity_width, 48)), regimes)
    raise ValueError(f"unknown format {fmt!r}")


def _reason_line(decision: Decision, reason: dict[str, Any]) -> str:
    # The same sentence the review reports show (review.sentences), after the reason's code.
    return f"  - {reason.get('code', '?')}: {reason_sentence(reason, decision['policy'])}"


def format_text(decision: Decision) -> str:
    """A decision as a few lines a reviewer can read."""
    own = decision["ownership"]
    policy = decision["policy"]
    name = decision.get("name")
    lines = [
        f"{decision['entity']}{f' ({name})' if name else ''}: {decision['decision'].upper()}",
        f"  restricted ownership: control {_percent(own['control'])}%, "
        f"look-through {_percent(own['look_through'])}%",
        f"  policy: method={policy['method']} threshold {policy['comparison']} "
        f"{policy['threshold']:g} revision={policy['revision']}",
        f"  as of: {decision['as_of']}",
        "  reasons:" if decision["reasons"] else "  reasons: none",
    ]
    lines.extend(_reason_line(decision, reason) for reason in decision["reasons"])
    regimes: dict[str, Decision] = decision.get("regimes") or {}
    for regime, under in regimes.items():
        codes = ", ".join(str(r.get("code")) for r in under["reasons"]) or "no reasons"
        lines.append(f"  regime {regime}: {under['decision'].upper()} ({codes})")
    return "\n".join(lines) + "\n"

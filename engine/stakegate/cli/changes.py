"""``stakegate changes``: who flipped between two screenings, and why; and report writing.

A thin click layer over ``review.changes``. ``write_report`` writes any comparison report (this
one, ``bundle diff``'s) whole or not at all, PDF included; ``compare_to`` is what
``screen --compare-to`` runs after a screening.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stakegate.cli.common import fail_at_edge
from stakegate.cli.output import atomic_output
from stakegate.errors import InputError
from stakegate.registry.load import load_registry
from stakegate.review.changes import screening_changes
from stakegate.review.render import FORMATS, render, render_pdf
from stakegate.review.report import Report

__all__ = ["changes", "changes_report_path", "compare_to", "write_report"]

_PATH = click.Path(path_type=Path)
# The report `screen --compare-to` writes beside its --out file.
COMPARE_SUFFIX = ".changes.json"


def write_report(report: Report, fmt: str, out: str) -> None:
    """``report`` in ``fmt`` to ``out`` (``-``: stdout), written whole or not at all."""
    if fmt != "pdf":
        with atomic_output(out) as handle:
            render(report, fmt, handle)
        return
    if out in ("-", "") and sys.stdout.isatty():
        raise InputError("a PDF is binary: give --out FILE.pdf", param="out")
    data = render_pdf(report)
    with atomic_output(out) as handle:
        handle.flush()
        buffer = getattr(handle, "buffer", None)
        if buffer is None:
            raise InputError("this output cannot take binary data; give --out FILE.pdf")
        buffer.write(data)
        buffer.flush()


def changes_report_path(out: Path) -> Path:
    """``day.jsonl`` -> ``day.changes.json``, beside the screening it describes."""
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(stem + COMPARE_SUFFIX)


def compare_to(old: Path, new: Path) -> Path:
    """Write the JSON changes report of ``new`` against ``old`` beside ``new``; its path."""
    target = changes_report_path(new)
    with screening_changes(old, new) as report:
        write_report(report, "json", str(target))
        summary = report.doc["summary"]
        flips = ", ".join(f"{k} {v}" for k, v in report.doc["impact"].items()) or "none"
    click.echo(
        f"compared with {old}: {summary['changed']} changed ({flips}), {summary['appeared']} "
        f"appeared, {summary['disappeared']} disappeared; report {target}",
        err=True,
    )
    return target


@click.command(
    help="What changed between two screenings (`screen --format jsonl` outputs): every entity "
    "whose decision changed, with reasons before and after, and those that appeared or "
    "disappeared."
)
@click.argument("old", type=_PATH)
@click.argument("new", type=_PATH)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--out", "-o", default="-", help="Report file, written whole ('-': stdout).")
@click.option(
    "--registry",
    "-i",
    default=None,
    help="Native registry of the NEW screening: names, locations and every direct owner in "
    "the diagrams.",
)
@fail_at_edge
def changes(old: Path, new: Path, fmt: str, out: str, registry: str | None) -> None:
    loaded = load_registry(registry) if registry else None
    with screening_changes(old, new, loaded) as report:
        write_report(report, fmt, out)

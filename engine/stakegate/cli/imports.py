"""``stakegate import``: public ownership data (BODS, GLEIF, UK PSC) to a native registry file.

The command streams its inputs through an importer, checks the result exactly as ``check`` and
``screen`` will read it (``parse_registry``), and only then writes ``--out``, whole or not at
all: a registry that would fail later is reported now, with the input file and record, and a
failed run leaves no half-written registry behind. The counts (entities, ownership records,
what was skipped and why, what was recorded as unknown) go to stderr. Ownership records keep
the dates the source gives (``start``/``end``), so the registry can be screened at any date;
``--as-of`` writes only what is live on that day (the importers' docstrings say how each reads
its dates). Data faults are facts about a day: they are checked as of ``--as-of``, else today.

``cli.py`` registers the command; like ``cli_bundle`` this module reaches back into ``cli``
for the error handling only when the command runs, never at import.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from stakegate.cli.common import data_faults_option, fail_at_edge, parse_date
from stakegate.errors import DataFaultError, InputError
from stakegate.importers import FORMATS, import_document, write_registry
from stakegate.outfile import check_output_path
from stakegate.policy.pipeline import today
from stakegate.registry.faults import registry_as_of
from stakegate.registry.load import parse_registry

__all__ = ["import_command"]

P = ParamSpec("P")
R = TypeVar("R")
_SUFFIXES = (".yaml", ".yml", ".json")


@click.command(
    "import",
    help="Convert ownership data in FORMAT (bods, ftm, gleif, uk-psc) from INPUT files into a "
    "native registry. Counts of entities, ownership records and skipped records go to stderr.",
)
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(FORMATS)))
@click.argument(
    "inputs",
    metavar="INPUT...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
)
@click.option(
    "--out",
    "-o",
    required=True,
    help="Registry to write: .yaml/.yml or .json, whole or not at all ('-': JSON on stdout).",
)
@click.option(
    "--as-of",
    callback=parse_date,
    default=None,
    help="Write only the ownership records live on this date (YYYY-MM-DD). Default: every "
    "record, with its start and end dates, to be screened at any date.",
)
@data_faults_option(
    "Faults in the imported data (self-ownership, duplicate holdings, owners over 100%): "
    "'error' stops with exit 2 naming every faulty record and writes nothing; 'review' writes "
    "the registry and lists the faults on stderr (screen it with --data-faults review).",
)
@fail_at_edge
def import_command(
    fmt: str, inputs: tuple[Path, ...], out: str, as_of: date | None, data_faults: str
) -> None:
    # Checked first: a wrong suffix or a missing directory should not cost a large import.
    if out != "-":
        if Path(out).suffix not in _SUFFIXES:
            raise InputError(f"{out}: must end in .yaml, .yml or .json (or be '-')", param="out")
        check_output_path(out)
    document, report = import_document(fmt, inputs, as_of)
    registry = parse_registry(document, ", ".join(str(p) for p in inputs))
    dated = registry_as_of(registry, as_of or today())
    faults = list(dict.fromkeys(fault.describe() for fault in dated.faults))
    if faults and data_faults == "error":
        raise DataFaultError(faults, source=registry.source)
    if out == "-":
        json.dump(document, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        write_registry(document, out)
    click.echo(report.summary(), err=True)
    for fault in faults:
        click.echo(f"stakegate: warning: data fault: {fault}", err=True)

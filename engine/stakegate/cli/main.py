"""The ``stakegate`` command: a thin click layer over the one decision pipeline.

Errors are caught only at the edge (``common.fail_at_edge``): an ``EngineError`` prints one
clear message and exits with its class's code (1: no decision could be made; 2: bad usage or
input). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import click

from stakegate import settings
from stakegate.bundles.trust import Trust
from stakegate.cli.bundle import bundle
from stakegate.cli.changes import changes, compare_to
from stakegate.cli.common import (
    NATIVE,
    Progress,
    data_faults_option,
    exit_when_done,
    fail_at_edge,
    keep_until_exit,
    load_registry_files,
    parse_date,
    regimes_option,
    trust_options,
)
from stakegate.cli.imports import import_command
from stakegate.cli.output import (
    CHECK_FORMATS,
    SCREEN_FORMATS,
    atomic_output,
    make_writer,
)
from stakegate.cli.serve import register as register_service_commands
from stakegate.errors import InputError
from stakegate.importers import FORMATS
from stakegate.outfile import check_output_path
from stakegate.policy.facts import DataFaultMode
from stakegate.policy.pipeline import Screener, connect, require_entities


def _version() -> str:
    try:
        return version("stakegate")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that is not installed
        return "unknown"


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by check and screen."""
    options = [
        click.option(
            "--registry",
            "-i",
            "registry",
            required=True,
            multiple=True,
            help="Registry file: native YAML or JSON ('-' reads standard input), or with "
            "--registry-format an importer's input (repeat for several files, e.g. GLEIF LEI "
            "and relationship files).",
        ),
        click.option(
            "--registry-format",
            "registry_format",
            type=click.Choice([NATIVE, *sorted(FORMATS)]),
            default=NATIVE,
            show_default=True,
            help="Read the registry files directly as BODS, FollowTheMoney, GLEIF or UK PSC data.",
        ),
        click.option(
            "--policy",
            type=click.Path(path_type=Path),
            default=None,
            help="Policy directory or signed bundle .tar.gz (default: the shipped policies/); "
            "with --opa-url, the bundle the remote OPA must serve.",
        ),
        click.option(
            "--opa-url",
            default=lambda: settings.OPA_URL or None,
            help="Use this running OPA instead of starting a local one; also STAKEGATE_OPA_URL.",
        ),
        click.option(
            "--as-of",
            callback=parse_date,
            default=None,
            help="The date decided for (YYYY-MM-DD; default: today, UTC): dated holdings, "
            "designations and exceptions are read as of it, and a bundle must be in effect.",
        ),
        data_faults_option(
            "Data faults in the registry (self-ownership, duplicate holdings, owners over "
            "100%, closed cycles): 'error' stops with exit 2 naming every faulty record; "
            "'review' screens on, faulty entities get review (data_fault) and a summary goes "
            "to stderr."
        ),
        regimes_option(
            "Decide under these regimes of the policy side by side (e.g. "
            "us-ofac-50,uk-ownership, or all): every decision then carries each regime's own "
            "under 'regimes', and its decision is the most restrictive (docs/regimes.md)."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return trust_options(func)


def _fault_summary(screener: Screener) -> None:
    """Every data fault the run screened on (``--data-faults review``), to stderr."""
    facts = screener.facts
    lines = list(
        dict.fromkeys(fault.describe() for faults in facts.faults.values() for fault in faults)
    )
    regimes = screener.pipeline.regimes
    if regimes is not None:
        lines = list(dict.fromkeys([*lines, *regimes.fault_lines()]))
    if lines:
        entities = len(facts.faults)
        click.echo(
            f"stakegate: warning: {len(lines)} data fault{'s' if len(lines) != 1 else ''} in "
            f"{facts.registry.source}, on {entities} entit{'ies' if entities != 1 else 'y'} "
            "(reason data_fault: review unless denied anyway):",
            err=True,
        )
        for line in lines:
            click.echo(f"  - {line}", err=True)


def _regime_names(screener: Screener) -> list[str] | None:
    regimes = screener.pipeline.regimes
    return None if regimes is None else regimes.names


@click.group(help="Decide whether entities may use a service under the restricted-ownership rule.")
@click.version_option(_version(), "--version", prog_name="stakegate")
@click.option("-v", "--verbose", count=True, help="Log progress to stderr (-vv for debug).")
@fail_at_edge
def cli(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(message)s")


@cli.command(help="Decide one entity and print its decision with reasons.")
@click.argument("entity_id")
@_common
@click.option(
    "--format",
    "fmt",
    type=click.Choice(CHECK_FORMATS),
    default="json",
    show_default=True,
    help="json: the decision object; text: a few lines for a person; table, csv, jsonl: one "
    "row or line, as screen writes them.",
)
@fail_at_edge
def check(
    entity_id: str,
    registry: tuple[str, ...],
    registry_format: str,
    policy: Path | None,
    opa_url: str | None,
    as_of: date | None,
    data_faults: DataFaultMode,
    fmt: str,
    trust: Trust,
    regimes: tuple[str, ...] | None = None,
) -> None:
    loaded = load_registry_files(registry, registry_format, as_of)
    require_entities(loaded, [entity_id])
    with connect(policy, opa_url, trust=trust, as_of=as_of) as connection:
        screener = Screener(connection, loaded, as_of, data_faults=data_faults, regimes=regimes)
        decision = screener.decide([entity_id])[0]
    keep_until_exit(loaded, screener)
    _fault_summary(screener)
    with atomic_output("-") as handle:
        if fmt == "json":
            handle.write(json.dumps(decision, indent=2, ensure_ascii=False) + "\n")
            return
        writer = make_writer(fmt, handle, len(entity_id), _regime_names(screener))
        writer.write(decision)
        writer.close()


@cli.command(help="Decide every entity of a registry; one decision per line or row.")
@_common
@click.option(
    "--format",
    "fmt",
    type=click.Choice(SCREEN_FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl: one decision object per line; csv and table: one row per entity (with its "
    "name); text: a few lines per entity; json: one array.",
)
@click.option(
    "--out",
    "-o",
    default="-",
    help="Output file, written whole or not at all ('-': standard output).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Report progress on stderr: a bar on a terminal, otherwise a line every few seconds "
    "(default: on when stderr is a terminal).",
)
@click.option(
    "--compare-to",
    "compare_to_file",
    type=click.Path(path_type=Path),
    default=None,
    help="An earlier `screen --format jsonl` output: also write what changed since, as "
    "OUT.changes.json beside --out (see `stakegate changes`).",
)
@fail_at_edge
def screen(
    registry: tuple[str, ...],
    registry_format: str,
    policy: Path | None,
    opa_url: str | None,
    as_of: date | None,
    data_faults: DataFaultMode,
    fmt: str,
    out: str,
    progress: bool | None,
    trust: Trust,
    compare_to_file: Path | None = None,
    regimes: tuple[str, ...] | None = None,
) -> None:
    if compare_to_file is not None and (fmt != "jsonl" or out in ("-", None)):
        raise InputError("needs --format jsonl and --out FILE", param="compare_to")
    if compare_to_file is not None and not compare_to_file.is_file():
        raise InputError(f"{compare_to_file}: no such screening file", param="compare_to")
    if compare_to_file is not None and compare_to_file.resolve() == Path(out).resolve():
        raise InputError(
            "is the --out file itself, which the screening replaces", param="compare_to"
        )
    if out != "-":
        check_output_path(out)  # before the long work, not after it
    loaded = load_registry_files(registry, registry_format, as_of)
    width = max((len(e) for e in loaded.entities), default=6)
    counts: dict[str, int] = {}
    with connect(policy, opa_url, trust=trust, as_of=as_of) as connection:
        screener = Screener(connection, loaded, as_of, data_faults=data_faults, regimes=regimes)
        _fault_summary(screener)
        with atomic_output(out) as handle:
            writer = make_writer(fmt, handle, width, _regime_names(screener))
            with Progress(len(loaded.entities), "screening", progress) as report:
                for decision in screener.screen(on_batch=report.advance):
                    writer.write(decision)
                    counts[decision["decision"]] = counts.get(decision["decision"], 0) + 1
            writer.close()
    keep_until_exit(loaded, screener)
    if out not in ("-", None) or sys.stderr.isatty():
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        click.echo(f"screened {sum(counts.values())} entities: {summary}", err=True)
    if compare_to_file is not None:
        compare_to(compare_to_file, Path(out))


cli.add_command(bundle)
cli.add_command(changes)
cli.add_command(import_command)
register_service_commands(cli)


def main() -> None:
    exit_when_done(lambda: cli(prog_name="stakegate"))


if __name__ == "__main__":
    main()

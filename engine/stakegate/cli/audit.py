"""``stakegate audit verify|seal|export``: check the decision audit log, recover it, export it.

A thin click layer over ``stakegate.service.audit``; errors are caught only at the edge
(``cli.common.fail_at_edge``). docs/AUDIT.md describes the formats and the guarantees.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from stakegate import settings
from stakegate.cli.common import fail_at_edge
from stakegate.cli.output import atomic_output
from stakegate.errors import AuditError

__all__ = ["audit"]

_FILE = click.Path(path_type=Path, exists=True, dir_okay=False)


def _file_error(err: OSError) -> AuditError:
    """A file that cannot be read or written, as one message (exit 1), not a traceback."""
    return AuditError(f"{err.filename or 'audit log'}: {err.strerror or err}")


_KEY_HELP = (
    "Public key (PEM, Ed25519 or RSA) that must have signed the checkpoints; repeat for a log "
    "signed by several keys over time. Without it, the chain is checked but not who wrote it."
)


@click.group(help="Verify, seal or export the decision audit log.")
def audit() -> None:
    pass


@audit.command(
    help="Verify LOG: its first file (all segments beside it), its directory, or segments in "
    "order. Exit 0 only when intact and, with --key, every checkpoint is signed by a given key; "
    "1 when truncated, tampered, unverified, or sealed (a recorded gap; see --allow-sealed)."
)
@click.argument("logs", metavar="LOG...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--key", "keys", multiple=True, type=_FILE, help=_KEY_HELP)
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=_FILE,
    help="A copy of LOG.checkpoint kept elsewhere: the log must reach it too.",
)
@click.option(
    "--allow-sealed",
    is_flag=True,
    help="Exit 0 for a sealed log too: its only problems are gaps an `audit seal` recorded.",
)
@fail_at_edge
def verify(
    logs: tuple[Path, ...],
    keys: tuple[Path, ...],
    checkpoints: tuple[Path, ...],
    allow_sealed: bool,
) -> None:
    from stakegate.service.audit import load_verifiers, verify_log

    try:
        report = verify_log(list(logs), load_verifiers(keys), list(checkpoints))
    except OSError as err:
        raise _file_error(err) from err
    click.echo(json.dumps(report.to_json(), indent=2))
    for note in report.notes:
        click.echo(f"stakegate: note: {note}", err=True)
    if not keys:
        click.echo(
            "stakegate: warning: no --key: the chain was checked, not who wrote it "
            "(tamper-evident against accidents only)",
            err=True,
        )
    if report.status != "intact":
        click.echo(f"stakegate: audit log {report.path} is {report.status}", err=True)
        for problem in [*report.problems, *report.sealed_problems]:
            click.echo(f"  - {problem}", err=True)
        if not (allow_sealed and report.status == "sealed"):
            sys.exit(1)


@audit.command(
    help="Start a new segment of LOG that records what verification found (the gap, and the "
    "digest of every earlier file), so that `serve` continues a truncated or tampered log "
    "knowingly. Never run it while a service writes LOG (it refuses)."
)
@click.argument("log_file", metavar="LOG", type=_FILE)
@click.option(
    "--audit-key",
    default=lambda: settings.AUDIT_KEY or None,
    help="Private key (PEM path or text) that signs the new checkpoint; also STAKEGATE_AUDIT_KEY.",
)
@click.option("--key", "keys", multiple=True, type=_FILE, help=_KEY_HELP)
@click.option("--reason", default=None, help="Why the log is sealed, recorded in the seal line.")
@fail_at_edge
def seal(log_file: Path, audit_key: str | None, keys: tuple[Path, ...], reason: str | None) -> None:
    from stakegate.service.audit import load_signer, load_verifiers, seal_log

    signer = load_signer(audit_key) if audit_key else None
    try:
        record = seal_log(log_file, signer, reason, load_verifiers(keys))
    except OSError as err:
        raise _file_error(err) from err
    click.echo(json.dumps(record, indent=2))
    found = record["found"]
    click.echo(
        f"stakegate: sealed {log_file} as {found['status']}: segment {record['segment']} "
        f"continues after seq {found['last_seq']}",
        err=True,
    )
    if signer is None:
        click.echo("stakegate: warning: the seal is unsigned (no --audit-key)", err=True)


@audit.command(
    help="Export the decisions of LOG as OPA decision-log events, one JSON object per line. "
    "LOG is verified first; a log that is not intact (or sealed) is not exported."
)
@click.argument("logs", metavar="LOG...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["opa"]), default="opa", show_default=True,
    help="Event format: OPA's decision log (EventV1).",
)  # fmt: skip
@click.option("--out", "-o", default="-", help="Output file ('-': standard output).")
@click.option("--key", "keys", multiple=True, type=_FILE, help=_KEY_HELP)
@fail_at_edge
def export(logs: tuple[Path, ...], fmt: str, out: str, keys: tuple[Path, ...]) -> None:
    from stakegate.service.audit import load_verifiers
    from stakegate.service.audit.export import export_opa
    from stakegate.service.audit.segments import resolve

    series = resolve(list(logs))
    verifiers = load_verifiers(keys)
    try:
        with atomic_output(out) as handle:
            count = export_opa(series, handle, verifiers)
    except OSError as err:
        raise _file_error(err) from err
    if out != "-":
        click.echo(f"stakegate: exported {count} decisions ({fmt}) to {out}", err=True)

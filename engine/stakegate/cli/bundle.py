"""``stakegate bundle``: build, verify, review and approve signed policy bundles.

A thin click layer over ``bundles``, ``signing`` and ``review``; errors are caught only at the
edge, by the same ``cli_common.fail_at_edge`` as the rest of the CLI (exit 1: the bundle cannot
be trusted or no decision could be made; exit 2: bad usage or input).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from stakegate import settings
from stakegate.bundles.build import approve_bundle, build_bundle
from stakegate.bundles.signing import verify_bundle
from stakegate.cli.changes import write_report
from stakegate.cli.common import fail_at_edge, parse_date
from stakegate.registry.load import load_registry
from stakegate.review.compare import compare_policies
from stakegate.review.render import FORMATS

__all__ = ["bundle"]

_PATH = click.Path(path_type=Path)
F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")


def _key_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--key",
        type=_PATH,
        default=None,
        help=f"{help_text} (default: STAKEGATE_BUNDLE_PUBLIC_KEY; in a checkout the test key).",
    )


@click.group(help="Build, verify, review and approve signed, versioned policy bundles.")
def bundle() -> None:
    pass


@bundle.command(help="Build a signed bundle stakegate-X.Y.Z.tar.gz from a policy directory.")
@click.option("--version", "version", required=True, help="Semantic version X.Y.Z.")
@click.option("--policy", type=_PATH, default=None, help="Policy directory (default: policies/).")
@click.option(
    "--signing-key",
    type=_PATH,
    default=None,
    help="RSA private key (PEM) to sign with, RS256 (default: STAKEGATE_BUNDLE_SIGNING_KEY, "
    "a path or the PEM itself).",
)
@click.option("--out", "-o", type=_PATH, default=None, help="Bundle file (default: bundles/).")
@click.option("--changelog", required=True, help="Changelog entry: what this version changes.")
@click.option("--author", default=None, help="Author (default: git config user.name).")
@click.option(
    "--effective-date",
    callback=parse_date,
    default=None,
    help="Date the version takes effect, YYYY-MM-DD (default: SOURCE_DATE_EPOCH or today).",
)
@fail_at_edge
def build(
    version: str,
    policy: Path | None,
    signing_key: Path | None,
    out: Path | None,
    changelog: str,
    author: str | None,
    effective_date: date | None,
) -> None:
    built = build_bundle(
        version,
        changelog=changelog,
        policy=policy,
        signing_key=signing_key,
        out=out,
        author=author,
        effective_date=effective_date,
    )
    click.echo(f"built {built.path} revision {built.revision} sha256 {built.sha256}")


@bundle.command(help="Check a bundle's signature, every file in it, and its manifest.")
@click.argument("bundle_file", metavar="BUNDLE", type=_PATH)
@_key_option("Public key (PEM) the bundle must be signed for")
@fail_at_edge
def verify(bundle_file: Path, key: Path | None) -> None:
    verified = verify_bundle(bundle_file, key or settings.BUNDLE_PUBLIC_KEY)
    click.echo(
        json.dumps(
            {
                "bundle": str(bundle_file),
                "verified": True,
                "sha256": verified.sha256,
                "signing_key": verified.key_id,
                "manifest": verified.manifest,
            },
            indent=2,
        )
    )


@bundle.command(
    help="Review report: what NEW changes against OLD, which entities flip, and why. OLD is a "
    "signed bundle; NEW a bundle, or a policy directory to preview a change before building it."
)
@click.argument("old", type=_PATH)
@click.argument("new", type=_PATH)
@click.option(
    "--registry", "-i", required=True, help="Registry whose entities are screened under both."
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True)
@click.option("--out", "-o", default="-", help="Report file, written whole ('-': stdout).")
@click.option(
    "--as-of", callback=parse_date, default=None, help="Decision date (default: today, UTC)."
)
@_key_option("Public key (PEM) both bundles must be signed for")
@fail_at_edge
def diff(
    old: Path,
    new: Path,
    registry: str,
    fmt: str,
    out: str,
    as_of: date | None,
    key: Path | None,
) -> None:
    report = compare_policies(old, new, load_registry(registry), public_key=key, as_of=as_of)
    write_report(report, fmt, out)


@bundle.command(help="Record a reviewer's approval of a verified bundle, beside the bundle.")
@click.argument("bundle_file", metavar="BUNDLE", type=_PATH)
@click.option("--reviewer", required=True, help="Who approves (name or e-mail).")
@click.option(
    "--date", "on", callback=parse_date, default=None, help="YYYY-MM-DD (default: today, UTC)."
)
@click.option("--note", default="", help="Optional note, e.g. the review ticket.")
@_key_option("Public key (PEM) the bundle must be signed for")
@fail_at_edge
def approve(bundle_file: Path, reviewer: str, on: date | None, note: str, key: Path | None) -> None:
    record = approve_bundle(bundle_file, reviewer, on=on, note=note, public_key=key)
    click.echo(json.dumps(record, indent=2))

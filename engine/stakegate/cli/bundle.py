"""``stakegate bundle``: gate, build, verify, review, approve and release-check policy bundles.

A thin click layer over ``bundles`` and ``review``; errors are caught only at the edge, by the
same ``cli.common.fail_at_edge`` as the rest of the CLI (exit 1: the bundle cannot be trusted or
no decision could be made; exit 2: bad usage or input, including a policy that fails the gate).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from stakegate import settings
from stakegate.bundles.approvals import approve_bundle
from stakegate.bundles.build import UNCOMMITTED, build_bundle
from stakegate.bundles.gate import run_gate
from stakegate.bundles.release import check_config
from stakegate.bundles.trust import Trust, verify_bundle_with
from stakegate.cli.changes import write_report
from stakegate.cli.common import fail_at_edge, key_option, parse_date, regimes_option
from stakegate.registry.load import load_registry
from stakegate.review.compare import compare_policies
from stakegate.review.render import FORMATS

__all__ = ["bundle"]

_PATH = click.Path(path_type=Path)


def _stderr(line: str) -> None:
    click.echo(line, err=True)


@click.group(help="Gate, build, verify, review and approve signed, versioned policy bundles.")
def bundle() -> None:
    pass


@bundle.command(
    help="Run the build gate on a policy directory without building: opa fmt, opa check "
    "--strict (pinned capabilities, --schema), opa test with the coverage gate, and parameter "
    "validation. `make lint-rego` runs this."
)
@click.option("--policy", type=_PATH, default=None, help="Policy directory (default: policies/).")
@fail_at_edge
def gate(policy: Path | None) -> None:
    report = run_gate(policy or settings.DEFAULT_POLICY, echo=click.echo)
    click.echo(f"gate: ok ({report.tests} tests, coverage {report.coverage:.2f}%)")


@bundle.command(
    help="Build a signed bundle stakegate-X.Y.Z.tar.gz from a policy directory that passes the "
    "gate (see `stakegate bundle gate`); nothing is written when it does not."
)
@click.option("--version", "version", required=True, help="Semantic version X.Y.Z.")
@click.option("--policy", type=_PATH, default=None, help="Policy directory (default: policies/).")
@click.option(
    "--signing-key",
    type=_PATH,
    default=None,
    help="RSA private key (PEM) to sign with, RS256 (default: STAKEGATE_BUNDLE_SIGNING_KEY, "
    "a path or the PEM itself).",
)
@click.option(
    "--out",
    "-o",
    default=None,
    help="Bundle file, or a directory (an existing one, or a path ending in '/') that gets "
    "stakegate-X.Y.Z.tar.gz (default: bundles/).",
)
@click.option("--changelog", required=True, help="Changelog entry: what this version changes.")
@click.option("--author", default=None, help="Author (default: git config user.name).")
@click.option(
    "--effective-date",
    callback=parse_date,
    default=None,
    help="Date the version takes effect, YYYY-MM-DD (default: SOURCE_DATE_EPOCH or today); "
    "before it, check/screen/serve refuse the bundle.",
)
@click.option(
    "--notice",
    default=None,
    help="A notice recorded in the signed metadata, e.g. 'TEST-SIGNED EXAMPLE, not a release'.",
)
@fail_at_edge
def build(
    version: str,
    policy: Path | None,
    signing_key: Path | None,
    out: str | None,
    changelog: str,
    author: str | None,
    effective_date: date | None,
    notice: str | None,
) -> None:
    built = build_bundle(
        version,
        changelog=changelog,
        policy=policy,
        signing_key=signing_key,
        out=out,
        author=author,
        effective_date=effective_date,
        notice=notice,
        echo=_stderr,
    )
    if built.metadata["source_commit"] == UNCOMMITTED:
        _stderr(
            "stakegate: warning: the policy is not a clean git checkout (uncommitted changes, "
            "or not in git): source_commit recorded as 'uncommitted'"
        )
    click.echo(f"built {built.path} revision {built.revision} sha256 {built.sha256}")


@bundle.command(help="Check a bundle's signature, every file in it, its content and manifest.")
@click.argument("bundle_file", metavar="BUNDLE", type=_PATH)
@key_option
@fail_at_edge
def verify(bundle_file: Path, key: Path | None) -> None:
    verified = verify_bundle_with(bundle_file, Trust(public_key=key))
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
    "signed bundle; NEW a bundle, or a policy directory to preview a change before building it. "
    "A preview: NEW may take effect later than --as-of."
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
@regimes_option(
    "Screen under these regimes side by side under both policies (all: every regime of NEW): "
    "the report adds each regime's own impact (docs/regimes.md)."
)
@key_option
@fail_at_edge
def diff(
    old: Path,
    new: Path,
    registry: str,
    fmt: str,
    out: str,
    as_of: date | None,
    key: Path | None,
    regimes: tuple[str, ...] | None = None,
) -> None:
    report = compare_policies(
        old, new, load_registry(registry), public_key=key, as_of=as_of, regimes=regimes
    )
    write_report(report, fmt, out)


@bundle.command(
    help="Sign a reviewer's approval of a verified bundle with the reviewer's own key, and "
    "record it beside the bundle (stakegate-X.Y.Z.approval.json)."
)
@click.argument("bundle_file", metavar="BUNDLE", type=_PATH)
@click.option("--reviewer", required=True, help="Who approves (name or e-mail).")
@click.option(
    "--reviewer-key",
    type=_PATH,
    required=True,
    help="The reviewer's private key (PEM, Ed25519 or RSA); never the bundle signing key.",
)
@click.option(
    "--date", "on", callback=parse_date, default=None, help="YYYY-MM-DD (default: today, UTC)."
)
@click.option("--note", default="", help="Optional note, e.g. the review ticket.")
@key_option
@fail_at_edge
def approve(
    bundle_file: Path,
    reviewer: str,
    reviewer_key: Path,
    on: date | None,
    note: str,
    key: Path | None,
) -> None:
    verified = verify_bundle_with(bundle_file, Trust(public_key=key))
    entry = approve_bundle(verified, reviewer, reviewer_key, on=on, note=note)
    click.echo(json.dumps(entry, indent=2))


@bundle.command(
    "check-config",
    help="Release review: compare the shipped parameters (config/data.json) with those of the "
    "latest approved release in --bundles. Exit 0 when they match, 1 when they differ.",
)
@click.option("--policy", type=_PATH, default=None, help="Policy directory (default: policies/).")
@click.option(
    "--bundles",
    "bundle_dir",
    type=_PATH,
    default=None,
    help="Bundle directory (default: bundles/).",
)
@key_option
@click.option(
    "--reviewer-keys",
    type=_PATH,
    default=lambda: settings.REVIEWER_KEYS,
    show_default="STAKEGATE_REVIEWER_KEYS",
    help="Trusted reviewer public keys (PEM file or directory of *.pem).",
)
@click.option("--min-approvals", type=click.IntRange(min=1), default=1, show_default=True)
@fail_at_edge
def check_config_command(
    policy: Path | None,
    bundle_dir: Path | None,
    key: Path | None,
    reviewer_keys: Path | None,
    min_approvals: int,
) -> None:
    trust = Trust(
        public_key=key,
        require_approval=True,
        reviewer_keys=reviewer_keys,
        min_approvals=min_approvals,
    )
    result = check_config(trust, policy=policy, bundle_dir=bundle_dir)
    for line in result.notes:
        _stderr(f"stakegate: {line}")
    click.echo(json.dumps(result.to_json(), indent=2))
    if result.differences:
        _stderr(
            f"stakegate: {result.config} differs from the parameters approved in "
            f"{result.release}: {', '.join(d['name'] for d in result.differences)}"
        )
        sys.exit(1)

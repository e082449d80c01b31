"""Pieces every ``stakegate`` command shares: the error edge, option parsing and the exit.

They live apart from ``cli/main.py`` so the command modules (``bundle``, ``imports``, ``serve``)
can import them while ``main`` imports the commands, without a cycle.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from functools import wraps
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from stakegate import settings
from stakegate.bundles.trust import Trust
from stakegate.errors import DataFaultError, EngineError, InputError
from stakegate.policy.facts import DATA_FAULT_MODES
from stakegate.registry.load import load_registry
from stakegate.registry.model import Registry

__all__ = [
    "NATIVE",
    "Progress",
    "data_faults_option",
    "exit_when_done",
    "fail_at_edge",
    "keep_until_exit",
    "key_option",
    "load_registry_files",
    "parse_date",
    "parse_regimes",
    "regimes_option",
    "trust_options",
]

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

# `--registry-format` value for the native registry (docs/registry.md); the others are importers.
NATIVE = "native"


# What finished commands leave for the process's end to drop, when ``exit_when_done`` runs them.
_kept: list[object] | None = None


def keep_until_exit(*objects: object) -> None:
    """Hold a finished command's large objects (a registry, its facts) until the process ends,
    so they are not freed one by one on the way out. Only under ``exit_when_done``: a command
    called in process (tests, ``CliRunner``) frees them as usual."""
    if _kept is not None:
        _kept.extend(objects)


def exit_when_done(run: Callable[[], object]) -> NoReturn:
    """Run a click command in standalone mode; if it kept objects (``keep_until_exit``), flush
    the streams and end with ``os._exit`` instead of freeing them.

    Freeing a 1M-entity model object by object took 1.6 s after the last decision was written
    (mypy's ``hard_exit`` skips the same teardown). Only commands that keep objects (check,
    screen) end this way, once OPA is stopped and their files are closed by their context
    managers; nothing of theirs relies on ``atexit`` or on threads still running. Any other
    command, and any exception but ``SystemExit``, ends as it always did."""
    global _kept
    _kept = []
    try:
        run()
        status = 0
    except SystemExit as done:
        if not _kept:
            raise
        code = done.code
        status = code if isinstance(code, int) else 0 if code is None else 1
        if not isinstance(code, int | None):
            print(code, file=sys.stderr)
    if not _kept:
        sys.exit(status)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, a full disk: the output is not whole
            status = status or 1
    os._exit(status)


def data_faults_option(help_text: str) -> Callable[[F], F]:
    """``--data-faults error|review`` (default ``error``), with a command-specific help."""
    return click.option(
        "--data-faults",
        "data_faults",
        type=click.Choice(list(DATA_FAULT_MODES)),
        default="error",
        show_default=True,
        help=help_text,
    )


_PATH = click.Path(path_type=Path)


def key_option(func: F) -> F:
    """``--key PUB.pem``: the public key bundles must be signed for; no default key."""
    return click.option(
        "--key",
        type=_PATH,
        default=lambda: settings.BUNDLE_PUBLIC_KEY,
        show_default="STAKEGATE_BUNDLE_PUBLIC_KEY",
        help="Public key (PEM) every bundle must be signed for. Without it a bundle is refused; "
        "no key is trusted by default.",
    )(func)


def trust_options(func: Callable[..., R]) -> Callable[..., R]:
    """``--key``, ``--require-approval``, ``--reviewer-keys``, ``--min-approvals``, handed to
    the command as one ``trust: Trust`` (the same options on check, screen and serve)."""

    @wraps(func)
    def wrapper(
        *args: Any,
        key: Path | None,
        require_approval: bool,
        reviewer_keys: Path | None,
        min_approvals: int,
        **kwargs: Any,
    ) -> R:
        trust = Trust(
            public_key=key,
            require_approval=require_approval,
            reviewer_keys=reviewer_keys,
            min_approvals=min_approvals,
        )
        return func(*args, trust=trust, **kwargs)

    options = [
        key_option,
        click.option(
            "--require-approval",
            is_flag=True,
            default=lambda: settings.REQUIRE_APPROVAL,
            help="Load only a bundle with --min-approvals valid approvals signed by "
            "--reviewer-keys (also STAKEGATE_REQUIRE_APPROVAL=true). With --opa-url, give the "
            "approved bundle as --policy: the remote OPA must report its revision.",
        ),
        click.option(
            "--reviewer-keys",
            type=_PATH,
            default=lambda: settings.REVIEWER_KEYS,
            show_default="STAKEGATE_REVIEWER_KEYS",
            help="Trusted reviewer public keys: a PEM file with one or more keys, or a "
            "directory of *.pem (Ed25519 or RSA).",
        ),
        click.option(
            "--min-approvals",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Valid approvals (distinct reviewer keys) a bundle needs.",
        ),
    ]
    command: Callable[..., R] = wrapper
    for option in reversed(options):
        command = option(command)
    return command


def fail_at_edge(func: Callable[P, R]) -> Callable[P, R]:
    """Print an ``EngineError`` as one line and exit with its code. Anything else is a bug: one
    line naming it, exit 1, and its traceback only in the debug log (``-vv``), never on a
    user's screen."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            settings.require_valid()
            return func(*args, **kwargs)
        except EngineError as err:
            click.echo(f"stakegate: error: {_message(err)}", err=True)
            sys.exit(err.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as err:  # a bug: no traceback for the user, a line to report
            logging.getLogger("stakegate").debug("internal error", exc_info=True)
            click.echo(
                f"stakegate: internal error (a bug; run with -vv for details and report it): "
                f"{type(err).__name__}: {err}",
                err=True,
            )
            sys.exit(1)

    return wrapper


def _message(err: EngineError) -> str:
    """The error as the command line says it: a library parameter named as its flag."""
    if isinstance(err, DataFaultError):
        return err.describe("--data-faults review")
    if isinstance(err, InputError) and err.param:
        return f"--{err.param.replace('_', '-')}: {err.detail}"
    return str(err)


def parse_regimes(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    """Click callback for ``--regimes NAME[,NAME...]`` or ``--regimes all``: the names, in order
    (the policy's view checks that they exist)."""
    if value is None:
        return None
    names = tuple(part.strip() for part in value.split(","))
    if not all(names):
        raise click.BadParameter(f"{value!r}: an empty regime name (NAME[,NAME...] or all)")
    if "all" in names and len(names) > 1:
        raise click.BadParameter(f"{value!r}: 'all' stands alone")
    return names


def regimes_option(help_text: str) -> Callable[[F], F]:
    """``--regimes NAME[,NAME...]|all``: decide under these regimes side by side."""
    return click.option(
        "--regimes",
        "regimes",
        callback=parse_regimes,
        default=None,
        metavar="NAME[,NAME...]|all",
        help=help_text,
    )


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """Click callback for YYYY-MM-DD options."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def load_registry_files(
    paths: Sequence[str], fmt: str = NATIVE, as_of: date | None = None
) -> Registry:
    """The registry from ``--registry`` files: one native file, or inputs of an importer read
    as of ``as_of`` (the decision date: it decides which dated interests have ended)."""
    if fmt == NATIVE:
        if len(paths) != 1:
            raise InputError("a native registry is one file: give --registry once")
        return load_registry(paths[0])
    from stakegate.importers import load_foreign_registry

    registry, report = load_foreign_registry(fmt, [Path(p) for p in paths], as_of)
    click.echo(report.summary(), err=True)
    return registry


class Progress:
    """Progress of a long run on stderr: a bar on a terminal, otherwise (when asked for) one line
    every ``settings.PROGRESS_INTERVAL`` seconds, so that CI logs and pipes show it too.

    ``enabled=None`` means: a bar when stderr is a terminal, nothing otherwise."""

    def __init__(self, total: int, label: str, enabled: bool | None) -> None:
        tty = sys.stderr.isatty()
        self.total, self.label, self.done = total, label, 0
        self._bar: Any = None
        self._lines = bool(enabled) and not tty
        if (enabled is None or enabled) and tty:
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr)
        self._started = self._last = time.monotonic()

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
        elif self._lines and exc is None:
            self._line()

    def advance(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self._lines and time.monotonic() - self._last >= settings.PROGRESS_INTERVAL:
            self._line()

    def _line(self) -> None:
        self._last = now = time.monotonic()
        share = 100.0 * self.done / self.total if self.total else 100.0
        rate = self.done / max(now - self._started, 1e-9)
        click.echo(
            f"{self.label}: {self.done}/{self.total} ({share:.0f}%), {rate:,.0f}/s",
            err=True,
        )

"""``stakegate serve`` and ``stakegate audit verify``: the decision service and its audit trail.

A thin click layer over ``stakegate.service``. Errors are caught only at the edge, by
``cli_common.fail_at_edge``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click

from stakegate import settings
from stakegate.bundles.trust import Trust
from stakegate.cli.common import fail_at_edge, parse_date, trust_options
from stakegate.errors import InputError

if TYPE_CHECKING:
    import uvicorn

__all__ = ["audit", "register", "serve"]

_PATH = click.Path(path_type=Path)
P = ParamSpec("P")
R = TypeVar("R")


@click.command(help="Serve decisions over HTTP (POST /v1/decisions), with an audit log.")
@click.option("--registry", "-i", type=_PATH, required=True, help="Native registry file.")
@click.option(
    "--policy",
    type=_PATH,
    default=None,
    help="Policy directory or signed bundle .tar.gz for a private OPA (default: policies/); "
    "with --opa-url, the bundle the remote OPA must serve.",
)
@click.option(
    "--opa-url",
    default=lambda: settings.OPA_URL or None,
    help="Use this running OPA (e.g. a sidecar pulling signed bundles) instead.",
)
@click.option(
    "--addr",
    default=lambda: settings.SERVICE_ADDR,
    show_default="127.0.0.1:8000",
    help="HOST:PORT to listen on; beyond loopback, API keys are required.",
)
@click.option(
    "--audit-log",
    type=_PATH,
    default=None,
    help="Append every decision to this hash-chained JSON-lines file before answering.",
)
@click.option(
    "--api-key-file",
    type=_PATH,
    default=None,
    help="File of accepted API keys (bearer tokens), one per line; also "
    "STAKEGATE_SERVICE_API_KEYS.",
)
@click.option(
    "--allow-anonymous",
    is_flag=True,
    help="Serve beyond loopback without API keys (not recommended).",
)
@click.option(
    "--as-of",
    callback=parse_date,
    default=None,
    help="Fixed decision date, YYYY-MM-DD (default: today, UTC, at each request).",
)
@trust_options
@fail_at_edge
def serve(
    registry: Path,
    policy: Path | None,
    opa_url: str | None,
    addr: str,
    audit_log: Path | None,
    api_key_file: Path | None,
    allow_anonymous: bool,
    as_of: date | None,
    trust: Trust,
) -> None:
    import uvicorn
    import uvloop

    from stakegate.service import ServiceConfig, create_app
    from stakegate.service.config import parse_addr, read_api_keys

    host, port = parse_addr(addr)
    if not registry.is_file():
        raise InputError(f"{registry}: registry file not found")
    config = ServiceConfig(
        registry=registry,
        policy=policy,
        opa_url=opa_url,
        host=host,
        port=port,
        audit_log=audit_log,
        api_keys=read_api_keys(api_key_file, settings.SERVICE_API_KEYS),
        allow_anonymous=allow_anonymous,
        as_of=as_of,
        trust=trust,
    )
    app = create_app(config)
    server = _server_class()(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            http="httptools",
            access_log=False,
            log_level="warning",
            lifespan="off",  # run below, so a start-up failure is an EngineError at the edge
            timeout_graceful_shutdown=10,
            # Clients and load balancers keep connections open between decisions; uvicorn's
            # default (5 s) closes them under a client that sends a request a few seconds later.
            timeout_keep_alive=75,
        )
    )

    async def announce() -> None:
        """One line on stderr once the socket is bound: where, which policy, which data."""
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.05)
        snapshot = app.state.service.snapshot
        if snapshot is not None:
            registry = snapshot.registry
            click.echo(
                f"stakegate: serving http://{addr} policy revision {snapshot.revision}, "
                f"registry {registry.source}: {len(registry.entities)} entities, "
                f"{len(registry.holdings)} ownership records",
                err=True,
            )

    async def run() -> None:
        async with app.router.lifespan_context(app):
            announcing = asyncio.create_task(announce())
            try:
                await server.serve()
            finally:
                announcing.cancel()

    uvloop.run(run())


def _server_class() -> type[uvicorn.Server]:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, minus re-raising SIGTERM/SIGINT after its own shutdown.

        uvicorn re-raises a captured signal once it stopped serving, which would kill the
        process before the lifespan exit below writes the audit log's ``close`` record and
        stops the private OPA.
        """

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


@click.group(help="Check the decision audit log.")
def audit() -> None:
    pass


@audit.command(help="Recompute the hash chain of LOG: exit 0 intact, 1 truncated or tampered.")
@click.argument("log_file", metavar="LOG", type=click.Path(path_type=Path, exists=True))
@fail_at_edge
def verify(log_file: Path) -> None:
    from stakegate.service.audit import verify_log

    report = verify_log(log_file)
    click.echo(json.dumps(report.to_json(), indent=2))
    if report.status != "intact":
        click.echo(f"stakegate: audit log {log_file} is {report.status}", err=True)
        for problem in report.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add ``serve`` and ``audit`` to the ``stakegate`` command group."""
    group.add_command(serve)
    group.add_command(audit)

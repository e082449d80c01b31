"""Half-sent requests and connection floods against a real ``stakegate serve``, real sockets.

uvicorn arms no timer before a first response, so a client that sends half a request held its
socket for ever, and enough of them exhausted the process's file descriptors. Here the service
runs with short read deadlines, a small connection cap and a low descriptor limit, and must
close what is half-sent and keep answering complete requests. No assertion depends on timing:
sockets wait (with a generous bound) for the server to close them.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stakegate.policy.runtime import LocalOpa

from .audit_support import PRIVATE, PUBLIC
from .conftest import REPO
from .service_process import STAKEGATE, ServiceProcess, serving

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REGISTRY = REPO / "examples" / "registry.yaml"
HALF_REQUEST = b"POST /v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appli"


def _args(opa: LocalOpa, tmp_path: Path) -> list[str]:
    return [
        "--registry",
        str(REGISTRY),
        "--opa-url",
        opa.url,
        "--audit-log",
        str(tmp_path / "a.log"),
    ]


def _connect(server: ServiceProcess, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    if data:
        sock.sendall(data)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the connection (30 s bound: a socket the
    server never closes fails the test with a timeout)."""
    received = b""
    with sock:
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.fixture
def short_deadlines(opa_server: LocalOpa, tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {"STAKEGATE_SERVICE_HEADER_TIMEOUT": "1", "STAKEGATE_SERVICE_BODY_TIMEOUT": "1"}
    with serving(_args(opa_server, tmp_path), tmp_path / "serve.log", env=env) as server:
        yield server


@pytest.mark.parametrize(
    "sent",
    [
        HALF_REQUEST,  # half the headers
        b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b'{"entity"',
    ],
    ids=["half-headers", "half-body"],
)
def test_a_half_sent_request_is_answered_408_and_closed(short_deadlines, sent):
    answer = _read_until_closed(_connect(short_deadlines, sent))
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:200]
    assert b'"type":"RequestTimeout"' in answer
    assert httpx.get(f"{short_deadlines.url}/health").status_code == 200


def test_a_silent_connection_is_closed_without_an_answer(short_deadlines):
    """A connection opened ahead of use (as client pools do) and silent past the header
    deadline was answered 408: a request sent as the deadline passed read that 408 as its
    answer (bench_service saw two). Nothing was asked, so nothing is answered: it is closed."""
    assert _read_until_closed(_connect(short_deadlines)) == b""
    assert httpx.get(f"{short_deadlines.url}/health").status_code == 200


def test_a_kept_alive_connection_that_stalls_mid_request_is_closed(short_deadlines):
    sock = _connect(short_deadlines)
    sock.sendall(b'POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                 b'Content-Length: 23\r\n\r\n{"entity": "lotus-sg"}\n')  # fmt: skip
    first = b""
    while b"\r\n\r\n" not in first:
        first += sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 200 OK")
    sock.sendall(HALF_REQUEST)  # the next request on the same connection never completes
    rest = _read_until_closed(sock)
    assert b"HTTP/1.1 408 Request Timeout" in rest
    # (Started without --audit-key: it said so.)
    assert "tamper-evident only against accidents" in short_deadlines.log_path.read_text()


def _low_descriptor_limit() -> None:
    """In the service process: 600 file descriptors (2 * 100 connections + 256 fit)."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (600, 600))


def test_the_service_keeps_answering_while_many_half_sent_connections_are_open(
    opa_server: LocalOpa, tmp_path: Path
):
    env = {"STAKEGATE_SERVICE_MAX_CONNECTIONS": "100", "STAKEGATE_SERVICE_HEADER_TIMEOUT": "120"}
    args = [*_args(opa_server, tmp_path), "--audit-key", str(PRIVATE)]
    with serving(args, tmp_path / "serve.log", env=env, preexec_fn=_low_descriptor_limit) as server:
        held = [_connect(server, HALF_REQUEST) for _ in range(700)]  # more than 600 descriptors
        try:
            with httpx.Client(base_url=server.url, timeout=10.0) as client:
                for _ in range(20):
                    assert (
                        client.post("/v1/decisions", json={"entity": "lotus-sg"}).status_code == 200
                    )
                    assert client.get("/health").status_code == 200
            descriptors = len(os.listdir(f"/proc/{server.proc.pid}/fd"))
            assert descriptors <= 2 * 100 + 256, descriptors
        finally:
            for sock in held:
                sock.close()
    # Every decision answered is in the log, and its checkpoints were written throughout.
    verified = subprocess.run(
        [*STAKEGATE, "audit", "verify", str(tmp_path / "a.log"), "--key", str(PUBLIC)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["decisions"] == 20


def test_too_many_connections_for_the_descriptor_limit_is_refused_at_start(tmp_path: Path):
    env = {"STAKEGATE_SERVICE_MAX_CONNECTIONS": "1000"}
    server = ServiceProcess(
        ["--registry", str(REGISTRY)],
        tmp_path / "serve.log",
        env=env,
        preexec_fn=_low_descriptor_limit,
    )
    try:
        assert server.proc.wait(timeout=60) == 2
    finally:
        server.stop()  # never left running, even when the assertion fails
    assert (
        "1000 connections (STAKEGATE_SERVICE_MAX_CONNECTIONS) need 2256 file descriptors"
        in (tmp_path / "serve.log").read_text()
    )

"""The engine's own OPA process and client: start, health deadline, failures that fail closed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from stakegate import settings
from stakegate.errors import InputError, OpaUnavailableError, PolicyEvaluationError
from stakegate.ownership.interval import Interval
from stakegate.policy.client import PolicyClient
from stakegate.policy.pipeline import Connection
from stakegate.policy.runtime import LocalOpa, policy_revision
from stakegate.policy.view import VIEW_QUERY, PolicyParams

from .conftest import POLICIES

pytestmark = pytest.mark.integration


def test_one_query_gives_the_parameters_and_every_code(opa_server: LocalOpa):
    client = PolicyClient(opa_server.url)
    view = Connection(client, opa_server.revision).view
    majority = Interval(50.0, 100.0, min_exclusive=True)
    assert view.params == PolicyParams(
        ("CN", "IR", "KP", "RU"), 50.0, ">", "control", 1e-9, majority
    )
    assert view.revision == policy_revision(POLICIES)
    # Countries match their subdivisions; known codes elsewhere are clear; others are unknown.
    assert [view.region(c) for c in ("CN", "RU-MOW", "KP", "SG", "UA-43")] == [
        "CN",
        "RU",
        "KP",
        None,
        None,
    ]
    assert view.is_known("SG") and view.is_known("UA-43")
    assert not any(view.is_known(c) for c in ("XX", "ZZ", "QQ-123", "IRL"))
    client.close()


def test_missing_binary_names_the_setup_command(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(settings, "OPA_BINARY", "/nonexistent/opa")
    with pytest.raises(OpaUnavailableError, match=r"scripts/setup\.sh"):
        LocalOpa(POLICIES).start()


def test_missing_policy_is_bad_input(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        LocalOpa(tmp_path / "nope")


def test_process_is_gone_after_stop():
    server = LocalOpa(POLICIES)
    server.start()
    proc = server.proc
    assert proc is not None and proc.poll() is None
    server.stop()
    assert proc.poll() is not None


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


@pytest.mark.parametrize(
    ("variable", "setting", "ours", "expected"),
    [
        ("GOGC", "OPA_GOGC", None, "400"),
        ("GOGC", "OPA_GOGC", "150", "150"),
        ("GOMEMLIMIT", "OPA_GOMEMLIMIT", None, "1GiB"),
        ("GOMEMLIMIT", "OPA_GOMEMLIMIT", "512MiB", "512MiB"),
    ],
)
def test_opa_gets_go_runtime_bounds_unless_set(
    monkeypatch: pytest.MonkeyPatch, variable: str, setting: str, ours: str | None, expected: str
):
    """The private OPA's GC target and soft memory limit come from settings; a caller's own
    environment wins."""
    monkeypatch.setattr(settings, setting, "400" if variable == "GOGC" else "1GiB")
    if ours is None:
        monkeypatch.delenv(variable, raising=False)
    else:
        monkeypatch.setenv(variable, ours)
    with LocalOpa(POLICIES) as server:
        assert server.proc is not None
        assert _environ(server.proc.pid)[variable] == expected


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers: an OPA that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_slow_opa_times_out_as_unavailable(silent_server: str):
    client = PolicyClient(silent_server, timeout=0.3)
    with pytest.raises(OpaUnavailableError, match="did not answer"):
        client.read(VIEW_QUERY)


def test_undefined_decision_is_an_error(opa_server: LocalOpa):
    client = PolicyClient(opa_server.url)
    with pytest.raises(PolicyEvaluationError, match="undefined"):
        client.query("stakegate.main.no_such_rule", b'{"input": {"entities": []}}')


@pytest.mark.parametrize(
    "url", ["ftp://x:1", "http://127.0.0.1:1/v1/data", "not a url", "http://127.0.0.1:http"]
)
def test_bad_opa_url_is_bad_input(url: str):
    with pytest.raises(InputError):
        PolicyClient(url)


def test_answers_are_asked_for_uncompressed(opa_server: LocalOpa):
    """OPA gzips every answer over 1 KB when the client offers gzip (requests does by default):
    CPU on both sides for nothing on a loopback link. Both the read and the query decline it."""
    client = PolicyClient(opa_server.url)
    encodings: list[str | None] = []
    client._session.hooks["response"].append(
        lambda response, **_: encodings.append(response.headers.get("Content-Encoding"))
    )
    view = client.read(VIEW_QUERY)
    entities = b",".join(
        b'{"id": "e%d", "type": "company", "jurisdiction": "SG"}' % i for i in range(50)
    )
    answer = client.query(
        "stakegate.main.decisions",
        b'{"input": {"as_of": "2026-11-30", "entities": [%s]}}' % entities,
    )
    client.close()
    assert len(orjson.dumps(view.result)) > 1024 and len(orjson.dumps(answer.result)) > 1024
    assert encodings == [None, None]

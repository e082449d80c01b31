"""The engine's own OPA process and client: start, health deadline, failures that fail closed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from stakegate import settings
from stakegate.errors import InputError, OpaUnavailableError, PolicyEvaluationError
from stakegate.policy.client import PolicyClient, PolicyParams
from stakegate.policy.runtime import LocalOpa, policy_revision

from .conftest import POLICIES

pytestmark = pytest.mark.integration


def test_local_opa_serves_the_policy_and_stops(opa_server: LocalOpa):
    client = PolicyClient(opa_server.url, fallback_revision=opa_server.revision)
    params = client.params()
    assert params == PolicyParams(("CN", "IR", "KP", "RU"), 50.0, ">", "control", 1e-9)
    assert client.revision == policy_revision(POLICIES)
    client.close()


def test_classification_is_case_insensitive_and_matches_subdivisions(client: PolicyClient):
    got = client.classify(["CN", "ru-mow", "RU-MOW", "SG", "UA-43", "KP", "IRL"])
    assert got == {"CN": "CN", "ru-mow": "RU", "RU-MOW": "RU", "KP": "KP"}


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


@pytest.mark.parametrize(("ours", "expected"), [(None, "400"), ("150", "150")])
def test_opa_gets_a_gc_target_unless_one_is_set(
    monkeypatch: pytest.MonkeyPatch, ours: str | None, expected: str
):
    monkeypatch.setattr(settings, "OPA_GOGC", "400")
    if ours is None:
        monkeypatch.delenv("GOGC", raising=False)
    else:
        monkeypatch.setenv("GOGC", ours)
    with LocalOpa(POLICIES) as server:
        assert server.proc is not None
        assert _environ(server.proc.pid)["GOGC"] == expected


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
        client.params()


def test_undefined_decision_is_an_error(opa_server: LocalOpa):
    client = PolicyClient(opa_server.url)
    with pytest.raises(PolicyEvaluationError, match="undefined"):
        client._query("stakegate.main.no_such_rule", {"entities": []})


@pytest.mark.parametrize(
    "url", ["ftp://x:1", "http://127.0.0.1:1/v1/data", "not a url", "http://127.0.0.1:http"]
)
def test_bad_opa_url_is_bad_input(url: str):
    with pytest.raises(InputError):
        PolicyClient(url)

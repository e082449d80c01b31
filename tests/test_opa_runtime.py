"""The engine's own OPA process and client: start, health deadline, failures that fail closed."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import httpx
import orjson
import pytest

from stakegate import settings
from stakegate.errors import InputError, OpaUnavailableError, PolicyEvaluationError
from stakegate.ownership.interval import Interval
from stakegate.policy.client import Answer, PolicyClient
from stakegate.policy.pipeline import DECISIONS, Connection, Pipeline
from stakegate.policy.runtime import LocalOpa, policy_revision
from stakegate.policy.view import VIEW_QUERY, PolicyParams, PolicyView
from stakegate.registry.load import load_registry

from .conftest import POLICIES

REGISTRIES = Path(__file__).parent / "fixtures" / "registries"
AS_OF = date(2026, 11, 30)

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


def _rules_entered(url: str, entrypoint: str, body: bytes) -> set[str]:
    """The names of the rules OPA entered answering ``body`` (its full trace, ``explain=full``)."""
    path = entrypoint.replace(".", "/")
    response = httpx.post(f"{url}/v1/data/{path}?explain=full", content=body, timeout=30)
    response.raise_for_status()
    return {
        str(event["node"]["head"].get("name") or event["node"]["head"]["ref"][0]["value"])
        for event in response.json()["explanation"]
        if event["op"] == "enter" and event.get("type") == "rule"
    }


def test_queries_carry_the_views_config_digest(opa_server: LocalOpa):
    """The view reports the digest of the config it validated; every query form sends it, and
    OPA then answers alike without validating the config again (no ``problems`` rule entered).
    Without it, or with another config's digest, OPA validates in full."""
    client = PolicyClient(opa_server.url)
    view = Connection(client, opa_server.revision).view
    assert view.config_digest == client.read("stakegate.params.config_digest").result
    assert view.config_digest is not None and len(view.config_digest) == 64
    registry = load_registry(REGISTRIES / "good" / "full.yaml")
    ids = sorted(registry.entities)[:3]  # a full trace is long
    forms = {
        "batch": Pipeline(view, registry, AS_OF),
        "one by one": Pipeline(replace(view, batch_form=False), registry, AS_OF),
        "side by side": Pipeline(view, registry, AS_OF, regimes=["all"]),
    }
    for name, pipeline in forms.items():
        query = pipeline.query(ids)
        sent = orjson.loads(query.body)["input"]
        assert sent["config_digest"] == view.config_digest, name
        traced = name == "one by one"  # a full trace of the others takes a minute
        assert not traced or "problems" not in _rules_entered(
            opa_server.url, query.entrypoint, query.body
        )
        answer = client.query(query.entrypoint, query.body)
        for digest in (None, "0" * 64):
            again = (
                {**sent, "config_digest": digest}
                if digest
                else {k: v for k, v in sent.items() if k != "config_digest"}
            )
            body = orjson.dumps({"input": again})
            assert client.query(query.entrypoint, body).result == answer.result, name
            assert not traced or "problems" in _rules_entered(opa_server.url, DECISIONS, body)
    client.close()


@pytest.mark.parametrize("digest", ["", "ABC", "0" * 63, "g" * 64, 5, ["0" * 64]])
def test_a_malformed_config_digest_is_a_policy_error(digest: object):
    view = {
        "valid": True,
        "problems": [],
        "params": {
            "restricted_regions": ["CN"],
            "threshold": 50,
            "comparison": ">",
            "method": "control",
            "percent_tolerance": 0,
            "consolidation_share": {"min": 50, "max": 100},
        },
        "classification": {"CN": "CN"},
        "config_digest": digest,
    }
    with pytest.raises(PolicyEvaluationError, match="config_digest"):
        PolicyView.from_answer(Answer(view, "r", None), "r")
    assert PolicyView.from_answer(Answer({**view, "config_digest": None}, "r", None), "r")

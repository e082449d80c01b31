"""OPA decision-log events: the export, and the join with a real OPA's own decision log.

The schema (tests/fixtures/opa/, with its sources) is checked twice: stakegate's export of
1,000+ decisions must validate, and so must the events a real OPA writes to its console.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from stakegate import settings
from stakegate.cli.main import cli
from stakegate.policy.runtime import LocalOpa, free_port
from stakegate.registry.load import load_registry
from stakegate.service import ServiceConfig, create_app

from .audit_support import PUBLIC, records, signer
from .conftest import FIXTURES, POLICIES, REPO

pytestmark = pytest.mark.integration

REGISTRY = REPO / "examples" / "registry.yaml"
IDS = list(load_registry(REGISTRY).entities)
SCHEMA = json.loads((FIXTURES / "opa" / "decision-log-event.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
FRAGMENT = {
    "entities": [
        {"id": "newco", "type": "company", "jurisdiction": "SG"},
        {"id": "parent", "type": "company", "jurisdiction": "CN"},
    ],
    "ownership": [{"owner": "parent", "owned": "newco", "percent": 60}],
}
# Members OPA's console logger adds around each event.
_LOGGER_FIELDS = ("level", "msg", "time", "type")


def _serve_decisions(opa_url: str, log_path: Path, count: int, audit_input: str) -> None:
    config = ServiceConfig(
        registry=REGISTRY,
        opa_url=opa_url,
        audit_log=log_path,
        audit_signer=signer(),
        audit_input=audit_input,
    )
    with TestClient(create_app(config)) as client:
        assert client.post("/v1/decisions", json={"facts": FRAGMENT}).status_code == 200
        decided = 1
        while decided < count:
            response = client.post("/v1/decisions", json={"entities": IDS})
            assert response.status_code == 200
            decided += len(IDS)


def _export(log_path: Path, out: Path) -> list[dict]:
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            "export",
            str(log_path),
            "--format",
            "opa",
            "--out",
            str(out),
            "--key",
            str(PUBLIC),
        ],
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_an_export_of_1000_decisions_is_valid_opa_events_that_replay(
    opa_server: LocalOpa, tmp_path
):
    log_path = tmp_path / "audit.log"
    _serve_decisions(opa_server.url, log_path, 1000, "full")
    events = _export(log_path, tmp_path / "events.jsonl")
    decisions = [r for r in records(log_path) if r["type"] == "decision"]
    assert len(events) == len(decisions) >= 1000
    for event in events:
        VALIDATOR.validate(event)
    assert [e["decision_id"] for e in events] == [d["decision_id"] for d in decisions]
    log_id = records(log_path)[0]["log_id"]
    first = events[0]
    assert first["labels"]["app"] == "stakegate" and first["labels"]["id"] == log_id
    assert first["path"] == "stakegate/main/decisions"
    assert first["bundles"] == {"stakegate": {"revision": decisions[0]["policy_revision"]}}
    assert first["input"]["entities"][0]["id"] == "newco"  # caller-supplied facts
    # An event's input, replayed on OPA at its path, gives back its result.
    for event in (events[0], events[1], events[len(IDS)], events[-1]):
        answer = httpx.post(
            f"{opa_server.url}/v1/data/{event['path']}", json={"input": event["input"]}
        )
        assert answer.json()["result"] == event["result"]


def test_without_recorded_facts_the_event_says_its_input_was_erased(opa_server: LocalOpa, tmp_path):
    log_path = tmp_path / "audit.log"
    _serve_decisions(opa_server.url, log_path, 20, "hash")
    events = _export(log_path, tmp_path / "events.jsonl")
    registry_events = [e for e in events if "input" not in e]
    assert len(registry_events) == len(events) - 1  # all but the caller-supplied fragment
    for event in registry_events:
        VALIDATOR.validate(event)
        assert event["erased"] == ["/input"]
        assert len(event["labels"]["facts_sha256"]) == 64


def test_a_log_that_does_not_verify_is_not_exported(opa_server: LocalOpa, tmp_path):
    log_path = tmp_path / "audit.log"
    _serve_decisions(opa_server.url, log_path, 20, "hash")
    log_path.write_bytes(
        log_path.read_bytes().replace(b'"decision":"deny"', b'"decision":"allow"', 1)
    )
    out = tmp_path / "events.jsonl"
    result = CliRunner().invoke(cli, ["audit", "export", str(log_path), "--out", str(out)])
    assert result.exit_code == 1
    assert "is tampered" in result.stderr and "not exported" in result.stderr
    assert not out.exists()


class _LoggingOpa:
    """A real OPA with decision logging to its console (JSON), on a free port."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [settings.OPA_BINARY, "run", "--server", "--addr", f"127.0.0.1:{self.port}",
             "--log-format", "json", "--log-level", "info",
             "--set", "decision_logs.console=true", "--bundle", str(POLICIES)],
            stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, log.read_text()[-2000:]
            try:
                if httpx.get(f"{self.url}/health?bundles", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"OPA not healthy in 30 s:\n{log.read_text()[-2000:]}")

    def events(self) -> list[dict]:
        lines = [
            json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")
        ]
        return [e for e in lines if e.get("msg") == "Decision Log"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self._out.close()


@pytest.fixture
def logging_opa(tmp_path: Path) -> Iterator[_LoggingOpa]:
    opa = _LoggingOpa(tmp_path / "opa.log")
    try:
        yield opa
    finally:
        opa.stop()


def test_opa_decision_ids_are_recorded_so_the_two_logs_join(logging_opa: _LoggingOpa, tmp_path):
    log_path = tmp_path / "audit.log"
    config = ServiceConfig(
        registry=REGISTRY,
        opa_url=logging_opa.url,
        audit_log=log_path,
        audit_signer=signer(),
        opa_chunk=7,
    )
    with TestClient(create_app(config)) as client:
        single = client.post("/v1/decisions", json={"entity": "lotus-sg"}).json()
        batch = client.post("/v1/decisions", json={"entities": IDS}).json()["decisions"]
        fragment = client.post("/v1/decisions", json={"facts": FRAGMENT}).json()
    ours = {r["decision_id"]: r for r in records(log_path) if r["type"] == "decision"}
    theirs = {}
    for event in logging_opa.events():
        theirs[event["decision_id"]] = event
        VALIDATOR.validate({k: v for k, v in event.items() if k not in _LOGGER_FIELDS})
    for answered in [single, *batch, fragment]:
        record = ours[answered["decision_id"]]
        event = theirs[record["opa_decision_id"]]  # the join
        assert event["path"] == "stakegate/batch/decisions"
        assert _outcomes_in(event["result"], answered["entity"]) == [answered["decision"]]
    # A batch cut into chunks of 7 is three OPA queries: three OPA ids for its 20 decisions.
    assert len({ours[d["decision_id"]]["opa_decision_id"] for d in batch}) == 3
    exported = _export(log_path, tmp_path / "events.jsonl")
    assert {e["labels"]["opa_decision_id"] for e in exported} <= set(theirs)


def _outcomes_in(result: dict[str, Any], entity: str) -> list[str]:
    """The outcomes an OPA batch-form answer gives ``entity`` (policy/batch.py)."""
    found = [d["decision"] for d in result["entities"] if d["entity"] == entity]
    for group in result["groups"] + result.get("restricted", []):
        found += [group["decision"]["decision"] for e in group["entities"] if e == entity]
        found += [d["decision"] for d in group["decisions"] if d["entity"] == entity]
    return found

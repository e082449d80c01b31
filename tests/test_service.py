"""The decision service in-process (Starlette's TestClient) against a real OPA.

The app runs its real lifespan: it builds a snapshot against a real OPA (the session server,
or a private one where a test stops it), and writes a real audit log in ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stakegate.errors import InputError
from stakegate.policy.pipeline import check
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import load_registry
from stakegate.service import ServiceConfig, create_app, verify_log
from stakegate.service.core import DecisionService, decision_ids

from .conftest import POLICIES, REPO, policy_with_config

pytestmark = pytest.mark.integration

REGISTRY = REPO / "examples" / "registry.yaml"
KEY = "k" * 32
FRAGMENT = {
    "entities": [
        {"id": "newco", "type": "company", "jurisdiction": "SG"},
        {"id": "parent", "type": "company", "jurisdiction": "CN"},
    ],
    "ownership": [{"owner": "parent", "owned": "newco", "percent": 60}],
}


@pytest.fixture
def service(opa_server: LocalOpa, tmp_path: Path) -> Iterator[TestClient]:
    config = ServiceConfig(registry=REGISTRY, opa_url=opa_server.url, audit_log=tmp_path / "a.log")
    with TestClient(create_app(config)) as client:
        yield client


def _decide(client: TestClient, payload: object, **headers: str):
    return client.post("/v1/decisions", json=payload, headers=headers)


def test_single_decision_is_the_engines_decision_plus_an_id(service, opa_server, tmp_path):
    response = _decide(service, {"entity": "lotus-sg"})
    assert response.status_code == 200
    body = response.json()
    expected = check("lotus-sg", REGISTRY, opa_url=opa_server.url)
    decision_id = body.pop("decision_id")
    expected["policy"]["revision"] = body["policy"]["revision"]
    assert body == expected
    lines = [json.loads(line) for line in (tmp_path / "a.log").read_text().splitlines()]
    audited = [line for line in lines if line.get("decision_id") == decision_id]
    assert len(audited) == 1
    assert audited[0]["decision"] == body["decision"] == "deny"
    assert audited[0]["entity"] == "lotus-sg"
    assert audited[0]["reasons"] == body["reasons"]
    assert len(audited[0]["facts_sha256"]) == 64


def test_batch_answers_in_request_order(service):
    ids = list(load_registry(REGISTRY).entities)
    response = _decide(service, {"entities": ids})
    assert response.status_code == 200
    decisions = response.json()["decisions"]
    assert [d["entity"] for d in decisions] == ids
    assert len({d["decision_id"] for d in decisions}) == len(ids)


def test_caller_supplied_facts(service, tmp_path):
    response = _decide(service, {"facts": FRAGMENT})
    assert response.status_code == 200
    body = response.json()
    assert (body["entity"], body["decision"]) == ("newco", "deny")
    assert body["reasons"][0]["paths"] == [["parent", "newco"]]
    other = _decide(service, {"facts": FRAGMENT, "entity": "parent"}).json()
    assert (other["entity"], other["decision"]) == ("parent", "deny")
    last = json.loads((tmp_path / "a.log").read_text().splitlines()[-1])
    assert last["facts"]["id"] == "parent"  # caller-supplied facts are kept in the audit line


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"entity": "no-such-entity"}, 404, "entity"),
        ({"entities": ["lotus-sg", "nope"]}, 404, "entities[1]"),
        ({"entity": 5}, 422, "entity"),
        ({"entity": ""}, 422, "entity"),
        ({"entities": []}, 422, "entities"),
        ({"entity": "lotus-sg", "colour": "red"}, 422, "colour"),
        ({}, 422, "body"),
        ({"facts": {"entities": [{"id": "x", "type": "ship"}]}}, 422, "facts.entities[0].type"),
        ({"facts": FRAGMENT, "entity": "stranger"}, 422, "entity"),
    ],
)
def test_bad_requests_name_the_field(service, payload, status, field):
    response = _decide(service, payload)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


def test_oversized_requests_are_refused(opa_server, tmp_path):
    config = ServiceConfig(registry=REGISTRY, opa_url=opa_server.url, max_body=2000, max_batch=3)
    with TestClient(create_app(config)) as client:
        big = _decide(client, {"entity": "x" * 3000})
        assert big.status_code == 413
        chunked = client.post("/v1/decisions", content=iter([b'{"entity": "', b"x" * 3000, b'"}']))
        assert chunked.status_code == 413
        many = _decide(client, {"entities": ["lotus-sg"] * 4})
        assert many.status_code == 413
        assert many.json()["error"]["field"] == "entities"


def test_health_metrics_and_openapi(service):
    assert _decide(service, {"entity": "lotus-sg"}).status_code == 200
    health = service.get("/health")
    assert health.status_code == 200
    assert health.json()["entities"] == len(load_registry(REGISTRY).entities)
    text = service.get("/metrics").text
    assert 'stakegate_decisions_total{outcome="deny"} 1.0' in text
    assert (
        'stakegate_http_requests_total{method="POST",route="/v1/decisions",status="200"} 1.0'
        in (text)
    )
    assert "stakegate_audit_lines_total" in text
    spec = service.get("/openapi.json").json()
    assert "/v1/decisions" in spec["paths"]


def test_api_keys(opa_server):
    config = ServiceConfig(registry=REGISTRY, opa_url=opa_server.url, api_keys=frozenset({KEY}))
    with TestClient(create_app(config)) as client:
        assert _decide(client, {"entity": "lotus-sg"}).status_code == 401
        wrong = _decide(client, {"entity": "lotus-sg"}, authorization="Bearer " + "x" * 32)
        assert wrong.status_code == 401
        assert _decide(client, {"entity": "lotus-sg"}, authorization=f"Bearer {KEY}").is_success
        assert _decide(client, {"entity": "lotus-sg"}, **{"x-api-key": KEY}).is_success
        assert client.post("/v1/admin/reload").status_code == 401
        assert client.get("/health").status_code == 200  # probes need no key


def test_beyond_loopback_needs_keys():
    with pytest.raises(InputError, match="beyond loopback"):
        ServiceConfig(registry=REGISTRY, host="0.0.0.0")
    ServiceConfig(registry=REGISTRY, host="0.0.0.0", api_keys=frozenset({KEY}))
    ServiceConfig(registry=REGISTRY, host="::1")


def test_opa_down_is_503_never_allow(tmp_path):
    opa = LocalOpa(POLICIES)
    opa.start()
    config = ServiceConfig(registry=REGISTRY, opa_url=opa.url, audit_log=tmp_path / "a.log")
    try:
        with TestClient(create_app(config)) as client:
            assert _decide(client, {"entity": "tavria-ua"}).json()["decision"] == "allow"
            opa.stop()
            response = _decide(client, {"entity": "tavria-ua"})
            assert response.status_code == 503
            assert response.json()["error"]["type"] == "OpaUnavailableError"
            assert "did not answer" in response.json()["error"]["message"]
            assert _decide(client, {"entities": ["tavria-ua"]}).status_code == 503
            assert _decide(client, {"facts": FRAGMENT}).status_code == 503
            health = client.get("/health")
            assert health.status_code == 503
            assert "unreachable" in health.json()["reason"]
    finally:
        opa.stop()
    assert verify_log(tmp_path / "a.log").decisions == 1  # only the answered one


def test_reload_swaps_in_a_new_policy_revision(tmp_path):
    policy = policy_with_config(tmp_path, {})
    config = ServiceConfig(registry=REGISTRY, policy=policy, audit_log=tmp_path / "a.log")
    with TestClient(create_app(config)) as client:
        before = _decide(client, {"entity": "tavria-ua"}).json()
        data = policy / "stakegate" / "config" / "data.json"
        settings = json.loads(data.read_text())
        settings["restricted_regions"] = [*settings["restricted_regions"], "UA-43"]
        data.write_text(json.dumps(settings))
        reloaded = client.post("/v1/admin/reload")
        assert reloaded.status_code == 200
        assert reloaded.json()["generation"] == 2
        after = _decide(client, {"entity": "tavria-ua"}).json()
    assert (before["decision"], after["decision"]) == ("allow", "deny")
    assert before["policy"]["revision"] != after["policy"]["revision"]
    assert after["policy"]["revision"] == reloaded.json()["policy_revision"]
    report = verify_log(tmp_path / "a.log")
    assert (report.status, report.decisions, report.clean_shutdown) == ("intact", 2, True)


def test_failed_reload_keeps_serving_the_old_snapshot(opa_server, tmp_path):
    registry = tmp_path / "registry.yaml"
    registry.write_bytes(REGISTRY.read_bytes())
    config = ServiceConfig(registry=registry, opa_url=opa_server.url)
    with TestClient(create_app(config)) as client:
        registry.write_text("entities: [{id: broken}]\n")
        response = client.post("/v1/admin/reload")
        assert response.status_code == 503
        assert "still serving the previous" in response.json()["error"]["message"]
        assert _decide(client, {"entity": "lotus-sg"}).json()["decision"] == "deny"
        assert client.get("/health").json()["generation"] == 1


def test_start_up_failure_is_the_engine_error(tmp_path):
    config = ServiceConfig(registry=tmp_path / "gone.yaml", policy=POLICIES)
    with pytest.raises(InputError, match="cannot read the registry"):
        with TestClient(create_app(config)):
            pass


def test_decision_ids_are_distinct_version_4_uuids():
    ids = decision_ids(5000)
    assert len(set(ids)) == 5000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
    assert decision_ids(0) == []


def test_a_retired_snapshot_is_freed_although_the_heap_is_frozen(opa_server):
    # The service freezes its long-lived objects out of the cyclic GC (gc.freeze); a reload
    # must still free the snapshot it retires, cycles included (its OPA client's connections).
    async def run() -> tuple[bool, int]:
        service = DecisionService(ServiceConfig(registry=REGISTRY, opa_url=opa_server.url))
        await service.start()
        try:
            await service.decide_entities(["tavria-ua", "lotus-sg"], batch=True)  # connections
            first = weakref.ref(service.snapshot)
            frozen = gc.get_freeze_count()
            await service.reload("test")
            return first() is None, frozen
        finally:
            await service.stop()
            gc.unfreeze()

    freed, frozen = asyncio.run(run())
    assert frozen > 0
    assert freed

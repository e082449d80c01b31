"""Request bodies of the decision service are read by the one strict JSON reading.

Each body here was decided (allow, or a silent reading of one of two values) before: a
duplicate key anywhere, NaN, or a blank id must be a 422 naming the key path instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stakegate.policy.runtime import LocalOpa
from stakegate.service import ServiceConfig, create_app

from .conftest import REPO

pytestmark = pytest.mark.integration

REGISTRY = REPO / "examples" / "registry.yaml"
NEWCO = '{"id": "newco", "type": "company", "jurisdiction": "SG"}'


@pytest.fixture
def service(opa_server: LocalOpa, tmp_path: Path) -> Iterator[TestClient]:
    config = ServiceConfig(registry=REGISTRY, opa_url=opa_server.url, audit_log=tmp_path / "a.log")
    with TestClient(create_app(config)) as client:
        yield client


def _post(client: TestClient, body: str):
    return client.post(
        "/v1/decisions", content=body.encode(), headers={"content-type": "application/json"}
    )


def _facts(parent: str, holding: str, extra: str = "") -> str:
    return f'{{"facts": {{"entities": [{NEWCO}, {parent}], "ownership": [{holding}]{extra}}}}}'


PARENT_CN = '{"id": "parent", "type": "company", "jurisdiction": "CN"}'
HOLDING_60 = '{"owner": "parent", "owned": "newco", "percent": 60}'

REFUSED = [
    (
        _facts(
            '{"id": "parent", "type": "company", "jurisdiction": "CN", "jurisdiction": "SG"}',
            HOLDING_60,
        ),
        "facts.entities[1].jurisdiction",
        "duplicate key 'jurisdiction'",
    ),
    (
        _facts(PARENT_CN, '{"owner": "parent", "owned": "newco", "percent": 90, "percent": 10}'),
        "facts.ownership[0].percent",
        "duplicate key 'percent'",
    ),
    (
        _facts(PARENT_CN, HOLDING_60, ', "ownership": []'),
        "facts.ownership",
        "duplicate key 'ownership'",
    ),
    (
        '{"entity": "lotus-sg", "entity": "acme-sg"}',
        "entity",
        "duplicate key 'entity'",
    ),
    (
        _facts(PARENT_CN, '{"owner": "parent", "owned": "newco", "percent": NaN}'),
        "facts.ownership[0].percent",
        "NaN is not a JSON number",
    ),
    (
        _facts(PARENT_CN, '{"owner": "parent", "owned": "newco", "percent": 1e400}'),
        "facts.ownership[0].percent",
        "out of range",
    ),
]


@pytest.mark.parametrize(("body", "field", "words"), REFUSED, ids=[r[1] for r in REFUSED])
def test_refused_bodies_are_422_naming_the_key_path(service, body: str, field: str, words: str):
    response = _post(service, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert words in error["message"]


def test_the_same_body_without_the_duplicate_is_decided(service):
    response = _post(service, _facts(PARENT_CN, HOLDING_60))
    assert response.status_code == 200, response.text
    assert response.json()["decision"] == "deny"


def test_a_blank_id_in_facts_names_the_record(service):
    body = _facts(PARENT_CN, HOLDING_60).replace('"id": "newco"', '"id": "  "')
    body = body.replace('"owned": "newco"', '"owned": "  "')
    response = _post(service, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "facts.entities[0].id"
    assert "must not be blank" in error["message"]


def test_malformed_json_is_422(service):
    response = _post(service, '{"entity": ')
    assert response.status_code == 422
    assert "malformed JSON at line 1" in response.json()["error"]["message"]

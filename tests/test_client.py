"""``stakegate.Client`` against a real ``stakegate serve`` process and a real OPA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import stakegate
from stakegate.errors import ServiceRequestError, ServiceUnavailableError
from stakegate.policy.runtime import LocalOpa, free_port

from .conftest import REPO
from .service_process import ServiceProcess, serving

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REGISTRY = REPO / "examples" / "registry.yaml"
KEY = "client-test-key-0123456789"


@pytest.fixture(scope="module")
def server(
    opa_server: LocalOpa, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    tmp = tmp_path_factory.mktemp("client")
    keys = tmp / "keys"
    keys.write_text(f"# test key\n{KEY}\n")
    args = ["--registry", str(REGISTRY), "--opa-url", opa_server.url, "--api-key-file", str(keys)]
    with serving(args, tmp / "serve.log") as running:
        yield running


def test_decide_one_many_and_facts(server: ServiceProcess):
    with stakegate.Client(server.url, api_key=KEY) as client:
        one = client.decide("lotus-sg")
        assert (one["entity"], one["decision"]) == ("lotus-sg", "deny")
        many = client.decide_many(["lotus-sg", "tavria-ua"])
        assert [d["decision"] for d in many] == ["deny", "allow"]
        fragment = {
            "entities": [
                {"id": "newco", "type": "company", "jurisdiction": "SG"},
                {"id": "parent", "type": "company", "jurisdiction": "RU"},
            ],
            "ownership": [{"owner": "parent", "owned": "newco", "percent": 50}],
        }
        assert client.decide_facts(fragment)["decision"] == "allow"  # exactly 50: not > 50
        assert client.health()["status"] == "ok"
        assert client.reload()["generation"] == 2


def test_errors_are_engine_errors(server: ServiceProcess):
    with stakegate.Client(server.url, api_key=KEY) as client:
        with pytest.raises(ServiceRequestError) as missing:
            client.decide("no-such-entity")
        assert (missing.value.status, missing.value.field) == (404, "entity")
        assert isinstance(missing.value, stakegate.InputError)
    with stakegate.Client(server.url) as anonymous:
        with pytest.raises(ServiceRequestError) as denied:
            anonymous.decide("lotus-sg")
        assert denied.value.status == 401


def test_unreachable_server_is_unavailable_never_allow(tmp_path: Path):
    with stakegate.Client(f"http://127.0.0.1:{free_port()}", timeout=1.0) as client:
        with pytest.raises(ServiceUnavailableError) as err:
            client.decide("lotus-sg")
    assert isinstance(err.value, stakegate.OpaUnavailableError)

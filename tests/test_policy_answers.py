"""Golden raw answers: OPA's exact response bytes for two registers, frozen as sha256 digests.

A change to the Rego that is meant to change no decision (a restructure, a performance path)
must leave these bytes identical: every decision, reason, number literal and key order. The facts
come from the engine (``Pipeline``, under the policy view OPA serves) on ``examples/registry.yaml``
and a 30,000-entity synthetic register (``bench/generate.py``, seed 0), decided in one query each.

When answers change on purpose, regenerate the digests and say in the commit why they changed:

    .venv/bin/python tests/test_policy_answers.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import date
from pathlib import Path

import pytest
import requests

from stakegate.policy.client import PolicyClient
from stakegate.policy.pipeline import Connection, Pipeline
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import load_registry
from stakegate.registry.model import Registry

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from generate import generate, write_registry  # noqa: E402

DIGESTS = Path(__file__).resolve().parent / "fixtures" / "policy_answers.json"
AS_OF = date(2026, 1, 1)
SYNTHETIC = "synthetic-30000-seed-0"


def _registry(name: str, tmp: Path) -> Registry:
    if name == SYNTHETIC:
        write_registry(generate(30_000, seed=0), tmp / "synthetic.json")
        return load_registry(tmp / "synthetic.json")
    return load_registry(REPO / name)


def raw_answer(opa: LocalOpa, registry: Registry) -> bytes:
    """OPA's body for all of ``registry``'s decisions in one query, without provenance."""
    client = PolicyClient(opa.url)
    try:
        pipeline = Pipeline(Connection(client, opa.revision).view, registry, AS_OF)
    finally:
        client.close()
    response = requests.post(
        f"{opa.url}/v1/data/stakegate/main/decisions",
        data=pipeline.body(pipeline.encoded(list(registry.entities))),
        headers={"Content-Type": "application/json"},
        timeout=120,
    )
    response.raise_for_status()
    assert response.content.startswith(b'{"result":['), response.content[:200]
    return response.content


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("name", ["examples/registry.yaml", SYNTHETIC])
def test_raw_answers_are_unchanged(opa_server: LocalOpa, tmp_path: Path, name: str) -> None:
    digest = hashlib.sha256(raw_answer(opa_server, _registry(name, tmp_path))).hexdigest()
    assert digest == json.loads(DIGESTS.read_text())[name], (
        "OPA's raw answer changed; if on purpose, regenerate (see the module docstring)"
    )


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, LocalOpa(REPO / "policies") as server:
        digests = {
            name: hashlib.sha256(raw_answer(server, _registry(name, Path(tmp)))).hexdigest()
            for name in ["examples/registry.yaml", SYNTHETIC]
        }
    DIGESTS.write_text(json.dumps(digests, indent=2) + "\n")
    print(json.dumps(digests, indent=2))

"""Fixtures: real OPA servers, never mocks.

Strategy: integration tests talk to a real ``opa run --server`` on a free loopback port, started
through the engine's own ``LocalOpa`` (the werkzeug ``DevServerClient`` pattern: reserve a
port, Popen with the log sent to a file, poll ``/health?bundles`` with a deadline, check that
the process is alive, terminate and wait at teardown). One server serves the shipped policy for
the whole session; tests that need other parameters get a copy of ``policies/`` with
``config/data.json`` overridden, and one server per distinct override, cached for the session.
When OPA is missing the tests fail with a message naming the setup command; they never skip.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stakegate import settings
from stakegate.ownership.interval import Comparison, Interval
from stakegate.policy.client import PolicyClient
from stakegate.policy.runtime import LocalOpa
from stakegate.policy.view import PolicyParams, PolicyView

settings.TESTING = True

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
POLICIES = REPO / "policies"


def policy_with_config(base: Path, overrides: dict[str, Any]) -> Path:
    """A copy of the shipped policy with some ``data.stakegate.config`` keys replaced."""
    target = base / "policies"
    shutil.copytree(POLICIES, target)
    config_path = target / "stakegate" / "config" / "data.json"
    config = json.loads(config_path.read_text())
    config.update(overrides)
    config_path.write_text(json.dumps(config, indent=2))
    return target


def offline_view(
    restricted: dict[str, str] | None = None,
    *,
    threshold: float = 50,
    comparison: Comparison = ">",
    consolidation_share: Interval | None = None,
    unknown: tuple[str, ...] = (),
) -> PolicyView:
    """A policy view without OPA, for tests of the Python side alone: every ISO 3166 code is
    known and clear except ``restricted`` (code -> region) and ``unknown``."""
    import pycountry

    codes = {c.alpha_2 for c in pycountry.countries} | {s.code for s in pycountry.subdivisions}
    classification: dict[str, str | None] = {code: None for code in codes - set(unknown)}
    classification.update(restricted if restricted is not None else {"CN": "CN"})
    params = PolicyParams(
        restricted_regions=tuple(sorted(set((restricted or {"CN": "CN"}).values()))),
        threshold=threshold,
        comparison=comparison,
        method="control",
        percent_tolerance=1e-9,
        consolidation_share=consolidation_share or Interval(50.0, 100.0, min_exclusive=True),
    )
    return PolicyView("test", params, classification, "test")


@pytest.fixture(scope="session")
def opa_server() -> Iterator[LocalOpa]:
    """A real OPA serving the shipped policy for the whole session."""
    with LocalOpa(POLICIES) as server:
        yield server


@pytest.fixture(scope="session")
def opa_with_config(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[dict[str, Any]], LocalOpa]]:
    """Factory: a real OPA whose policy config has the given overrides (cached per override)."""
    servers: dict[str, LocalOpa] = {}

    def start(overrides: dict[str, Any]) -> LocalOpa:
        key = json.dumps(overrides, sort_keys=True)
        if key not in servers:
            policy = policy_with_config(tmp_path_factory.mktemp("policy"), overrides)
            server = LocalOpa(policy)
            server.start()
            servers[key] = server
        return servers[key]

    yield start
    for server in servers.values():
        server.stop()


@pytest.fixture
def client(opa_server: LocalOpa) -> Iterator[PolicyClient]:
    policy_client = PolicyClient(opa_server.url)
    yield policy_client
    policy_client.close()

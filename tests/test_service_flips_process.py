"""``stakegate serve`` as a real process: its registry file replaced and reloaded (SIGHUP), the
flips on ``/v1/changes`` (read through ``stakegate.Client``) and POSTed to a real local receiver
started by the test; a receiver that fails, then one that is down, while decisions keep flowing.

Registries are ``fixtures/changes`` (day 1 -> day 2: lotus-sg deny -> allow, birch-de
allow -> deny). Waits poll with deadlines; no assertion depends on timing.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import stakegate
from stakegate.errors import ServiceRequestError
from stakegate.policy.runtime import LocalOpa, free_port
from stakegate.service.audit import verify_log

from .conftest import FIXTURES
from .notify_receiver import receiving
from .service_process import serving

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY1 = FIXTURES / "changes" / "day1.yaml"
DAY2 = FIXTURES / "changes" / "day2.yaml"
FAST = {
    "STAKEGATE_SERVICE_NOTIFY_ATTEMPTS": "4",
    "STAKEGATE_SERVICE_NOTIFY_BACKOFF": "0.05",
    "STAKEGATE_SERVICE_NOTIFY_TIMEOUT": "1",
}


def notify_lines(log: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [line for line in lines if line["type"] == "notify"]


def wait_for(check: Any, deadline_s: float = 60.0) -> Any:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("not reached before the deadline")


def test_replaced_registry_flips_are_fed_and_posted(opa_server: LocalOpa, tmp_path: Path):
    registry = tmp_path / "registry.yaml"
    shutil.copyfile(DAY1, registry)
    log = tmp_path / "audit.log"
    with receiving() as receiver:
        args = [
            "--registry", str(registry), "--opa-url", opa_server.url,
            "--audit-log", str(log), "--notify-url", receiver.url,
        ]  # fmt: skip
        with (
            serving(args, tmp_path / "serve.log", env=FAST) as server,
            stakegate.Client(server.url) as client,
        ):
            start = client.changes()["next"]
            shutil.copyfile(DAY2, registry)
            server.signal(signal.SIGHUP)
            page = wait_for(lambda: (p := client.changes(start))["changes"] and p)
            assert {(c["entity"], c["before"], c["after"]) for c in page["changes"]} == {
                ("lotus-sg", "deny", "allow"),
                ("birch-de", "allow", "deny"),
            }
            assert page["next"] == start + 2
            (posted,) = receiver.wait_for(1)
            assert posted["body"]["changes"] == page["changes"]
            assert posted["body"]["reload"]["reason"] == "SIGHUP"
            assert client.decide("birch-de")["decision"] == "deny"

            # The receiver fails twice (a 500, then too slow), then takes it: delivered once
            # retried, while decisions keep being answered.
            receiver.script = [("status", 500), ("delay", 5.0)]
            shutil.copyfile(DAY1, registry)
            client.reload()
            while len(notify_lines(log)) < 2:
                assert client.decide("lotus-sg")["decision"] == "deny"
            assert len(receiver.wait_for(4)) == 4
            assert client.changes(page["next"])["next"] == start + 4
            with pytest.raises(ServiceRequestError) as gone:
                client.changes(start + 99)
            assert gone.value.status == 410
        assert server.proc.returncode == 0
    records = notify_lines(log)
    assert [(r["result"], r["attempts"]) for r in records] == [("delivered", 1), ("delivered", 3)]
    assert verify_log(log).status == "intact"


def test_a_receiver_that_is_down_shows_on_health_and_metrics(opa_server: LocalOpa, tmp_path: Path):
    registry = tmp_path / "registry.yaml"
    shutil.copyfile(DAY1, registry)
    log = tmp_path / "audit.log"
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    args = [
        "--registry", str(registry), "--opa-url", opa_server.url,
        "--audit-log", str(log), "--notify-url", url,
    ]  # fmt: skip
    with serving(args, tmp_path / "serve.log", env=FAST) as server:
        shutil.copyfile(DAY2, registry)
        server.signal(signal.SIGHUP)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while not notify_lines(log):
                answer = http.post("/v1/decisions", json={"entity": "birch-de"})
                assert answer.status_code == 200
            health = http.get("/health")
            metrics = http.get("/metrics").text
    (record,) = notify_lines(log)
    assert (record["result"], record["attempts"]) == ("gave_up", 4)
    assert health.status_code == 200
    assert health.json()["notify"]["status"] == "failing"
    assert health.json()["notify"]["gave_up"] == 1
    assert 'stakegate_notifications_total{result="gave_up"} 1.0' in metrics
    assert 'stakegate_notifications_total{result="failed_attempt"} 4.0' in metrics
    assert verify_log(log).status == "intact"

"""``stakegate serve`` as a real process: SIGKILL under load, SIGHUP reload under load.

Load is loopback only, bounded in requests and time; no assertion depends on timing.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import load_registry
from stakegate.service.audit import verify_log

from .audit_support import PRIVATE, verifiers
from .conftest import REPO, policy_with_config
from .service_process import ServiceProcess, serving

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REGISTRY = REPO / "examples" / "registry.yaml"
IDS = list(load_registry(REGISTRY).entities)


class Load:
    """Worker threads posting single and batch decisions until stopped or a bound is hit."""

    def __init__(self, url: str, workers: int = 8, max_requests: int = 4000) -> None:
        self.url = url
        self.acked: list[str] = []
        self.statuses: dict[int | str, int] = {}
        self.revisions: set[str] = set()
        self._stop = threading.Event()
        self._budget = max_requests
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(workers)
        ]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def wait_acked(self, count: int, deadline_s: float = 60.0) -> None:
        deadline = time.monotonic() + deadline_s
        while len(self.acked) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.acked) >= count, self.statuses

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, worker: int) -> None:
        with httpx.Client(base_url=self.url, timeout=10.0) as client:
            n = 0
            while not self._stop.is_set():
                with self._lock:
                    if self._budget <= 0:
                        return
                    self._budget -= 1
                n += 1
                batch = n % 5 == 0
                entity = IDS[(worker * 7 + n) % len(IDS)]
                payload = {"entities": IDS[:3]} if batch else {"entity": entity}
                try:
                    response = client.post("/v1/decisions", json=payload)
                except httpx.HTTPError as err:
                    self._count(type(err).__name__)
                    continue
                self._count(response.status_code)
                if response.status_code == 200:
                    body = response.json()
                    decisions = body["decisions"] if batch else [body]
                    with self._lock:
                        self.acked.extend(d["decision_id"] for d in decisions)
                        self.revisions.update(d["policy"]["revision"] for d in decisions)

    def _count(self, key: int | str) -> None:
        with self._lock:
            self.statuses[key] = self.statuses.get(key, 0) + 1


def _decision_lines(path: Path) -> dict[str, tuple[int, int]]:
    """decision_id -> (byte offset, seq) of its line."""
    found, offset = {}, 0
    for line in path.read_bytes().splitlines(keepends=True):
        try:
            record = json.loads(line)
        except ValueError:
            break
        if record.get("type") == "decision":
            found[record["decision_id"]] = (offset, record["seq"])
        offset += len(line)
    return found


def test_sigkill_under_load_loses_and_uncovers_no_acknowledged_decision(
    opa_server: LocalOpa, tmp_path
):
    audit = tmp_path / "audit.log"
    args = ["--registry", str(REGISTRY), "--opa-url", opa_server.url, "--audit-log", str(audit),
            "--audit-key", str(PRIVATE)]  # fmt: skip
    server = ServiceProcess(args, tmp_path / "serve.log")
    try:
        server.wait_ready()
        load = Load(server.url).start()
        load.wait_acked(300)
        server.signal(signal.SIGKILL)  # mid-load: requests are in flight
        server.proc.wait(timeout=10)
        load.stop()
    finally:
        server.stop()
    assert server.proc.returncode == -signal.SIGKILL
    lines = _decision_lines(audit)
    missing = set(load.acked) - set(lines)
    assert not missing, f"{len(missing)} acknowledged decisions are not in the audit log"
    report = verify_log(audit, verifiers())
    # A kill inside a write() may leave an unfinished last line: reported, never tampering.
    assert report.status == "intact", report.problems
    assert not report.clean_shutdown
    # Issue 12, failure 2: the signed checkpoint covers every acknowledged decision.
    covered = report.checkpoint["seq"]
    assert max(lines[d][1] for d in load.acked) <= covered

    # Cutting any acknowledged line is detected: the last one (what the lagging head missed),
    # or one in the middle.
    original = audit.read_bytes()
    last = max(load.acked, key=lambda d: lines[d][0])
    middle = load.acked[len(load.acked) // 2]
    cuts = [
        (original[: lines[last][0]], "truncated"),
        (_without_line(original, lines[middle][0]), "tampered"),
    ]
    for cut, status in cuts:
        audit.write_bytes(cut)
        assert verify_log(audit, verifiers()).status == status

    # A restart on the cut log is refused, naming the problem, and writes nothing.
    audit.write_bytes(original[: lines[last][0]])
    refused = ServiceProcess(args, tmp_path / "refused.log")
    try:
        assert refused.proc.wait(timeout=60) == 1
    finally:
        refused.stop()  # never left running, even when the assertion fails
    message = (tmp_path / "refused.log").read_text()
    assert "is truncated" in message and "acknowledged lines were cut off the end" in message
    assert audit.read_bytes() == original[: lines[last][0]]

    # On the log as the kill left it, a restart repairs any unfinished tail, records it, and
    # continues the same chain.
    audit.write_bytes(original)
    with serving(args, tmp_path / "serve2.log") as again:
        assert httpx.post(f"{again.url}/v1/decisions", json={"entity": IDS[0]}).is_success
    final = verify_log(audit, verifiers())
    assert (final.status, final.clean_shutdown, final.torn_tail) == ("intact", True, None)
    assert final.decisions >= len(load.acked) + 1


def _without_line(data: bytes, offset: int) -> bytes:
    end = data.index(b"\n", offset) + 1
    return data[:offset] + data[end:]


def test_sighup_reload_under_load_drops_nothing(tmp_path):
    policy = policy_with_config(tmp_path, {})
    audit = tmp_path / "audit.log"
    args = ["--registry", str(REGISTRY), "--policy", str(policy), "--audit-log", str(audit)]
    with serving(args, tmp_path / "serve.log") as server:
        load = Load(server.url, workers=4, max_requests=3000).start()
        load.wait_acked(100)
        data = policy / "stakegate" / "config" / "data.json"
        config = json.loads(data.read_text())
        config["ownership_threshold"] = 40
        data.write_text(json.dumps(config))
        server.signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if httpx.get(f"{server.url}/health").json().get("generation") == 2:
                break
            time.sleep(0.05)
        acked_at_swap = len(load.acked)
        load.wait_acked(acked_at_swap + 100)
        load.stop()
    assert set(load.statuses) == {200}, load.statuses
    assert len(load.revisions) == 2  # answers came from both policies, none failed between
    report = verify_log(audit)
    assert (report.status, report.clean_shutdown) == ("intact", True)
    assert report.decisions == len(load.acked)

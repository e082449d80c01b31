"""The service against a real OPA that is *slow*: past the deadline is 503, never a decision.

A down OPA is covered in ``test_service.py``; here OPA is up and answers, only too late. A small
TCP proxy sits between the service and the session's real ``opa run --server``: it forwards
every byte both ways, reads the request lines going to OPA, and while its ``slow`` switch is on
holds back OPA's answer to each decisions query for ``DELAY`` seconds (``/health``, the region
classification and everything else pass promptly). Nothing in the decision path is mocked: the
service queries a real OPA, through a real socket, under its real deadline.

The only timing the tests rely on is that the held answer (1.5 s) is far later than the deadline
(0.3 s); nothing asserts how long anything took.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import load_registry
from stakegate.service import ServiceConfig, create_app, verify_log

from .conftest import REPO
from .service_process import serving

pytestmark = pytest.mark.integration

REGISTRY = REPO / "examples" / "registry.yaml"
IDS = list(load_registry(REGISTRY).entities)
DEADLINE = 0.3
DELAY = 1.5  # five deadlines: "late" is never a close call
DECISIONS_TARGET = "/v1/data/stakegate/batch/decisions"  # the batch form the service asks
ALLOWED = "tavria-ua"  # decided "allow" when OPA answers in time
DENIED = "lotus-sg"
FRAGMENT = {
    "entities": [
        {"id": "newco", "type": "company", "jurisdiction": "SG"},
        {"id": "parent", "type": "company", "jurisdiction": "CN"},
    ],
    "ownership": [{"owner": "parent", "owned": "newco", "percent": 60}],
}


class _Link:
    """One client connection through the proxy and its own connection to OPA."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client, self.upstream = client, upstream
        self.due = 0.0  # monotonic time before which OPA's answer is not passed on
        self.gone = threading.Event()  # the client hung up (or the proxy is stopping)

    def shutdown(self) -> None:
        for sock in (self.client, self.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SlowProxy:
    """Loopback TCP proxy to OPA that, while ``slow`` is set, holds back decision answers.

    Counters (under ``lock``): ``connections`` accepted, ``held`` answers held back,
    ``dropped`` held answers whose client hung up before they were due, ``late`` held answers
    passed on after their delay (to a client that kept waiting), ``targets`` every request seen.
    """

    def __init__(self, upstream_port: int, delay: float = DELAY) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        self.slow = threading.Event()
        self.lock = threading.Lock()
        self.connections = self.held = self.dropped = self.late = 0
        self.targets: list[str] = []
        self._links: set[_Link] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._spawn(self._accept)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self.lock:
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        with self._listener:
            while not self._stopping.is_set():
                try:
                    client, _ = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                client.settimeout(None)
                self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            link = _Link(client, upstream)
            with self.lock:
                self.connections += 1
                self._links.add(link)
            answers = threading.Thread(target=self._answers, args=(link,), daemon=True)
            answers.start()
            try:
                self._requests(link)
            except OSError:
                pass
            finally:
                link.gone.set()
                link.shutdown()
                answers.join(timeout=10)
                with self.lock:
                    self._links.discard(link)

    def _requests(self, link: _Link) -> None:
        """Client to OPA: forward, noting each complete request (and holding its answer)."""
        pending = b""
        while data := link.client.recv(65536):
            pending += data
            while (end := pending.find(b"\r\n\r\n")) >= 0:
                lines = pending[:end].decode("latin-1").split("\r\n")
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if len(pending) < end + 4 + length:
                    break
                pending = pending[end + 4 + length :]
                target = lines[0].split(" ")[1]
                with self.lock:
                    self.targets.append(target)
                    if self.slow.is_set() and target.startswith(DECISIONS_TARGET):
                        self.held += 1
                        # set before OPA can see the request, so its answer cannot slip past
                        link.due = time.monotonic() + self.delay
            link.upstream.sendall(data)

    def _answers(self, link: _Link) -> None:
        """OPA to client: forward, but nothing of a held answer before it is due."""
        try:
            while data := link.upstream.recv(65536):
                wait = link.due - time.monotonic()
                if wait > 0:
                    if link.gone.wait(wait):
                        with self.lock:
                            self.dropped += 1
                        return
                    with self.lock:
                        self.late += 1
                link.client.sendall(data)
        except OSError:
            pass
        finally:
            link.shutdown()  # OPA hung up: so does the proxy, and the client sees it

    def wait_for(self, condition: Callable[[SlowProxy], bool], deadline_s: float = 10.0) -> None:
        """Poll ``condition`` with a deadline (never a fixed sleep)."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            with self.lock:
                if condition(self):
                    return
            time.sleep(0.01)
        raise AssertionError(
            f"proxy: condition not met in {deadline_s}s: connections={self.connections} "
            f"held={self.held} dropped={self.dropped} late={self.late}"
        )

    def stop(self) -> None:
        self._stopping.set()
        with self.lock:
            links, threads = list(self._links), list(self._threads)
        for link in links:
            link.gone.set()
            link.shutdown()
        for thread in threads:
            thread.join(timeout=10)


@pytest.fixture
def proxy(opa_server: LocalOpa) -> Iterator[SlowProxy]:
    slow = SlowProxy(opa_server.port)
    try:
        yield slow
    finally:
        slow.stop()


def _service(proxy: SlowProxy, tmp_path: Path) -> TestClient:
    """The service behind the proxy, with a short deadline, an audit log, and batches cut into
    several OPA queries (``opa_chunk``) so a batch has queries in flight in parallel; it starts
    (and stops, writing the audit log's "close" record) with its ``with`` block."""
    config = ServiceConfig(
        registry=REGISTRY,
        opa_url=proxy.url,
        audit_log=tmp_path / "a.log",
        opa_deadline=DEADLINE,
        opa_chunk=6,
    )
    return TestClient(create_app(config))


@pytest.fixture
def service(proxy: SlowProxy, tmp_path: Path) -> Iterator[TestClient]:
    with _service(proxy, tmp_path) as client:
        yield client


def _decide(client: TestClient, payload: object) -> httpx.Response:
    return client.post("/v1/decisions", json=payload)


def _assert_too_late(response: httpx.Response) -> None:
    """503 naming OPA's lateness, and nothing that could be read as a decision."""
    assert response.status_code == 503, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert body["error"]["type"] == "OpaUnavailableError"
    message = body["error"]["message"]
    assert f"did not answer data.stakegate.batch.decisions within {DEADLINE:g}s" in message
    assert "allow" not in response.text


def _audited_decisions(log: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [line for line in lines if line["type"] == "decision"]


def test_a_late_answer_is_503_never_a_decision(service, proxy):
    proxy.slow.set()
    _assert_too_late(_decide(service, {"entity": ALLOWED}))
    with proxy.lock:
        assert proxy.held == 1  # the query reached the real OPA; only its answer was late
    # The service gave up on that connection: it hung up before the answer was due, so the
    # answer was never passed on, and never left on a pooled connection for a later query.
    proxy.wait_for(lambda p: p.dropped == 1)
    assert proxy.late == 0
    # /health queries OPA's health endpoint, which the proxy never delays.
    assert service.get("/health").status_code == 200


def test_a_late_batch_is_503_with_no_partial_results(service, proxy):
    proxy.slow.set()
    _assert_too_late(_decide(service, {"entities": IDS}))  # several queries (opa_chunk=6)
    _assert_too_late(_decide(service, {"entities": [ALLOWED, DENIED]}))  # one query
    # Caller-supplied facts: one decisions query (the policy view was read at start-up), late.
    with proxy.lock:
        before = len(proxy.targets)
    _assert_too_late(_decide(service, {"facts": FRAGMENT}))
    with proxy.lock:
        asked = proxy.targets[before:]
    assert len(asked) == 1 and asked[0].startswith(DECISIONS_TARGET), asked
    proxy.wait_for(lambda p: p.held >= 3 and p.dropped == p.held)
    assert proxy.late == 0


def test_a_late_batch_stops_querying_opa(service, proxy):
    # 20 entities in chunks of 6 are 4 queries, 2 in flight at a time (_BATCH_PARALLEL): when
    # the first two miss the deadline, the two still queued are cancelled, not sent to an OPA
    # that is already slow after the client has had its 503.
    proxy.slow.set()
    _assert_too_late(_decide(service, {"entities": IDS}))
    proxy.wait_for(lambda p: p.held == 2 and p.dropped == 2)
    time.sleep(2 * DEADLINE)  # room for a straggler to arrive, if one were still running
    with proxy.lock:
        assert proxy.held == 2, proxy.targets


def test_failed_requests_leave_no_audit_line_and_are_counted(proxy, tmp_path):
    log = tmp_path / "a.log"
    with _service(proxy, tmp_path) as service:
        _fail_then_answer(service, proxy, log)
    report = verify_log(log)
    assert (report.status, report.decisions, report.clean_shutdown) == ("intact", 1, True)


def _fail_then_answer(service: TestClient, proxy: SlowProxy, log: Path) -> None:
    proxy.slow.set()
    payloads = [{"entity": ALLOWED}, {"entities": IDS}, {"facts": FRAGMENT}]
    for payload in payloads:
        _assert_too_late(_decide(service, payload))
    assert _audited_decisions(log) == []  # the log is fsync'd before any answer: it is complete
    text = service.get("/metrics").text
    status_503 = 'stakegate_http_requests_total{method="POST",route="/v1/decisions",status="503"}'
    assert f"{status_503} {float(len(payloads))}" in text.splitlines()
    assert "stakegate_decisions_total{" not in text  # no outcome was ever counted
    decisions_lines = [line for line in text.splitlines() if line.startswith(status_503[:-15])]
    assert decisions_lines == [f"{status_503} {float(len(payloads))}"]  # no other status, no 200

    proxy.slow.clear()
    answered = _decide(service, {"entity": ALLOWED})
    assert answered.status_code == 200
    assert [d["decision_id"] for d in _audited_decisions(log)] == [answered.json()["decision_id"]]


def test_recovers_without_restart_when_opa_is_fast_again(service, proxy):
    proxy.slow.set()
    _assert_too_late(_decide(service, {"entity": ALLOWED}))
    _assert_too_late(_decide(service, {"entities": IDS}))
    proxy.wait_for(lambda p: p.held >= 2 and p.dropped == p.held)

    proxy.slow.clear()
    again = _decide(service, {"entity": ALLOWED})
    assert again.status_code == 200, again.text
    assert (again.json()["entity"], again.json()["decision"]) == (ALLOWED, "allow")
    # The pool holds no connection with a stale answer in it: each answer is for its own query
    # (a stale one would fail verification against the requested entities, 502), ...
    other = _decide(service, {"entity": DENIED})
    assert other.status_code == 200, other.text
    assert (other.json()["entity"], other.json()["decision"]) == (DENIED, "deny")
    batch = _decide(service, {"entities": IDS})
    assert batch.status_code == 200, batch.text
    assert [d["entity"] for d in batch.json()["decisions"]] == IDS
    # ... and keep-alive works again: one query at a time reuses one pooled connection.
    with proxy.lock:
        opened = proxy.connections
    for entity in (ALLOWED, DENIED, ALLOWED):
        assert _decide(service, {"entity": entity}).json()["entity"] == entity
    with proxy.lock:
        assert proxy.connections == opened
        assert proxy.late == 0


def test_served_process_fails_closed_on_a_slow_opa(proxy, tmp_path, monkeypatch):
    """``stakegate serve`` (uvloop, deadline from STAKEGATE_SERVICE_OPA_DEADLINE) end to end."""
    monkeypatch.setenv("STAKEGATE_SERVICE_OPA_DEADLINE", str(DEADLINE))
    audit = tmp_path / "audit.log"
    args = ["--registry", str(REGISTRY), "--opa-url", proxy.url, "--audit-log", str(audit)]
    with serving(args, tmp_path / "serve.log") as server, httpx.Client(base_url=server.url) as http:
        proxy.slow.set()
        _assert_too_late(http.post("/v1/decisions", json={"entity": ALLOWED}))
        _assert_too_late(http.post("/v1/decisions", json={"entities": IDS}))
        proxy.wait_for(lambda p: p.held >= 2 and p.dropped == p.held)
        proxy.slow.clear()
        answered = http.post("/v1/decisions", json={"entity": ALLOWED})
        assert answered.status_code == 200, answered.text
        assert answered.json()["decision"] == "allow"
    report = verify_log(audit)
    assert (report.status, report.decisions, report.clean_shutdown) == ("intact", 1, True)

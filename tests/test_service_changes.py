"""Flips on reload, in-process (Starlette's TestClient) against a real OPA: the changes feed,
its bounds, what is decided again and what is not, the audit lines, and notifications to a real
local receiver (``notify_receiver``). The real ``stakegate serve`` process is exercised in
``test_service_flips_process.py``.

The registries are ``fixtures/changes``: from day 1 to day 2, lotus-sg loses its CN owner
(deny -> allow) and birch-de gains one (allow -> deny); nothing else changes.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stakegate import settings
from stakegate.policy.runtime import LocalOpa
from stakegate.service import ServiceConfig, core, create_app, snapshot, verify_log
from stakegate.service.feed import ChangeFeed

from .conftest import FIXTURES, POLICIES, policy_with_config
from .notify_receiver import Receiver, receiving

pytestmark = pytest.mark.integration

DAY1 = FIXTURES / "changes" / "day1.yaml"
DAY2 = FIXTURES / "changes" / "day2.yaml"
FLIPS = {("lotus-sg", "deny", "allow"), ("birch-de", "allow", "deny")}


def audit_lines(path: Path, kind: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line["type"] == kind]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.yaml"
    shutil.copyfile(DAY1, path)
    return path


def serve(config: ServiceConfig) -> TestClient:
    return TestClient(create_app(config))


def reload_to(client: TestClient, registry: Path, source: Path) -> None:
    shutil.copyfile(source, registry)
    response = client.post("/v1/admin/reload")
    assert response.status_code == 200, response.text


def test_a_reload_shows_exactly_the_flips_with_reasons(registry, tmp_path):
    """A private OPA on the policy directory: its revision is the directory's hash, so the
    outcomes of entities whose facts did not change are reused."""
    log = tmp_path / "audit.log"
    config = ServiceConfig(registry=registry, policy=POLICIES, audit_log=log)
    with serve(config) as client:
        first = client.get("/v1/changes")
        assert first.status_code == 200
        assert first.json()["changes"] == []
        start = first.json()["next"]
        reload_to(client, registry, DAY2)
        page = client.get("/v1/changes", params={"since": start}).json()
        changes = page["changes"]
        assert {(c["entity"], c["before"], c["after"]) for c in changes} == FLIPS
        assert [c["seq"] for c in changes] == [start, start + 1]
        assert page["next"] == start + 2
        birch = next(c for c in changes if c["entity"] == "birch-de")
        assert birch["reasons_after"][0]["code"] == "restricted_ownership"
        assert birch["reasons_after"][0]["paths"] == [["lantern-cn", "birch-de"]]
        assert next(c for c in changes if c["entity"] == "lotus-sg")["reasons_after"] == []
        assert {c["revision"] for c in changes} == {client.get("/health").json()["policy_revision"]}
        assert all(c["as_of"] and c["at"] for c in changes)
        # Nothing new since: an empty page, the same next.
        assert client.get("/v1/changes", params={"since": page["next"]}).json() == {
            "changes": [],
            "next": page["next"],
        }
        # The decisions themselves agree with the feed.
        decided = client.post("/v1/decisions", json={"entity": "birch-de"}).json()
        assert decided["decision"] == "deny"
    # Recorded before the swap, one line per flip, and the log verifies with them.
    flips = audit_lines(log, "flip")
    assert {(f["entity"], f["before"], f["after"]) for f in flips} == FLIPS
    assert [f["change_seq"] for f in flips] == [start, start + 1]
    (reload,) = audit_lines(log, "reload")
    assert (reload["flips"], reload["decided"]) == (2, 2)  # only the two whose facts changed
    assert verify_log(log).status == "intact"


def test_an_unchanged_reload_decides_nothing_again(registry, tmp_path):
    """Same revision, same date, byte-identical facts: the outcomes are reused, not re-asked."""
    log = tmp_path / "audit.log"
    config = ServiceConfig(registry=registry, policy=POLICIES, audit_log=log)
    with serve(config) as client:
        reload_to(client, registry, DAY1)
        assert client.get("/v1/changes").json()["changes"] == []
    (reload,) = audit_lines(log, "reload")
    assert (reload["flips"], reload["decided"]) == (0, 0)


def test_a_remote_opa_naming_no_revision_is_asked_everything(
    opa_server: LocalOpa, registry, tmp_path
):
    """Its policy could change under the same (unknown) revision: nothing is reused."""
    log = tmp_path / "audit.log"
    config = ServiceConfig(registry=registry, opa_url=opa_server.url, audit_log=log)
    with serve(config) as client:
        reload_to(client, registry, DAY2)
        changes = client.get("/v1/changes").json()["changes"]
    assert {(c["entity"], c["before"], c["after"]) for c in changes} == FLIPS
    (reload,) = audit_lines(log, "reload")
    assert (reload["flips"], reload["decided"]) == (2, 5)


def test_a_new_policy_decides_everything_again(registry, tmp_path):
    """A stricter policy (threshold 25) on the same registry: fjord-dk's 30-40% holdings are
    not restricted, but lantern-cn's 60% of lotus-sg stays a deny; a lower threshold changes
    nothing there, while a new revision makes every entity decided again."""
    policy = policy_with_config(tmp_path / "policy", {"restricted_regions": ["CN", "DK"]})
    log = tmp_path / "audit.log"
    config = ServiceConfig(registry=registry, policy=policy, audit_log=log)
    with serve(config) as client:
        before = client.get("/health").json()["policy_revision"]
        shutil.rmtree(policy)
        shutil.copytree(POLICIES, policy)
        assert client.post("/v1/admin/reload").status_code == 200
        changes = client.get("/v1/changes").json()["changes"]
        assert client.get("/health").json()["policy_revision"] != before
    # DK no longer restricted: fjord-dk itself, and birch-de / quiet-fr (30%, 40% DK) stay allow
    assert {(c["entity"], c["before"], c["after"]) for c in changes} == {
        ("fjord-dk", "deny", "allow")
    }
    (reload,) = audit_lines(log, "reload")
    assert reload["decided"] == 5


def test_entities_that_appear_or_disappear_are_changes(opa_server: LocalOpa, registry, tmp_path):
    day = registry.read_text().replace(
        "  - {id: quiet-fr, name: Quiet Services SARL, type: company, jurisdiction: FR}\n",
        "  - {id: new-ru, type: company, jurisdiction: RU}\n",
    )
    day = day.replace("  - {owner: fjord-dk, owned: quiet-fr, percent: 40}\n", "")
    other = tmp_path / "other.yaml"
    other.write_text(day)
    with serve(ServiceConfig(registry=registry, opa_url=opa_server.url)) as client:
        reload_to(client, registry, other)
        changes = client.get("/v1/changes").json()["changes"]
    assert [(c["entity"], c["before"], c["after"]) for c in changes] == [
        ("new-ru", None, "deny"),
        ("quiet-fr", "allow", None),
    ]
    assert changes[1]["reasons_after"] is None


def test_the_feed_is_bounded_and_never_skips_silently(
    opa_server: LocalOpa, registry, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(settings, "SERVICE_CHANGES_MAX", 3)
    with serve(ServiceConfig(registry=registry, opa_url=opa_server.url)) as client:
        start = client.get("/v1/changes").json()["next"]
        for day in (DAY2, DAY1):  # 2 flips, then 2 back: 4 changes, the first fell out
            reload_to(client, registry, day)
        page = client.get("/v1/changes").json()
        assert [c["seq"] for c in page["changes"]] == [start + 1, start + 2, start + 3]
        gone = client.get("/v1/changes", params={"since": start})
        assert gone.status_code == 410
        body = gone.json()
        assert (body["oldest"], body["next"]) == (start + 1, start + 4)
        assert body["error"]["field"] == "since"
        assert "fell out of the feed" in body["error"]["message"]
        # A seq this process never issued (a client of an earlier process): 410 as well.
        for since, why in ((start + 5, "not issued"), (start - 1, "predates"), (10**30, "not")):
            refused = client.get("/v1/changes", params={"since": since})
            assert refused.status_code == 410 and why in refused.json()["error"]["message"]
        # Paging: limit, then next.
        one = client.get("/v1/changes", params={"since": start + 1, "limit": 1}).json()
        assert [c["seq"] for c in one["changes"]] == [start + 1] and one["next"] == start + 2
        for params in ({"since": -1}, {"since": "x"}, {"limit": 0}, {"limit": 10_001}):
            assert client.get("/v1/changes", params=params).status_code == 422


def test_a_failed_reload_changes_nothing(opa_server: LocalOpa, registry, tmp_path):
    """A broken registry file: the reload fails, the old snapshot serves on, no flip is fed or
    recorded."""
    log = tmp_path / "audit.log"
    config = ServiceConfig(registry=registry, opa_url=opa_server.url, audit_log=log)
    with serve(config) as client:
        registry.write_text("entities: [{id: x, type: ship}]\n")
        failed = client.post("/v1/admin/reload")
        assert failed.status_code == 503
        assert client.get("/v1/changes").json()["changes"] == []
        assert (
            client.post("/v1/decisions", json={"entity": "lotus-sg"}).json()["decision"] == "deny"
        )
    assert audit_lines(log, "flip") == audit_lines(log, "reload") == []


def test_the_feed_is_bounded_by_bytes_too():
    feed = ChangeFeed(max_entries=100, max_bytes=250, start=10)
    published = feed.publish({"seq": 10 + n, "entity": "x" * 50} for n in range(5))
    assert len(published) == 5
    assert feed.oldest == 12 and len(feed) == 3 and feed.dropped == 2  # ~75 bytes each
    with pytest.raises(ValueError, match="not the next"):
        feed.publish([{"seq": 99}])


def test_changes_need_the_api_key(opa_server: LocalOpa, registry):
    key = "k" * 32
    config = ServiceConfig(registry=registry, opa_url=opa_server.url, api_keys=frozenset({key}))
    with serve(config) as client:
        assert client.get("/v1/changes").status_code == 401
        ok = client.get("/v1/changes", headers={"authorization": f"Bearer {key}"})
        assert ok.status_code == 200
        schema = client.get("/openapi.json").json()
        responses = schema["paths"]["/v1/changes"]["get"]["responses"]
        assert {"200", "410"} <= set(responses)


def test_a_new_day_reloads_and_feeds_what_its_dates_changed(
    opa_server: LocalOpa, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """A dated holding ends tomorrow: the first request of the next day reloads, and the flip
    it causes (lotus-sg deny -> allow) is in the feed, said to be as of the new day."""
    today = date.today()
    tomorrow = today + timedelta(days=1)
    registry = tmp_path / "registry.yaml"
    registry.write_text(
        DAY1.read_text().replace(
            "{owner: lantern-cn, owned: lotus-sg, percent: 60}",
            f"{{owner: lantern-cn, owned: lotus-sg, percent: 60, end: {tomorrow}}}",
        )
    )
    monkeypatch.setattr(core, "today", lambda: today)
    monkeypatch.setattr(snapshot, "today", lambda: today)
    with serve(ServiceConfig(registry=registry, opa_url=opa_server.url)) as client:
        assert (
            client.post("/v1/decisions", json={"entity": "lotus-sg"}).json()["decision"] == "deny"
        )
        monkeypatch.setattr(core, "today", lambda: tomorrow)
        monkeypatch.setattr(snapshot, "today", lambda: tomorrow)
        client.post("/v1/decisions", json={"entity": "lotus-sg"})  # still today's snapshot
        changes = wait_until(lambda: client.get("/v1/changes").json()["changes"])
        assert (
            client.post("/v1/decisions", json={"entity": "lotus-sg"}).json()["decision"] == "allow"
        )
    assert [(c["entity"], c["before"], c["after"], c["as_of"]) for c in changes] == [
        ("lotus-sg", "deny", "allow", tomorrow.isoformat())
    ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def fast_retries(monkeypatch: pytest.MonkeyPatch, attempts: int = 3) -> None:
    monkeypatch.setattr(settings, "SERVICE_NOTIFY_ATTEMPTS", attempts)
    monkeypatch.setattr(settings, "SERVICE_NOTIFY_BACKOFF", 0.01)
    monkeypatch.setattr(settings, "SERVICE_NOTIFY_TIMEOUT", 0.5)


def wait_until(check: Any, deadline_s: float = 30.0) -> Any:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("not reached before the deadline")


def test_a_reload_is_posted_as_one_document(
    opa_server: LocalOpa, registry, tmp_path, receiver: Receiver
):
    log = tmp_path / "audit.log"
    config = ServiceConfig(
        registry=registry, opa_url=opa_server.url, audit_log=log, notify_url=receiver.url
    )
    with serve(config) as client:
        start = client.get("/v1/changes").json()["next"]
        reload_to(client, registry, DAY2)
        (request,) = receiver.wait_for(1)
        feed = client.get("/v1/changes").json()["changes"]
        health = wait_until(
            lambda: (h := client.get("/health").json())["notify"]["delivered"] and h
        )
    document = request["body"]
    assert request["headers"]["idempotency-key"] == document["id"]
    assert document["type"] == "stakegate.changes"
    assert (document["part"], document["parts"]) == (1, 1)
    assert (document["first_seq"], document["last_seq"]) == (start, start + 1)
    assert document["changes"] == feed
    assert document["reload"]["reason"] == "admin request"
    assert document["reload"]["previous"]["generation"] == document["reload"]["generation"] - 1
    assert health["status"] == "ok" and health["notify"]["status"] == "ok"
    (delivered,) = audit_lines(log, "notify")
    assert (delivered["result"], delivered["attempts"], delivered["delivery"]) == (
        "delivered",
        1,
        document["id"],
    )


def test_a_large_reload_is_sent_in_parts(
    opa_server: LocalOpa, registry, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(settings, "SERVICE_NOTIFY_MAX_CHANGES", 1)
    config = ServiceConfig(registry=registry, opa_url=opa_server.url, notify_url=receiver.url)
    with serve(config) as client:
        reload_to(client, registry, DAY2)
        requests = receiver.wait_for(2)
    documents = [r["body"] for r in requests]
    assert [(d["part"], d["parts"]) for d in documents] == [(1, 2), (2, 2)]
    assert documents[0]["last_seq"] + 1 == documents[1]["first_seq"]


def test_failed_posts_are_retried_then_delivered(
    opa_server: LocalOpa, registry, tmp_path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    """A 500, then a receiver too slow for the timeout, then 200: one document, three attempts,
    each delivery of the same document with the same id (at least once)."""
    fast_retries(monkeypatch, attempts=5)
    receiver.script = [("status", 500), ("delay", 5.0)]
    log = tmp_path / "audit.log"
    config = ServiceConfig(
        registry=registry, opa_url=opa_server.url, audit_log=log, notify_url=receiver.url
    )
    with serve(config) as client:
        reload_to(client, registry, DAY2)
        requests = receiver.wait_for(3)
        wait_until(lambda: audit_lines(log, "notify"))
        metrics = client.get("/metrics").text
    assert len({r["body"]["id"] for r in requests}) == 1
    (record,) = audit_lines(log, "notify")
    assert (record["result"], record["attempts"]) == ("delivered", 3)
    assert 'stakegate_notifications_total{result="failed_attempt"} 2.0' in metrics
    assert 'stakegate_notifications_total{result="delivered"} 1.0' in metrics


@pytest.mark.parametrize("refusal", [400, 301])
def test_a_refusing_receiver_is_not_retried(
    opa_server: LocalOpa, registry, tmp_path, receiver: Receiver, refusal: int
):
    receiver.script = [("status", refusal)]
    log = tmp_path / "audit.log"
    config = ServiceConfig(
        registry=registry, opa_url=opa_server.url, audit_log=log, notify_url=receiver.url
    )
    with serve(config) as client:
        reload_to(client, registry, DAY2)
        (record,) = wait_until(lambda: audit_lines(log, "notify"))
        notify = client.get("/health").json()["notify"]
    assert (record["result"], record["attempts"], record["status"]) == ("gave_up", 1, refusal)
    assert "refused" in record["reason"]
    assert (notify["status"], notify["gave_up"]) == ("failing", 1)
    assert len(receiver.received) == 1


def test_a_receiver_that_is_down_is_given_up_and_decisions_flow(
    opa_server: LocalOpa, registry, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """Nothing listens at the URL: every attempt fails, the document is given up after the
    attempts allowed, and all the while /health is 200 and decisions are answered."""
    fast_retries(monkeypatch, attempts=3)
    down = Receiver()  # bound, never started, then closed: its port refuses connections
    url = down.url
    down.server.server_close()
    log = tmp_path / "audit.log"
    config = ServiceConfig(registry=registry, opa_url=opa_server.url, audit_log=log, notify_url=url)
    with serve(config) as client:
        reload_to(client, registry, DAY2)
        while not audit_lines(log, "notify"):
            assert client.post("/v1/decisions", json={"entity": "birch-de"}).status_code == 200
        health = client.get("/health")
        metrics = client.get("/metrics").text
    (record,) = audit_lines(log, "notify")
    assert (record["result"], record["attempts"]) == ("gave_up", 3)
    assert "ConnectError" in record["reason"]
    assert health.status_code == 200
    notify = health.json()["notify"]
    assert (notify["status"], notify["gave_up"], notify["pending"]) == ("failing", 1, 0)
    assert notify["receiver"] == "127.0.0.1"
    assert 'stakegate_notifications_total{result="gave_up"} 1.0' in metrics
    assert verify_log(log).status == "intact"


def test_what_waits_at_stop_is_recorded_as_given_up(
    opa_server: LocalOpa, registry, tmp_path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(settings, "SERVICE_NOTIFY_QUEUE", 1)
    receiver.script = [("delay", 30.0)]
    log = tmp_path / "audit.log"
    config = ServiceConfig(
        registry=registry, opa_url=opa_server.url, audit_log=log, notify_url=receiver.url
    )
    with serve(config) as client:
        for day in (DAY2, DAY1, DAY2):  # one in flight (slow), one waiting, one more: full
            reload_to(client, registry, day)
        receiver.wait_for(1)
        wait_until(lambda: audit_lines(log, "notify"))  # the queue overflowed
    results = [(r["result"], r.get("reason")) for r in audit_lines(log, "notify")]
    assert results == [
        ("gave_up", "the notification queue is full"),
        ("gave_up", "the service stopped"),
        ("gave_up", "the service stopped"),
    ]
    assert verify_log(log).status == "intact"


def test_notify_url_must_be_http(registry):
    with pytest.raises(Exception, match="expected an http"):
        ServiceConfig(registry=registry, notify_url="file:///etc/passwd")


def test_flips_under_regimes_side_by_side(registry, tmp_path):
    """Under --regimes, the outcomes compared are the combined decisions (the side-by-side
    entrypoint): the merge once queried the plain entrypoint here and the service could not
    start."""
    config = ServiceConfig(
        registry=registry, policy=POLICIES, audit_log=tmp_path / "audit.log", regimes=("all",)
    )
    with serve(config) as client:
        start = client.get("/v1/changes").json()["next"]
        reload_to(client, registry, DAY2)
        changes = client.get("/v1/changes", params={"since": start}).json()["changes"]
        assert {(c["entity"], c["before"], c["after"]) for c in changes} == FLIPS

"""A write that fails (a line or a checkpoint) refuses decisions until the log is fixed.

Failures are real, not simulated in Python: a file descriptor swapped for a read-only one
(``dup2``), and in a real ``stakegate serve`` process a file-size limit (``RLIMIT_FSIZE``) the
log grows into, lifted later with ``prlimit`` on the running process. "Fixed" means: writes
succeed again and the file on disk ends with the last durable line; the writer then records the
outage in an ``audit_recovered`` line and accepts decisions again, without a restart.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from stakegate.errors import AuditError
from stakegate.policy.runtime import LocalOpa
from stakegate.service.audit import AuditLog, verify_log

from .audit_support import PRIVATE, PUBLIC, decisions, records, signer, verifiers
from .conftest import REPO
from .service_process import STAKEGATE, serving


@contextmanager
def _read_only(fd: int, path: Path) -> Iterator[None]:
    """Within the block, ``fd`` refers to ``path`` opened read-only: every write fails EBADF."""
    saved = os.dup(fd)
    readonly = os.open(path, os.O_RDONLY)
    os.dup2(readonly, fd)
    os.close(readonly)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _wait_writable(audit: AuditLog, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while audit.failed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not audit.failed, audit.failure


@pytest.mark.parametrize("broken", ["checkpoint", "line"])
def test_a_failed_write_refuses_every_line_until_the_writer_recovers(tmp_path: Path, broken):
    log_path = tmp_path / "audit.log"
    audit = AuditLog(log_path, signer=signer())
    try:
        audit.append_sync(decisions(1))
        fd, path = (
            (audit._checkpoints._fd, tmp_path / "audit.log.checkpoint")
            if broken == "checkpoint"
            else (audit._fd, log_path)
        )
        with _read_only(fd, path):
            with pytest.raises(AuditError, match="write failed: .*Bad file descriptor"):
                audit.append_sync(decisions(1, 1))
            assert audit.failed
            for _ in range(3):  # refused at once, while still broken
                with pytest.raises(AuditError, match="is not writable"):
                    audit.append_sync(decisions(1, 2))
            assert audit.failed
        _wait_writable(audit)
        audit.append_sync(decisions(1, 3))
    finally:
        audit.close()
    report = verify_log(log_path, verifiers())
    assert report.status == "intact", report.problems
    found = records(log_path)
    recovered = [r for r in found if r["type"] == "audit_recovered"]
    assert len(recovered) == 1 and "Bad file descriptor" in recovered[0]["error"]
    ids = [r["decision_id"] for r in found if r["type"] == "decision"]
    if broken == "checkpoint":
        # The line reached the disk, its checkpoint did not: written, never acknowledged.
        assert ids == ["id-0", "id-1", "id-3"]
        assert recovered[0]["unacknowledged"] == {"from_seq": 3, "to_seq": 3}
    else:
        assert ids == ["id-0", "id-3"]
        assert "unacknowledged" not in recovered[0]


def _file_size_limit(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


@pytest.mark.integration
@pytest.mark.slow
def test_a_full_audit_log_turns_decisions_into_503_until_writes_succeed(
    opa_server: LocalOpa, tmp_path: Path
):
    log_path = tmp_path / "a.log"
    args = ["--registry", str(REPO / "examples" / "registry.yaml"), "--opa-url", opa_server.url,
            "--audit-log", str(log_path), "--audit-key", str(PRIVATE)]  # fmt: skip
    acked, statuses = [], []
    with (
        serving(
            args, tmp_path / "serve.log", preexec_fn=lambda: _file_size_limit(48 * 1024)
        ) as server,
        httpx.Client(base_url=server.url, timeout=10.0) as client,
    ):
        for _ in range(1000):  # the log passes 48 KiB after some 60 decisions
            response = client.post("/v1/decisions", json={"entity": "lotus-sg"})
            statuses.append(response.status_code)
            if response.status_code != 200:
                break
            acked.append(response.json()["decision_id"])
        assert statuses[-1] == 503 and set(statuses[:-1]) == {200}
        error = response.json()["error"]
        assert error["type"] == "AuditError" and "File too large" in error["message"]
        health = client.get("/health")
        assert health.status_code == 503
        assert "audit log is not writable" in health.json()["reason"]
        for _ in range(5):  # nothing is decided while the log cannot be written
            assert client.post("/v1/decisions", json={"entity": "lotus-sg"}).status_code == 503

        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        deadline = time.monotonic() + 30
        while client.get("/health").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        response = client.post("/v1/decisions", json={"entity": "lotus-sg"})
        assert response.status_code == 200
        acked.append(response.json()["decision_id"])
    verified = subprocess.run(
        [*STAKEGATE, "audit", "verify", str(log_path), "--key", str(PUBLIC)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    found = records(log_path)
    assert [r["decision_id"] for r in found if r["type"] == "decision"] == acked
    outage = [r for r in found if r["type"] == "audit_recovered"]
    assert len(outage) == 1 and "File too large" in outage[0]["error"]
    assert json.loads(verified.stdout)["clean_shutdown"] is True

"""A private OPA dies with the process that started it, even when that process is SIGKILLed.

Each test starts a real engine process with a real OPA, kills it with SIGKILL (no cleanup runs,
as with a CI timeout or the OOM killer), and polls ``/proc`` with a deadline until the OPA is
gone. Before the fix the OPA ran on forever; an OPA still alive at the end is killed here, so a
failing run leaves nothing behind either. Linux only (``/proc``), like the machines this runs on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from stakegate.policy import lifeline
from stakegate.policy.runtime import LocalOpa

from .conftest import POLICIES, REPO
from .service_process import ServiceProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STAKEGATE = str(Path(sys.executable).parent / "stakegate")
PARENT = Path(__file__).with_name("orphan_parent.py")
DEADLINE_S = 30.0
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], what: str, deadline_s: float = DEADLINE_S) -> T:
    """Poll ``check`` until it returns something (never a fixed sleep)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"not within {deadline_s:g}s: {what}")


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie that nobody reaped is dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def children(pid: int) -> list[int]:
    """Child processes of ``pid``, whichever of its threads forked them."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def opa_children(pid: int) -> list[int]:
    return [c for c in children(pid) if cmdline(c)[1:3] == ["run", "--server"] and alive(c)]


@pytest.fixture
def reaper() -> Iterator[list[int]]:
    """Pids to kill at the end if still alive: a failing test leaves no OPA running."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def assert_dies(pid: int) -> None:
    wait_for(lambda: not alive(pid), f"OPA {pid} exits after its parent was killed")


def ring_registry(path: Path, n: int) -> Path:
    ids = [f"r{i}" for i in range(n)]
    doc = {
        "entities": [{"id": e, "type": "company", "jurisdiction": "SG"} for e in ids],
        "ownership": [
            {"owner": ids[i], "owned": ids[(i + 1) % n], "percent": 100} for i in range(n)
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def test_screen_killed_mid_run_leaves_no_opa(tmp_path: Path, reaper: list[int]):
    # Big enough to take a while: every member of a closed ring is screened in review.
    registry = ring_registry(tmp_path / "ring.json", 40_000)
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(
        [STAKEGATE, "screen", "--registry", str(registry), "--data-faults", "review",
         "--out", str(out)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        (opa,) = wait_for(lambda: opa_children(proc.pid), "screen starts its OPA")
        reaper.append(opa)
        url = "http://" + cmdline(opa)[cmdline(opa).index("--addr") + 1]
        wait_for(lambda: _healthy(url), "the OPA serves")
        assert proc.poll() is None, "screen finished before it could be killed mid-run"
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    assert_dies(opa)
    assert not out.exists()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_killed_after_a_reload_leaves_no_opa(tmp_path: Path, reaper: list[int]):
    """The first OPA is started under asyncio.to_thread at start-up, the second by a reload in
    another worker thread; each must outlive its thread and die with the process."""
    registry = REPO / "examples" / "registry.yaml"
    server = ServiceProcess(["--registry", str(registry)], tmp_path / "serve.log")
    try:
        server.wait_ready()
        (first,) = wait_for(lambda: opa_children(server.proc.pid), "serve starts its OPA")
        reaper.append(first)
        server.signal(signal.SIGHUP)
        second = wait_for(
            lambda: [p for p in opa_children(server.proc.pid) if p != first] or None,
            "the reload starts a new OPA",
        )[0]
        reaper.append(second)
        wait_for(lambda: not alive(first), "the reload retires the old OPA")
        assert httpx.post(f"{server.url}/v1/decisions", json={"entity": "huadong-cn"}).is_success
        server.signal(signal.SIGKILL)
        server.proc.wait(timeout=10)
    finally:
        server.stop()
    assert_dies(second)


@pytest.mark.parametrize("mechanism", ["pdeathsig", "watchdog"])
def test_opa_started_from_a_finished_thread_lives_until_its_process_dies(
    mechanism: str, reaper: list[int]
):
    args = [sys.executable, str(PARENT), str(POLICIES)]
    if mechanism == "watchdog":
        args.append("--watchdog")
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the starting thread has ended
        assert line, f"the parent failed (exit {proc.wait()})"
        started = json.loads(line)
        reaper.append(started["pid"])
        assert alive(started["pid"]) and _healthy(started["url"])
        dogs = [c for c in children(proc.pid) if str(lifeline._WATCHDOG) in cmdline(c)]
        assert len(dogs) == (1 if mechanism == "watchdog" else 0)
        reaper.extend(dogs)
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
    assert_dies(started["pid"])
    for dog in dogs:
        wait_for(lambda d=dog: not alive(d), "the watchdog exits after its work")


def test_watchdog_stop_leaves_nothing_running(monkeypatch: pytest.MonkeyPatch):
    """Stopped on purpose, the watchdog goes first (it never kills a reused pid) and OPA after."""
    monkeypatch.setattr(lifeline, "USE_PDEATHSIG", False)
    opa = LocalOpa(POLICIES)
    opa.start()
    assert opa.proc is not None
    proc = opa.proc
    dogs = [c for c in children(os.getpid()) if str(lifeline._WATCHDOG) in cmdline(c)]
    assert len(dogs) == 1 and alive(proc.pid)
    opa.stop()
    assert proc.poll() is not None
    assert not alive(dogs[0])

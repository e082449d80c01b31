"""Record checks on the second core (``stakegate.forked``, ``registry.load._build_pieces``).

A large JSON registry is built in this process while a forked child checks its records. These
tests hold the child to its promises: its verdict is the one that counts (a record it refuses
is refused, with the message the whole reading gives, even when that record broke the building
first), it never outlives its parent, and it is never left behind as a zombie.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from stakegate import forked
from stakegate.errors import RegistryError
from stakegate.registry import load
from stakegate.registry.faults import FaultScan
from stakegate.registry.load import load_registry, parse_registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from generate import generate, write_registry  # noqa: E402

pytestmark = pytest.mark.skipif(forked.PRCTL is None, reason="Linux with prctl only")


@pytest.fixture
def alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork as if no other thread were alive (a pytest process may hold OPA's spawner)."""
    monkeypatch.setattr(forked.threading, "active_count", lambda: 1)


def _gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (reaped, or a zombie not yet reaped by init)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_the_child_answers_with_the_work_s_result(alone: None) -> None:
    for work, expected in ((lambda: 0, 0), (lambda: 3, 3), (lambda: 1 // 0, forked.FAILED)):
        child = forked.start(work)
        assert child is not None
        with child:
            assert child.result() == expected
        with pytest.raises(ChildProcessError):  # reaped: no zombie left
            os.waitpid(child.pid, os.WNOHANG)


def test_a_child_still_running_is_killed_and_reaped_on_close(alone: None) -> None:
    child = forked.start(lambda: time.sleep(60) or 0)
    assert child is not None
    child.close()
    assert child.result() == -signal.SIGKILL
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert forked.start(lambda: 0) is None
    finally:
        stop.set()
        thread.join()


def test_the_child_dies_with_its_parent(tmp_path: Path) -> None:
    """SIGKILL to the parent (a CI timeout, the OOM killer) takes the checker with it."""
    script = textwrap.dedent(
        """
        import sys, time
        from stakegate import forked
        child = forked.start(lambda: time.sleep(120) or 0)
        print(child.pid, flush=True)
        time.sleep(120)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            pid = int(parent.stdout.readline())
            assert not _gone(pid)
        finally:
            parent.kill()
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)


# --- the registry's record checks -------------------------------------------------------------


def _spied(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Statuses of the checkers forked while loading (the real ``forked.start``, recorded)."""
    statuses: list[int] = []
    real = forked.start

    class Recorded(forked.Forked):
        __slots__ = ()

        def result(self) -> int:
            status = super().result()
            if not statuses:
                statuses.append(status)
            return status

    def start(work: Callable[[], int]) -> forked.Forked | None:
        child = real(work)
        assert child is not None
        return Recorded(child.pid)

    monkeypatch.setattr(load.forked, "start", start)
    return statuses


def _register(tmp_path: Path, damage: Callable[[dict[str, object]], None] | None = None) -> Path:
    """A 20k-entity register (over ``PIECES_MIN``, so read in pieces), perhaps damaged."""
    path = tmp_path / "register.json"
    write_registry(generate(20_000, seed=3), path)
    if damage is not None:
        doc = orjson.loads(path.read_bytes())
        damage(doc)
        path.write_bytes(orjson.dumps(doc))
    assert path.stat().st_size > load.PIECES_MIN
    return path


def _whole_error(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as m:
        m.setattr(load, "PIECES_MIN", 1 << 62)
        with pytest.raises(RegistryError) as whole:
            load_registry(path)
    return str(whole.value)


def test_a_large_register_is_checked_beside_the_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alone: None
) -> None:
    path = _register(tmp_path)
    statuses = _spied(monkeypatch)
    beside = load_registry(path)
    assert statuses == [0]
    monkeypatch.setattr(load.forked, "start", lambda work: None)
    assert repr(beside) == repr(load_registry(path))  # the same model built alone


@pytest.mark.parametrize(
    "field, value",
    [("owned", None), ("percent", "50"), ("percent", [50]), ("owner", 7)],
    ids=["missing-owned", "percent-string", "percent-list", "owner-number"],
)
def test_a_record_the_checker_refuses_is_refused_even_if_it_broke_the_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alone: None, field: str, value: object
) -> None:
    """Damage late in the ownership section, where the building meets it before the checker's
    verdict: the error is the whole reading's, never an internal error or a model."""

    def damage(doc: dict[str, object]) -> None:
        record = doc["ownership"][-5]  # type: ignore[index]
        if value is None:
            del record[field]
        else:
            record[field] = value

    path = _register(tmp_path, damage)
    statuses = _spied(monkeypatch)
    with pytest.raises(RegistryError) as beside:
        load_registry(path)
    assert statuses == [1]
    assert str(beside.value) == _whole_error(path, monkeypatch)


def test_a_repeated_key_is_refused_though_only_the_builder_counts_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alone: None
) -> None:
    """The checker reads the pieces without counting keys (``pieces(count_keys=False)``); the
    builder counts them, so a restricted jurisdiction repeated as a clear one late in the
    document (orjson keeps the last) still sends it to the whole reading, which refuses it."""
    path = _register(tmp_path)
    data = path.read_bytes()
    cut = data.rindex(b'"jurisdiction":"CN"', 0, data.index(b'"ownership"'))
    path.write_bytes(data[:cut] + b'"jurisdiction":"CN","jurisdiction":"SG"' + data[cut + 19 :])
    with pytest.raises(RegistryError) as beside:
        load_registry(path)
    assert "duplicate key 'jurisdiction'" in str(beside.value)
    assert str(beside.value) == _whole_error(path, monkeypatch)


def test_the_checker_s_verdict_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alone: None
) -> None:
    """A checker that fails (or is killed) sends the document to the whole reading, which
    then decides: here it is valid, and read whole."""
    path = _register(tmp_path)
    expected = repr(load_registry(path))
    whole: list[bool] = []
    real_parse = load.parse_document

    def parse_document(*args: object, **kwargs: object) -> object:
        whole.append(True)
        return real_parse(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(load, "parse_document", parse_document)
    for work in (lambda data: 1, lambda data: os.kill(os.getpid(), signal.SIGKILL)):
        whole.clear()
        monkeypatch.setattr(load, "_checked_pieces", work)
        assert repr(load_registry(path)) == expected
        assert whole == [True]


# --- the search for data faults ---------------------------------------------------------------

_IDS = ["a", "b", "c", "d"]


@st.composite
def _holdings(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Records among four entities: self-holdings, repeats (with and without a shared
    interest_id), other interest types, consolidations, bands and sums near 100."""
    out = []
    for _ in range(draw(st.integers(0, 8))):
        record: dict[str, Any] = {
            "owner": draw(st.sampled_from(_IDS)),
            "owned": draw(st.sampled_from(_IDS)),
        }
        interest = draw(st.sampled_from([None, "shares", "voting", "other", "consolidation"]))
        if interest is not None:
            record["interest"] = interest
        if interest != "consolidation":
            low = draw(
                st.sampled_from([10, 33.3, 49.99999999995, 50, 50.00000000005, 50.5, 100 / 3])
            )
            band = {"min": low, "max": 100, "min_exclusive": draw(st.booleans())}
            record["percent"] = band if draw(st.booleans()) else low
        if draw(st.integers(0, 3)) == 0:
            record["interest_id"] = "i1"
        out.append(record)
    return out


@settings(max_examples=400)
@given(records=_holdings())
def test_a_scan_that_finds_no_possible_fault_is_never_wrong(records: list[dict[str, Any]]) -> None:
    """Where the scan answers "no fault possible", the registry's own search finds none and
    keeps every record (what the loader then skips is exactly what that search would do)."""
    entities = [{"id": i, "type": "company"} for i in _IDS]
    try:
        registry = parse_registry({"entities": entities, "ownership": records}, "scan")
    except RegistryError:
        return  # refused before any fault is looked for
    scan = FaultScan()
    scan.add(records)
    event(f"may have faults: {scan.may_have_faults()}")
    if not scan.may_have_faults():
        assert registry.faults == []
        assert registry.holdings == registry.all_records


def test_the_scan_of_a_clean_register_finds_nothing(tmp_path: Path) -> None:
    doc = orjson.loads(_register(tmp_path).read_bytes())
    scan = FaultScan()
    scan.add(doc["ownership"])
    assert not scan.may_have_faults()
    scan.add([dict(doc["ownership"][0])])  # the first holding again
    assert scan.may_have_faults()

"""The decision audit log: a hash-chained JSON-lines file that survives a crash.

Compliance must be able to prove later what was decided, under which policy revision and on
which facts, so every decision is one JSON line, and each line carries the hash of the line
before it (``prev``) and its own (``hash``): editing, deleting or reordering a line breaks the
chain. The writer uses *group commit*: lines are queued in order, one thread writes whatever is
queued in a single ``write`` and ``fsync``s it, then wakes every request whose line was in
that batch. A request is answered only after its line is on disk, so a ``SIGKILL`` cannot lose
an acknowledged decision, and one fsync serves many concurrent requests.

A line is the record in canonical JSON (sorted keys, no spaces, UTF-8) with ``"hash"`` added
last, and its hash is the ``sha256`` of the line's own bytes before ``,"hash":`` closed with
``}``: the record without ``"hash"``, exactly as written. ``verify_log`` hashes the bytes on
disk rather than re-serializing, so the check does not depend on how a JSON library formats
numbers (``1e-05`` or ``0.00001``), and catches any edit, even one that parses to equal JSON.
``LOG.head`` (rewritten at most once a second, after an fsync) records the last durable ``seq``
and ``hash``, so cutting whole lines off the end is detected too; keep a copy of it elsewhere
for a stronger anchor. ``verify_log`` checks all of this.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from stakegate.errors import AuditError
from stakegate.logs import get_logger

__all__ = ["GENESIS", "AuditLog", "AuditReport", "verify_log"]

log = get_logger(__name__)

GENESIS = "0" * 64
HEAD_SUFFIX = ".head"
_CHECKPOINT_INTERVAL_S = 1.0


def canonical(record: Mapping[str, Any]) -> str:
    """The byte-stable JSON form that a line's hash covers."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _line(record: dict[str, Any], prev: str) -> tuple[bytes, str]:
    """Chain ``record`` to ``prev``; return the line to write and its hash."""
    record["prev"] = prev
    # orjson: the same canonical form as ``canonical`` (but for number formatting), 10x faster.
    body = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(body).hexdigest()
    # The hash goes last, outside the hashed body; verification cuts it off and rehashes.
    return b"".join((body[:-1], b',"hash":"', digest.encode(), b'"}\n')), digest


# The end of every line: the hash member, last, after the hashed body.
_HASH_MEMBER = re.compile(rb',"hash":"([0-9a-f]{64})"\}$')


_Waiter = tuple[asyncio.AbstractEventLoop | None, Callable[[BaseException | None], None]]


class AuditLog:
    """Append-only, hash-chained, group-committed log; ``append`` returns once on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._recovered = _cut_partial_tail(path)
        self.seq, self.prev = _last_link(path)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._lock = threading.Lock()  # orders chaining with queueing: file order = chain order
        self._wake = threading.Condition(self._lock)
        self._queue: list[bytes] = []
        self._waiters: list[_Waiter] = []
        self._failure: BaseException | None = None
        self._closing = False
        self._durable = (self.seq, self.prev)
        self._last_checkpoint = 0.0
        self.fsyncs = 0
        self.lines_written = 0
        self.fsync_seconds = 0.0
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<AuditLog path={str(self.path)!r} seq={self.seq}>"

    @property
    def failed(self) -> bool:
        """True once a write failed: the log refuses every further line."""
        return self._failure is not None

    @property
    def recovered(self) -> dict[str, Any] | None:
        """What start-up cut off the end: an unfinished, never acknowledged line."""
        return self._recovered

    def _enqueue(self, records: Iterable[dict[str, Any]], waiter: _Waiter) -> None:
        with self._lock:
            if self._failure is not None or self._closing:
                raise AuditError(f"audit log {self.path} is not writable: {self._failure}")
            for record in records:
                self.seq += 1
                record["seq"] = self.seq
                line, self.prev = _line(record, self.prev)
                self._queue.append(line)
            self._waiters.append(waiter)
            self._wake.notify()

    async def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Chain and queue ``records``; return when the batch holding them is fsync'd."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def done(error: BaseException | None) -> None:
            if future.done():
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(AuditError(f"audit log {self.path} write failed: {error}"))

        self._enqueue(records, (loop, done))
        await future

    def append_sync(self, records: Iterable[dict[str, Any]], timeout: float = 30.0) -> None:
        """``append`` for threads without an event loop (start-up, reload, shutdown records)."""
        event = threading.Event()
        failure: list[BaseException] = []

        def done(error: BaseException | None) -> None:
            if error is not None:
                failure.append(error)
            event.set()

        self._enqueue(records, (None, done))
        if not event.wait(timeout):
            raise AuditError(f"audit log {self.path}: no fsync within {timeout:g}s")
        if failure:
            raise AuditError(f"audit log {self.path} write failed: {failure[0]}")

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closing:
                    self._wake.wait(timeout=_CHECKPOINT_INTERVAL_S)
                    if not self._queue:
                        self._checkpoint(force=False)
                if not self._queue and self._closing:
                    self._checkpoint(force=True)
                    return
                data = b"".join(self._queue)
                count = len(self._queue)
                waiters = self._waiters
                tip = (self.seq, self.prev)
                self._queue, self._waiters = [], []
            error: BaseException | None = None
            try:
                started = time.perf_counter()
                _write_all(self._fd, data)
                os.fsync(self._fd)
                self.fsyncs += 1
                self.lines_written += count
                self.fsync_seconds += time.perf_counter() - started
                self._durable = tip
            except OSError as err:
                error = err
                log.error("Audit write failed", path=str(self.path), error=str(err))
                with self._lock:
                    # The chain on disk is now uncertain: refuse everything from here on.
                    self._failure = err
                    waiters += self._waiters
                    self._queue, self._waiters = [], []
            _notify(waiters, error)
            self._checkpoint(force=False)
            if error is not None:
                return

    def _checkpoint(self, *, force: bool) -> None:
        """Rewrite ``LOG.head`` with the last durable link, at most once a second."""
        now = time.monotonic()
        if not force and now - self._last_checkpoint < _CHECKPOINT_INTERVAL_S:
            return
        self._last_checkpoint = now
        seq, digest = self._durable
        head = self.path.with_name(self.path.name + HEAD_SUFFIX)
        tmp = head.with_name(head.name + ".tmp")
        try:
            tmp.write_text(json.dumps({"seq": seq, "hash": digest, "time": utc_now()}) + "\n")
            os.replace(tmp, head)
        except OSError as err:
            log.warning("Audit checkpoint failed", path=str(head), error=str(err))

    def close(self) -> None:
        """Write what is queued, the final checkpoint, and close the file."""
        with self._lock:
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout=30)
        os.close(self._fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _notify(waiters: list[_Waiter], error: BaseException | None) -> None:
    """Wake waiters: one hop per event loop for the whole batch, not one per request."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Callable[[BaseException | None], None]]] = {}
    for loop, done in waiters:
        if loop is None:
            done(error)
        else:
            by_loop.setdefault(loop, []).append(done)
    for loop, callbacks in by_loop.items():

        def wake(callbacks: list[Callable[[BaseException | None], None]] = callbacks) -> None:
            for callback in callbacks:
                callback(error)

        try:
            loop.call_soon_threadsafe(wake)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


def _cut_partial_tail(path: Path) -> dict[str, Any] | None:
    """Remove an unfinished last line (a crash mid-write) and describe what was removed.

    Such a line was never fsync'd as a whole, so no request was answered for it; keeping it
    would leave a broken line in the middle of the chain once new lines follow.
    """
    if not path.exists():
        return None
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None
        start = max(0, size - (1 << 20))
        handle.seek(start)
        tail = handle.read()
        if tail.endswith(b"\n"):
            return None
        cut = tail.rfind(b"\n")
        if cut < 0 and start > 0:
            raise AuditError(f"{path}: last line is longer than 1 MiB; refusing to repair it")
        keep = start + cut + 1
        partial = tail[cut + 1 :]
        handle.truncate(keep)
        os.fsync(handle.fileno())
    info = {"bytes": len(partial), "sha256": hashlib.sha256(partial).hexdigest(), "offset": keep}
    log.warning("Audit log tail repaired", path=str(path), **info)
    return info


def _last_link(path: Path) -> tuple[int, str]:
    """``seq`` and ``hash`` of the last line, to continue the chain across restarts."""
    if not path.exists() or path.stat().st_size == 0:
        return 0, GENESIS
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - (1 << 20)))
        last = handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        record = json.loads(last)
        return int(record["seq"]), str(record["hash"])
    except (ValueError, KeyError, TypeError) as err:
        raise AuditError(
            f"{path}: the last line is not an audit record ({err}); run "
            "`stakegate audit verify` and move the file aside"
        ) from err


@dataclass
class AuditReport:
    """What ``verify_log`` found: ``status`` is ``intact``, ``truncated`` or ``tampered``."""

    path: str
    status: str = "intact"
    records: int = 0
    decisions: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    clean_shutdown: bool = True
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def _flag(self, status: str, problem: str) -> None:
        # Tampering outranks truncation: a log may be both, and tampering is the graver finding.
        if self.status != "tampered":
            self.status = status
        self.problems.append(problem)


def verify_log(path: Path) -> AuditReport:
    """Recompute the chain of ``path`` and compare its end with ``path.head``."""
    report = AuditReport(str(path))
    data = path.read_bytes()
    lines = data.split(b"\n")
    partial = lines.pop()  # b"" when the file ends with a newline
    prev, seq, last_type = GENESIS, 0, "close"
    hashes: dict[int, str] = {}
    for number, raw in enumerate(lines, start=1):
        where = f"line {number}"
        found = _HASH_MEMBER.search(raw)
        body = raw[: found.start()] + b"}" if found else b""
        try:
            record = json.loads(body)
        except ValueError:
            record = None
        if found is None or not isinstance(record, dict) or "hash" in record:
            report._flag("tampered", f"{where}: not a complete audit record")
            break
        claimed = found.group(1).decode()
        if hashlib.sha256(body).hexdigest() != claimed:
            report._flag("tampered", f"{where}: content does not match its hash")
        if record.get("prev") != prev:
            report._flag(
                "tampered",
                f"{where}: chain broken (a line before it was removed, inserted or changed)",
            )
        if record.get("seq") != seq + 1:
            report._flag("tampered", f"{where}: seq {record.get('seq')!r}, expected {seq + 1}")
        prev = claimed
        seq = record["seq"] if isinstance(record.get("seq"), int) else seq + 1
        hashes[seq] = claimed
        last_type = str(record.get("type"))
        report.records += 1
        report.decisions += last_type == "decision"
    report.last_seq, report.last_hash = seq, prev
    report.clean_shutdown = last_type == "close" or report.records == 0
    if partial:
        report._flag(
            "truncated",
            f"line {len(lines) + 1}: unfinished final line ({len(partial)} bytes): the writer "
            "stopped mid-line (crash, full disk) or the file was cut; it was never acknowledged",
        )
    _check_head(path, report, hashes)
    return report


def _check_head(path: Path, report: AuditReport, hashes: dict[int, str]) -> None:
    head_path = path.with_name(path.name + HEAD_SUFFIX)
    if not head_path.exists():
        return
    try:
        head = json.loads(head_path.read_text())
        head_seq, head_hash = int(head["seq"]), str(head["hash"])
    except (ValueError, KeyError, TypeError) as err:
        report._flag("tampered", f"{head_path}: unreadable checkpoint ({err})")
        return
    if head_seq == 0:
        return
    if head_seq > report.last_seq:
        report._flag(
            "truncated",
            f"the log ends at seq {report.last_seq} but {head_path.name} records seq {head_seq}: "
            "lines were cut off the end",
        )
    elif hashes.get(head_seq) != head_hash:
        report._flag("tampered", f"seq {head_seq} does not match the hash in {head_path.name}")

"""The audit writer: group commit, a durable signed checkpoint per commit, rotation, recovery.

Lines are queued in order; one thread chains whatever is queued, writes it in one ``write``,
``fsync``s it, then writes and ``fdatasync``s the checkpoint covering the batch's last line,
and only then wakes the requests whose lines were in the batch. So a request is answered only
when its line is on disk *and* covered by a durable (signed) checkpoint: cutting any answered
line is detectable, even after ``SIGKILL``. One commit serves every request that queued during
the previous one.

A failed write (a line, the checkpoint, a rotation) refuses every further line at once
(``AuditError``, 503) and stops acknowledging. About once a second the thread tries to recover:
cut what the failed write left after the last durable line, check that the file on disk ends
with that line, write a checkpoint, and record the outage in an ``audit_recovered`` line. Only
when all of that succeeded does the log accept lines again.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stakegate.errors import AuditError
from stakegate.logs import get_logger
from stakegate.service.audit.chain import encode_line, parse_line, utc_now
from stakegate.service.audit.checkpoints import Checkpoint, make_checkpoint
from stakegate.service.audit.keys import Signer
from stakegate.service.audit.segments import fsync_dir, segment_path, write_all
from stakegate.service.audit.startup import prepare
from stakegate.service.audit.verify import MAX_LINE

__all__ = ["AuditLog", "open_audit_log"]

if TYPE_CHECKING:
    from stakegate.service.config import ServiceConfig

log = get_logger(__name__)

_RETRY_S = 1.0
_Waiter = tuple[asyncio.AbstractEventLoop | None, Callable[[BaseException | None], None]]


def _today() -> date:
    return datetime.now(UTC).date()


class AuditLog:
    """Append-only, hash-chained, checkpointed log; ``append`` returns once covered on disk."""

    def __init__(
        self,
        path: Path,
        *,
        signer: Signer | None = None,
        rotate_bytes: int | None = None,
        rotate_daily: bool = False,
        today: Callable[[], date] = _today,
    ) -> None:
        self.path = path
        self.signer = signer
        self.rotate_bytes = rotate_bytes
        self.rotate_daily = rotate_daily
        self.today = today  # the UTC day, for daily rotation (tests move it)
        try:
            state = prepare(path, signer)
        except OSError as err:
            raise AuditError(f"audit log {path}: {err.strerror or err}") from err
        self._checkpoints = state.checkpoints
        self.log_id = state.log_id
        self.number, self.seq, self.prev = state.number, state.seq, state.prev
        self.size = state.size
        self._day = state.day or self.today()
        self._recovered = state.recovered
        self._previous: Checkpoint | None = None  # the end of the segment before this one
        try:
            self._fd = os.open(
                segment_path(path, self.number), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640
            )
        except OSError as err:
            state.checkpoints.close()
            if state.checkpoints.path.stat().st_size == 0:  # never written: leave nothing
                state.checkpoints.path.unlink()
            raise AuditError(f"audit log {path}: {err.strerror or err}") from err
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: list[dict[str, Any]] = []
        self._waiters: list[_Waiter] = []
        self._failure: BaseException | None = None
        self._failed_at: str | None = None
        self._acked_seq = self.seq
        self._closing = False
        self.fsyncs = 0
        self.lines_written = 0
        self.fsync_seconds = 0.0
        self.checkpoint: Checkpoint | None = state.checkpoints.latest
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<AuditLog path={str(self.path)!r} segment={self.number} seq={self.seq}>"

    @property
    def failed(self) -> bool:
        """True while writes fail: every line is refused until the writer has recovered."""
        return self._failure is not None

    @property
    def failure(self) -> str | None:
        return None if self._failure is None else str(self._failure)

    @property
    def recovered(self) -> dict[str, Any] | None:
        """What start-up repaired or found unacknowledged (recorded in the ``open`` line)."""
        return self._recovered

    def _enqueue(self, records: Iterable[dict[str, Any]], waiter: _Waiter) -> None:
        with self._lock:
            if self._failure is not None or self._closing:
                why = self._failure or "closed"
                raise AuditError(f"audit log {self.path} is not writable: {why}")
            self._queue.extend(records)
            self._waiters.append(waiter)
            self._wake.notify()

    async def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Queue ``records``; return when the commit holding them is durable and checkpointed."""
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
            raise AuditError(f"audit log {self.path}: not written within {timeout:g}s")
        if failure:
            raise AuditError(f"audit log {self.path} write failed: {failure[0]}")

    # --- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closing and self._failure is None:
                    self._wake.wait()
                if self._failure is not None:
                    if self._closing:
                        return
                    self._wake.wait(timeout=_RETRY_S)
                    if self._closing:
                        return
                    recover = True
                elif not self._queue:
                    return  # closing, and everything queued is written
                else:
                    recover = False
                    batch, waiters = self._queue, self._waiters
                    self._queue, self._waiters = [], []
            if recover:
                self._recover()
                continue
            error: BaseException | None = None
            try:
                self._commit(batch)
                self._acked_seq = self.seq
            except (OSError, AuditError) as err:
                error = err
                self._fail(err)
            _notify(waiters, error)

    def _commit(self, records: list[dict[str, Any]]) -> None:
        """Chain, write, fsync ``records``, then checkpoint them durably (raises on failure)."""
        started = time.perf_counter()
        if self.size > 0 and self._rotation_due():
            self._rotate()
        if self.size == 0:
            records = [self._header(), *records]
        chunks = []
        seq, prev = self.seq, self.prev
        for record in records:
            seq += 1
            line, prev = encode_line(record, seq, prev)
            chunks.append(line)
        data = b"".join(chunks)
        write_all(self._fd, data)
        os.fsync(self._fd)
        # Durable: the chain continues from here even if the checkpoint below fails.
        self.seq, self.prev, self.size = seq, prev, self.size + len(data)
        self._write_checkpoint()
        self.fsyncs += 1
        self.lines_written += len(records)
        self.fsync_seconds += time.perf_counter() - started

    def _write_checkpoint(self) -> Checkpoint:
        checkpoint = make_checkpoint(
            self.log_id, self.number, self.seq, self.prev, self.size, self.signer
        )
        self._checkpoints.write(checkpoint)
        self.checkpoint = checkpoint
        return checkpoint

    def _header(self) -> dict[str, Any]:
        # Segment 1 starts the chain; a rotated one embeds the checkpoint of the previous end.
        previous = self._previous.to_json() if self._previous else None
        return {
            "type": "segment",
            "segment": self.number,
            "log_id": self.log_id,
            "time": utc_now(),
            "previous": previous,
        }

    def _rotation_due(self) -> bool:
        if self.rotate_bytes is not None and self.size >= self.rotate_bytes:
            return True
        return self.rotate_daily and self.today() != self._day

    def _rotate(self) -> None:
        """Close the segment with a checkpoint of its end; open the next one, empty."""
        end = self._write_checkpoint()
        path = segment_path(self.path, self.number + 1)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        if os.fstat(fd).st_size:
            os.close(fd)
            raise AuditError(f"{path}: the next segment already exists and is not empty")
        fsync_dir(path.parent)
        old, self._fd = self._fd, fd
        os.close(old)
        self.number, self.size, self._previous, self._day = self.number + 1, 0, end, self.today()
        log.info("Audit log rotated", segment=str(path))

    def _fail(self, error: BaseException) -> None:
        log.error("Audit write failed; refusing decisions", path=str(self.path), error=str(error))
        with self._lock:
            self._failure = error
            self._failed_at = utc_now()
            pending, self._queue, self._waiters = self._waiters, [], []
        _notify(pending, error)

    def _recover(self) -> None:
        """Once writes succeed again: cut the failed write's leftovers, recheck, record it."""
        try:
            os.ftruncate(self._fd, self.size)
            os.fsync(self._fd)
            self._check_tail()
            record: dict[str, Any] = {
                "type": "audit_recovered",
                "time": utc_now(),
                "failed_at": self._failed_at,
                "error": str(self._failure),
            }
            if self.seq > self._acked_seq:  # durable, but the checkpoint failed: never answered
                record["unacknowledged"] = {"from_seq": self._acked_seq + 1, "to_seq": self.seq}
            self._commit([record])
        except (OSError, AuditError) as err:
            log.debug("Audit log still not writable", path=str(self.path), error=str(err))
            return
        self._acked_seq = self.seq
        with self._lock:
            self._failure = None
        log.warning("Audit log writable again; accepting decisions", path=str(self.path))

    def _check_tail(self) -> None:
        """The current segment on disk must end with the last durable line, byte for byte."""
        if self.size == 0:
            return
        path = segment_path(self.path, self.number)
        with path.open("rb") as handle:
            handle.seek(max(0, self.size - MAX_LINE - 1))
            tail = handle.read()
        if not tail.endswith(b"\n"):
            raise AuditError(f"{path} does not end with a complete line")
        parsed = parse_line(tail[:-1].rsplit(b"\n", 1)[-1])
        record = parsed.record or {}
        if not parsed.hash_ok or (record.get("seq"), parsed.claimed) != (self.seq, self.prev):
            raise AuditError(f"{path} no longer ends with seq {self.seq}: changed on disk")

    def close(self) -> None:
        """Write what is queued and close the files (the checkpoint lock is released)."""
        with self._lock:
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout=30)
        os.close(self._fd)
        self._checkpoints.close()


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


def open_audit_log(config: ServiceConfig) -> AuditLog:
    """The service's audit log, as ``config`` asks; verifies what is on disk first."""
    if config.audit_log is None:
        raise AuditError("no audit log configured")
    return AuditLog(
        config.audit_log,
        signer=config.audit_signer,
        rotate_bytes=config.audit_rotate_bytes,
        rotate_daily=config.audit_rotate_daily,
    )

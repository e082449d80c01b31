"""How long ``stakegate screen`` takes on a closed ownership ring, in both ``--data-faults`` modes.

    .venv/bin/python bench/bench_faults.py --sizes 10000,100000,1000000

A closed ring (``r{i}`` owns 100% of ``r{i+1}``, the last owns the first; nobody outside owns
any of it) is one data fault as big as the register. For each size and mode this runs
``stakegate screen --registry RING --data-faults MODE --format jsonl --out FILE`` as a subprocess,
the engine starting its own OPA, and prints:

* ``error``: the wall time to the exit-2 message, and the message's size;
* ``review``: the wall time to the last decision (every member gets review), and the longest
  decision line;
* the peak resident memory of the stakegate process and of its OPA, each the last ``VmHWM``
  read from ``/proc`` (polled every 0.2 s while they run; Linux only).

Both used to grow with the square of the ring (a 100k ring took over 300 s in error mode, 3k
over 200 s in review). ``--restricted-member`` makes one member CN: the ring is then no fault,
every member is wholly restricted, and the look-through solve and evidence do the work.
Registers are cached in ``--workdir``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

STAKEGATE = Path(sys.executable).with_name("stakegate")


def write_ring(n: int, path: Path, restricted_member: bool) -> None:
    """The ring as a native JSON registry, written as a stream (a 1M ring is ~110 MB)."""
    with path.open("w") as out:
        out.write('{"entities":[')
        for i in range(n):
            code = "CN" if restricted_member and i == n // 2 else "SG"
            sep = "," if i else ""
            out.write(f'{sep}{{"id":"r{i}","type":"company","jurisdiction":"{code}"}}')
        out.write('],"ownership":[')
        for i in range(n):
            sep = "," if i else ""
            out.write(f'{sep}{{"owner":"r{i}","owned":"r{(i + 1) % n}","percent":100}}')
        out.write("]}")


def _ring(n: int, workdir: Path, restricted_member: bool) -> Path:
    path = workdir / f"ring-{n}{'-cn' if restricted_member else ''}.json"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_ring(n, partial, restricted_member)
        partial.rename(path)
    return path


class PeakMemory:
    """Polls ``VmHWM`` of a process and of its children (OPA) until it exits."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.own = 0
        self.children: dict[int, int] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while Path(f"/proc/{self.pid}").exists():
            self.own = max(self.own, _hwm(self.pid))
            for child in _children(self.pid):
                self.children[child] = max(self.children.get(child, 0), _hwm(child))
            time.sleep(0.2)

    def join(self) -> None:
        self._thread.join()


def _hwm(pid: int) -> int:
    """Peak resident memory in KiB (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def run(n: int, mode: str, workdir: Path, restricted_member: bool) -> None:
    registry = _ring(n, workdir, restricted_member)
    out = workdir / f"decisions-ring-{n}-{mode}.jsonl"
    out.unlink(missing_ok=True)
    err_path = workdir / f"stderr-ring-{n}-{mode}.txt"
    started = time.perf_counter()
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [str(STAKEGATE), "screen", "--registry", str(registry), "--data-faults", mode,
             "--format", "jsonl", "--out", str(out)],
            stdin=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
        memory = PeakMemory(proc.pid)
        code = proc.wait()
    wall = time.perf_counter() - started
    memory.join()
    stderr = err_path.read_text()
    opa = max(memory.children.values(), default=0)
    shape = "ring+CN" if restricted_member else "ring"
    head = (
        f"{shape} n={n:>9,} {mode:<6} exit={code} time={wall:8.1f}s "
        f"stakegate_peak={memory.own / 1024:,.0f}MiB opa_peak={opa / 1024:,.0f}MiB"
    )
    if code == 2:
        print(f"{head} message={len(stderr.encode()):,}B", flush=True)
        return
    if code != 0:
        sys.exit(f"{head}: stakegate screen failed:\n{stderr[-2000:]}")
    decided = longest = 0
    counts: dict[str, int] = {}
    with out.open() as handle:
        for line in handle:
            decided += 1
            longest = max(longest, len(line))
            outcome = json.loads(line)["decision"]
            counts[outcome] = counts.get(outcome, 0) + 1
    assert decided == n, f"{decided} decisions for {n} entities"
    shown = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
    print(f"{head} longest_decision={longest:,}B ({shown})", flush=True)
    out.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated ring sizes")
    parser.add_argument("--modes", default="error,review", help="--data-faults modes to run")
    parser.add_argument("--workdir", type=Path, default=Path("build/bench"))
    parser.add_argument(
        "--restricted-member", action="store_true", help="make one member CN (no fault)"
    )
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        sys.exit("bench_faults.py reads peak memory from /proc: Linux only")
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    for n in sorted(int(s) for s in args.sizes.split(",")):
        for mode in args.modes.split(","):
            run(n, mode, args.workdir, args.restricted_member)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long ``stakegate screen`` takes end to end on synthetic registers, and how much memory.

    .venv/bin/python bench/bench_screen.py --sizes 10000,100000,1000000

For each size: writes a synthetic register (``generate.py``: power-law owners, holding chains,
~1% cross-holdings, 3% restricted, 10% banded shares, ~2 edges per entity) as JSON, then runs
``stakegate screen --registry FILE --format jsonl --out FILE`` as a subprocess with the engine
starting its own OPA, and prints the wall time, the peak resident memory of the stakegate process
(``ru_maxrss`` of the waited-for child; OPA, a grandchild, is not included) and decisions per
second. The targets: one million entities in under two minutes, and 100k -> 1M no worse than
linear x1.3. Registers are cached in ``--workdir`` (generating 1M takes about 25 s).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate, write_registry  # noqa: E402

STAKEGATE = Path(sys.executable).with_name("stakegate")


def _register(n: int, seed: int, workdir: Path) -> Path:
    path = workdir / f"register-{n}-{seed}.json"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_registry(generate(n, seed), partial)
        partial.rename(path)
    return path


def run(n: int, seed: int, workdir: Path, batch_size: int | None) -> float:
    registry = _register(n, seed, workdir)
    out = workdir / f"decisions-{n}.jsonl"
    env = dict(os.environ)
    if batch_size:
        env["STAKEGATE_BATCH_SIZE"] = str(batch_size)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(STAKEGATE), "screen", "--registry", str(registry), "--format", "jsonl",
         "--out", str(out)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    stderr = proc.stderr.read() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"stakegate screen failed ({code}) on {n:,} entities:\n{stderr}")
    with out.open() as handle:
        decided = sum(1 for _ in handle)
    assert decided == n, f"{decided} decisions for {n} entities"
    print(
        f"n={n:>9,} screen={wall:7.1f}s peak_rss={usage.ru_maxrss / 1024:,.0f}MiB "
        f"decisions/s={decided / wall:,.0f} ({stderr.strip().splitlines()[-1]})",
        flush=True,
    )
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated entity counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("build/bench"))
    parser.add_argument("--batch-size", type=int, default=0, help="STAKEGATE_BATCH_SIZE")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    walls: dict[int, float] = {}
    for n in sorted(int(s) for s in args.sizes.split(",")):
        walls[n] = run(n, args.seed, args.workdir, args.batch_size or None)
    sizes = sorted(walls)
    for small, big in zip(sizes, sizes[1:], strict=False):
        ratio = (walls[big] / walls[small]) / (big / small)
        print(f"scaling {small:,} -> {big:,}: {ratio:.2f} x linear")
    return 0


if __name__ == "__main__":
    sys.exit(main())

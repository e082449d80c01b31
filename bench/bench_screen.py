"""How long ``stakegate screen`` takes end to end on synthetic registers, and how much memory.

    .venv/bin/python bench/bench_screen.py --sizes 10000,100000,1000000

For each size: writes a synthetic register (``generate.py``: power-law owners, holding chains,
~1% cross-holdings, 3% restricted, 10% banded shares, ~2 edges per entity) as JSON, then runs
``stakegate screen --registry FILE --format jsonl --out FILE`` as a subprocess with the engine
starting its own OPA, and prints the wall time, the peak resident memory of the stakegate process
(``ru_maxrss`` of the waited-for child; OPA, a grandchild, is not included) and decisions per
second. The targets: one million entities in under two minutes, and 100k -> 1M no worse than
linear x1.3. Registers are cached in ``--workdir`` (generating 1M takes about 25 s).

    .venv/bin/python bench/bench_screen.py --sizes 100000 --designations 0.03 --regimes all

With ``--regimes`` each size is screened twice on the same register (``--designations``: that
share of entities on a sanctions list), without and with ``--regimes`` (as of 2026-11-30, when
every preset is in force), and the ratio is printed; the target for ``all`` is at most 3x.
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


def _register(n: int, seed: int, workdir: Path, designations: float = 0.0) -> Path:
    suffix = f"-d{designations:g}" if designations else ""
    path = workdir / f"register-{n}-{seed}{suffix}.json"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_registry(generate(n, seed, designations=designations), partial)
        partial.rename(path)
    return path


def run(
    n: int,
    seed: int,
    workdir: Path,
    batch_size: int | None,
    designations: float = 0.0,
    regimes: str | None = None,
    as_of: str | None = None,
) -> float:
    registry = _register(n, seed, workdir, designations)
    out = workdir / f"decisions-{n}.jsonl"
    env = dict(os.environ)
    if batch_size:
        env["STAKEGATE_BATCH_SIZE"] = str(batch_size)
    extra = (["--regimes", regimes] if regimes else []) + (["--as-of", as_of] if as_of else [])
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(STAKEGATE), "screen", "--registry", str(registry), "--format", "jsonl",
         "--out", str(out), *extra],
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
    label = f" regimes={regimes}" if regimes else ""
    print(
        f"n={n:>9,}{label} screen={wall:7.1f}s peak_rss={usage.ru_maxrss / 1024:,.0f}MiB "
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
    parser.add_argument("--designations", type=float, default=0.0, help="share on a list")
    parser.add_argument("--regimes", default=None, help="also screen with --regimes (e.g. all)")
    parser.add_argument("--as-of", default="2026-11-30", help="decision date of every run")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    walls: dict[int, float] = {}
    for n in sorted(int(s) for s in args.sizes.split(",")):
        common = (n, args.seed, args.workdir, args.batch_size or None, args.designations)
        walls[n] = run(*common, as_of=args.as_of)
        if args.regimes:
            side = run(*common, regimes=args.regimes, as_of=args.as_of)
            print(f"regimes {args.regimes} / single regime at {n:,}: {side / walls[n]:.2f} x")
    sizes = sorted(walls)
    for small, big in zip(sizes, sizes[1:], strict=False):
        ratio = (walls[big] / walls[small]) / (big / small)
        print(f"scaling {small:,} -> {big:,}: {ratio:.2f} x linear")
    return 0


if __name__ == "__main__":
    sys.exit(main())

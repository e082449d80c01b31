"""Latency and throughput of ``stakegate serve`` against a bare OPA query, in the same run.

    .venv/bin/python bench/bench_service.py [--entities 20000] [--rate 200] [--seconds 60]

Starts one OPA on the shipped policy and one ``stakegate serve --opa-url`` on loopback, with
the audit log on and a signed checkpoint per group commit (``--audit-key``, a throwaway key made
for the run: ``--key-type ed25519`` by default, ``rsa`` for RSA-2048, ``none`` for unsigned
checkpoints), so every answer waits for its line's fsync and its checkpoint's fdatasync; then:

1. single-entity decisions, open loop at ``--rate`` requests/s for ``--seconds``: p50, p99, max
   and errors, for stakegate and for the same policy queried on OPA's REST API directly (the
   same facts document stakegate would send), and the ratio of the two p50s;
2. batch form: ``--batch`` entities per request, ``--clients`` concurrent, for
   ``--batch-seconds``: decisions/s, beside OPA's own throughput on the same entities, both
   one by one (``main.decisions``, whole facts) and in the batch form the service sends
   (``batch.decisions``, docs/ARCHITECTURE.md "Batch form").

The load generator is a minimal keep-alive HTTP/1.1 client on asyncio, so the numbers include
little client overhead. The load average is printed before and after, because the machine is
shared (2 cores: OPA, stakegate and this generator compete for them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from stakegate import settings
from stakegate.policy.runtime import LocalOpa, free_port
from stakegate.service.config import ServiceConfig
from stakegate.service.snapshot import Snapshot, build_snapshot

REPO = Path(__file__).resolve().parents[1]


class Connection:
    """One keep-alive HTTP/1.1 connection; ``post`` returns status and body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
        if "content-length" in headers:
            return status, await self.reader.readexactly(int(headers["content-length"]))
        chunks = []
        while True:  # chunked transfer encoding
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            data = await self.reader.readexactly(size + 2)
            if size == 0:
                return status, b"".join(chunks)
            chunks.append(data[:-2])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def open_loop(
    port: int, path: str, bodies: list[bytes], rate: float, seconds: float
) -> tuple[list[float], dict[str, int]]:
    """Send at a fixed rate regardless of answers; latency of each, and errors by kind."""
    idle: list[Connection] = [await Connection.open(port) for _ in range(8)]
    latencies: list[float] = []
    errors: dict[str, int] = {}

    async def one(body: bytes) -> None:
        started = time.perf_counter()
        for attempt in (0, 1):
            reused = bool(idle) and attempt == 0
            conn = idle.pop() if reused else await Connection.open(port)
            try:
                status, _ = await conn.post(path, body)
            except (OSError, asyncio.IncompleteReadError, ValueError) as err:
                if reused:  # the server closed an idle keep-alive connection: reconnect
                    continue
                errors[type(err).__name__] = errors.get(type(err).__name__, 0) + 1
                return
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1
            idle.append(conn)
            return

    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(bodies[i % len(bodies)])))
    await asyncio.gather(*tasks)
    return latencies, errors


async def closed_loop(
    port: int, path: str, bodies: list[bytes], per_body: int, clients: int, seconds: float
) -> tuple[float, int]:
    """``clients`` back-to-back senders for ``seconds``: decisions/s and errors."""
    done = errors = 0
    deadline = time.perf_counter() + seconds

    async def client(k: int) -> None:
        nonlocal done, errors
        conn = await Connection.open(port)
        i = k
        while time.perf_counter() < deadline:
            status, _ = await conn.post(path, bodies[i % len(bodies)])
            i += clients
            if status == 200:
                done += per_body
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return done / (time.perf_counter() - started), errors


def report(name: str, latencies: list[float], errors: dict[str, int]) -> float:
    p50 = percentile(latencies, 0.50) * 1e3
    print(
        f"{name:<28} n={len(latencies):>6} p50={p50:6.2f}ms "
        f"p99={percentile(latencies, 0.99) * 1e3:6.2f}ms "
        f"max={max(latencies, default=0) * 1e3:7.2f}ms "
        f"errors={sum(errors.values())} {errors or ''}",
        flush=True,
    )
    return p50


def write_registry(n: int, path: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "generate.py"), str(n), str(path)],
        check=True,
        capture_output=True,
    )


def write_key(kind: str, path: Path) -> str:
    """A throwaway checkpoint-signing key for this run (never a real one)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    key = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == "ed25519"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--batch-seconds", type=float, default=20.0)
    parser.add_argument("--no-audit", action="store_true", help="serve without an audit log")
    parser.add_argument("--key-type", choices=["ed25519", "rsa", "none"], default="ed25519")
    args = parser.parse_args(argv)
    print(f"cpus={os.cpu_count()} loadavg_before={os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="stakegate-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        registry = tmp / "registry.json"
        write_registry(args.entities, registry)
        audit_args = [] if args.no_audit else ["--audit-log", str(tmp / "audit.log")]
        if audit_args and args.key_type != "none":
            audit_args += ["--audit-key", write_key(args.key_type, tmp / "audit-key.pem")]
        print(f"audit: {'off' if args.no_audit else 'on'}, checkpoint key: {args.key_type}")
        with LocalOpa(REPO / "policies") as opa:
            snapshot = build_snapshot(ServiceConfig(registry=registry, opa_url=opa.url), 0)
            ids = list(snapshot.facts)
            port = free_port()
            serve = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "stakegate"),
                    "serve",
                    "--registry",
                    str(registry),
                    "--opa-url",
                    opa.url,
                    "--addr",
                    f"127.0.0.1:{port}",
                    *audit_args,
                ],  # fmt: skip
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                _wait_healthy(f"http://127.0.0.1:{port}", serve)
                return asyncio.run(_measure(args, opa.port, port, snapshot, ids))
            finally:
                serve.terminate()
                serve.wait(timeout=30)
                if not args.no_audit:
                    print(f"audit log: {(tmp / 'audit.log').stat().st_size:,} bytes")
                print(f"loadavg_after={os.getloadavg()}")


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 120.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"stakegate serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("stakegate serve did not become healthy")


async def _measure(
    args: argparse.Namespace, opa_port: int, port: int, snapshot: Snapshot, ids: list[str]
) -> int:
    facts = snapshot.facts
    # The input as stakegate opens it: as_of and the view's config digest, so that OPA skips
    # re-validating the config exactly as it does for stakegate's own queries.
    head = snapshot.pipeline.head
    single = [json.dumps({"entity": e}).encode() for e in ids[:5000]]
    bare = [head + b',"entities":[' + facts[e].body + b"]}}" for e in ids[:5000]]
    decisions = "/v1/data/stakegate/main/decisions"
    # Warm both paths (connections, OPA's caches) before measuring.
    await open_loop(port, "/v1/decisions", single, args.rate, 2)
    await open_loop(opa_port, decisions, bare, args.rate, 2)
    print(f"single-entity, open loop {args.rate:g} req/s for {args.seconds:g}s each:")
    sg = report("stakegate POST /v1/decisions", *await open_loop(
        port, "/v1/decisions", single, args.rate, args.seconds))  # fmt: skip
    opa = report("bare OPA REST query", *await open_loop(
        opa_port, decisions, bare, args.rate, args.seconds))  # fmt: skip
    print(f"p50 ratio stakegate / bare OPA = {sg / opa:.2f}x", flush=True)
    n = args.batch
    batches = [
        json.dumps({"entities": ids[i : i + n]}).encode() for i in range(0, len(ids) - n + 1, n)
    ]
    rate, errors = await closed_loop(
        port, "/v1/decisions", batches, n, args.clients, args.batch_seconds
    )
    print(f"batch form: {n} entities/request, {args.clients} clients: {rate:,.0f} decisions/s "
          f"errors={errors}", flush=True)  # fmt: skip
    chunk = settings.SERVICE_OPA_CHUNK  # what the service sends OPA per query
    opa_batches = [
        head + b',"entities":['
        + b",".join(facts[e].body for e in ids[i : i + chunk]) + b"]}}"
        for i in range(0, len(ids) - chunk + 1, chunk)
    ]  # fmt: skip
    opa_rate, opa_errors = await closed_loop(
        opa_port, decisions, opa_batches, chunk, args.clients, args.batch_seconds
    )
    print(f"bare OPA batches of {chunk}, {args.clients} clients: {opa_rate:,.0f} decisions/s "
          f"errors={opa_errors}", flush=True)  # fmt: skip
    # The same chunks in the batch form the service sends (policy/batch.py).
    form_batches = [
        snapshot.pipeline.query(ids[i : i + chunk], snapshot.encoded).body
        for i in range(0, len(ids) - chunk + 1, chunk)
    ]
    form_rate, form_errors = await closed_loop(
        opa_port, "/v1/data/stakegate/batch/decisions", form_batches, chunk, args.clients,
        args.batch_seconds,
    )  # fmt: skip
    print(f"bare OPA batch form, chunks of {chunk}, {args.clients} clients: {form_rate:,.0f} "
          f"decisions/s errors={form_errors}", flush=True)  # fmt: skip
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    commits = _metric(metrics, "stakegate_audit_fsyncs_total")
    if commits:
        seconds = _metric(metrics, "stakegate_audit_fsync_seconds_total")
        print(f"audit group commits: {commits:,.0f}, mean write+fsync+checkpoint "
              f"{seconds / commits * 1e3:.2f} ms", flush=True)  # fmt: skip
    return 0


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


if __name__ == "__main__":
    raise SystemExit(main())

"""The distributed deployment example of docs/DEPLOYMENT.md, run for real on loopback.

A static bundle server (``python -m http.server``) serves ``bundles/``; two OPA replicas start
with ``deploy/opa-config.yaml`` (ports swapped for free ones), download the signed bundle,
verify its signature and report healthy; ``stakegate check --opa-url`` and the decision service
then get decisions, under the bundle's revision, from either replica. A replica given a
tampered bundle never becomes healthy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient

from stakegate.bundles.trust import Trust
from stakegate.cli.main import cli
from stakegate.opa_binary import find_opa_binary
from stakegate.policy.runtime import free_port
from stakegate.service import ServiceConfig, create_app

from .conftest import REPO
from .service_process import wait_healthy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REGISTRY = REPO / "examples" / "registry.yaml"
BUNDLE = "stakegate-2.0.0.tar.gz"  # the shipped TEST-SIGNED example (deploy/opa-config.yaml)
TRUST = [
    "--policy",
    str(REPO / "bundles" / BUNDLE),
    "--key",
    str(REPO / "tests" / "keys" / "stakegate-test-only.pub.pem"),
    "--require-approval",
    "--reviewer-keys",
    str(REPO / "tests" / "keys" / "reviewers"),
]


@contextmanager
def process(cmd: list[str], log: Path, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def replica_config(tmp: Path, bundle_port: int, name: str) -> Path:
    config = yaml.safe_load((REPO / "deploy" / "opa-config.yaml").read_text())
    config["services"]["bundle-server"]["url"] = f"http://127.0.0.1:{bundle_port}"
    path = tmp / name
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def bundle_server(root: Path, tmp: Path) -> Iterator[int]:
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with process([*cmd, "--directory", str(root)], tmp / "http.log"):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield port


@contextmanager
def replica(config: Path, tmp: Path, name: str) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    port = free_port()
    log = tmp / f"{name}.log"
    cmd = [find_opa_binary(), "run", "--server", "--addr", f"127.0.0.1:{port}", "-c", str(config)]
    with process(cmd, log) as proc:
        yield f"http://127.0.0.1:{port}", proc, log


def test_replicas_pull_the_signed_bundle_and_serve_decisions(tmp_path: Path):
    with bundle_server(REPO, tmp_path) as port:
        config = replica_config(tmp_path, port, "opa-config.yaml")
        with replica(config, tmp_path, "opa-1") as one, replica(config, tmp_path, "opa-2") as two:
            for url, proc, log in (one, two):
                wait_healthy(f"{url}/health?bundles", proc, log)
            for url, _, _ in (one, two):
                args = ["check", "lotus-sg", "--registry", str(REGISTRY), "--opa-url", url]
                result = CliRunner().invoke(cli, args)
                assert result.exit_code == 0, result.output
                decision = json.loads(result.stdout)
                assert decision["decision"] == "deny"
                assert decision["policy"]["revision"].startswith("2.0.0+")
                # Approval required: the replica must report the approved bundle's revision.
                result = CliRunner().invoke(cli, [*args, *TRUST])
                assert result.exit_code == 0, result.output
                assert json.loads(result.stdout)["policy"] == decision["policy"]
            trust = Trust(
                public_key=Path(TRUST[3]), require_approval=True, reviewer_keys=Path(TRUST[6])
            )
            service = ServiceConfig(
                registry=REGISTRY, opa_url=one[0], policy=Path(TRUST[1]), trust=trust
            )
            with TestClient(create_app(service)) as client:
                body = client.post("/v1/decisions", json={"entity": "lotus-sg"}).json()
                assert body["policy"]["revision"].startswith("2.0.0+")
                assert client.get("/health").status_code == 200


def test_a_tampered_bundle_is_refused(tmp_path: Path):
    unpacked, root = tmp_path / "unpacked", tmp_path / "www"
    unpacked.mkdir()
    (root / "bundles").mkdir(parents=True)
    subprocess.run(["tar", "-xzf", str(REPO / "bundles" / BUNDLE), "-C", str(unpacked)], check=True)
    data = json.loads((unpacked / "data.json").read_text())
    data["stakegate"]["config"]["ownership_threshold"] = 99  # signature left as it was
    (unpacked / "data.json").write_text(json.dumps(data))
    members = sorted(p.name for p in unpacked.iterdir())
    tarball = root / "bundles" / BUNDLE
    subprocess.run(["tar", "-czf", str(tarball), "-C", str(unpacked), *members], check=True)
    with bundle_server(root, tmp_path) as port:
        config = replica_config(tmp_path, port, "opa-config.yaml")
        with replica(config, tmp_path, "opa-bad") as (url, _proc, log):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and "Bundle load failed" not in log.read_text():
                time.sleep(0.1)
            assert "digest mismatch" in log.read_text()
            assert httpx.get(f"{url}/health?bundles", timeout=2).status_code != 200

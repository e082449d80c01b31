"""The ``stakegate`` CLI end to end against a real OPA: formats, exit codes, fail-closed paths."""

from __future__ import annotations

import csv
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from stakegate.cli.main import cli
from stakegate.policy.pipeline import today
from stakegate.policy.runtime import LocalOpa, free_port

from .conftest import FIXTURES, POLICIES

pytestmark = pytest.mark.integration

SMALL = FIXTURES / "cli" / "small.yaml"
EXPECTED = {
    "cn-parent": "deny",
    "sg-sub": "deny",
    "uk-half": "allow",
    "de-clean": "allow",
    "band-co": "review",
}
BAD_REGISTRIES = sorted((FIXTURES / "registries" / "bad").iterdir())


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_check_json_with_engine_started_opa():
    result = run("check", "sg-sub", "--registry", str(SMALL))
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["entity"] == "sg-sub"
    assert decision["decision"] == "deny"
    assert decision["ownership"]["control"] == {"min": 60.0, "max": 60.0}
    assert decision["ownership"]["look_through"] == {"min": 60.0, "max": 60.0}
    reason = decision["reasons"][0]
    assert reason["code"] == "restricted_ownership"
    assert reason["method"] == "control"
    assert reason["paths"] == [["cn-parent", "sg-sub"]]
    assert decision["policy"]["method"] == "control"
    assert decision["policy"]["threshold"] == 50
    assert decision["policy"]["revision"].startswith("sha256:")


def test_check_text(opa_server: LocalOpa):
    result = run(
        "check",
        "band-co",
        "--registry",
        str(SMALL),
        "--opa-url",
        opa_server.url,
        "--format",
        "text",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("band-co: REVIEW")
    assert "possible_restricted_ownership" in result.stdout


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_screen_formats(opa_server: LocalOpa, fmt: str, tmp_path: Path):
    out = tmp_path / f"out.{fmt}"
    result = run(
        "screen",
        "--registry",
        str(SMALL),
        "--opa-url",
        opa_server.url,
        "--format",
        fmt,
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    if fmt == "jsonl":
        got = {d["entity"]: d["decision"] for d in map(json.loads, text.splitlines())}
    else:
        lines = text.splitlines()
        if fmt == "csv":
            rows = list(csv.DictReader(lines))
            got = {row["entity"]: row["decision"] for row in rows}
            names = {row["entity"]: row["name"] for row in rows}
            assert names["sg-sub"] == "Sub Pte Ltd (fictional)" and names["uk-half"] == ""
            assert {row["as_of"] for row in rows} == {today().isoformat()}
        else:
            assert lines[0].split()[:3] == ["ENTITY", "NAME", "DECISION"]
            assert "Parent Co (fictional)" in lines[1]
            got = {}
            start = lines[0].index("DECISION")
            for line in lines[1:]:
                got[line.split()[0]] = line[start:].split()[0]
    assert got == EXPECTED
    assert list(got) == list(EXPECTED)  # file order
    assert "screened 5 entities: allow 2, deny 2, review 1" in result.stderr


def test_screen_stdout_jsonl_has_no_progress_when_piped(opa_server: LocalOpa):
    result = run("screen", "--registry", str(SMALL), "--opa-url", opa_server.url)
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == len(EXPECTED)
    assert "screening" not in result.stderr


def test_screen_shows_progress_bar_on_a_terminal(opa_server: LocalOpa):
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stakegate.cli",
            "screen",
            "--registry",
            str(SMALL),
            "--opa-url",
            opa_server.url,
        ],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
    )
    os.close(slave)
    stdout, _ = proc.communicate(timeout=120)
    seen = b""
    while select.select([master], [], [], 0.2)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.returncode == 0
    assert b"screening" in seen
    assert len(stdout.splitlines()) == len(EXPECTED)


@pytest.mark.parametrize("bad", BAD_REGISTRIES, ids=lambda p: p.stem)
def test_bad_registry_exits_2_and_writes_nothing(bad: Path, tmp_path: Path):
    out = tmp_path / "decisions.jsonl"
    result = run("screen", "--registry", str(bad), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert bad.name in result.stderr
    assert result.stderr.startswith("stakegate: error: ")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_closed_cycle_exits_2_naming_the_members(opa_server: LocalOpa, tmp_path: Path):
    out = tmp_path / "decisions.jsonl"
    result = run(
        "screen",
        "--registry",
        str(FIXTURES / "cli" / "closed_cycle.yaml"),
        "--opa-url",
        opa_server.url,
        "--out",
        str(out),
    )
    assert result.exit_code == 2
    assert "closed ownership cycle" in result.stderr
    assert "a" in result.stderr and "b" in result.stderr
    assert not out.exists()


def test_unknown_entity_exits_2():
    result = run("check", "nobody", "--registry", str(SMALL))
    assert result.exit_code == 2
    assert "'nobody' is not in the registry" in result.stderr


def test_unreachable_opa_exits_1_and_keeps_existing_out(tmp_path: Path):
    out = tmp_path / "decisions.jsonl"
    out.write_text("previous run\n")
    result = run(
        "screen",
        "--registry",
        str(SMALL),
        "--opa-url",
        f"http://127.0.0.1:{free_port()}",
        "--out",
        str(out),
    )
    assert result.exit_code == 1
    assert "did not answer" in result.stderr
    assert out.read_text() == "previous run\n"


def test_policy_without_stakegate_rules_exits_1(tmp_path: Path):
    empty = tmp_path / "empty-policy"
    (empty / "other").mkdir(parents=True)
    (empty / "other" / "other.rego").write_text("package other\n\nx := 1\n")
    result = run("check", "sg-sub", "--registry", str(SMALL), "--policy", str(empty))
    assert result.exit_code == 1
    assert "undefined" in result.stderr


def test_policy_that_does_not_compile_exits_1(tmp_path: Path):
    broken = tmp_path / "broken"
    (broken / "stakegate").mkdir(parents=True)
    (broken / "stakegate" / "x.rego").write_text("package stakegate.x\n\nthis is not rego\n")
    result = run("check", "sg-sub", "--registry", str(SMALL), "--policy", str(broken))
    assert result.exit_code == 1
    assert "OPA exited" in result.stderr


def _big_registry(path: Path, n: int) -> None:
    entities = [{"id": "root", "type": "company", "jurisdiction": "CN"}]
    entities += [{"id": f"e{i}", "type": "company", "jurisdiction": "SG"} for i in range(n)]
    ownership = [{"owner": "root", "owned": f"e{i}", "percent": 51} for i in range(n)]
    path.write_text(json.dumps({"entities": entities, "ownership": ownership}))


def _stop_opa_during_screen(tmp_path: Path, out: Path | None) -> subprocess.CompletedProcess[str]:
    """Screen 2,000 entities one per query against an OPA that is terminated mid-run."""
    registry = tmp_path / "big.json"
    _big_registry(registry, 2000)
    server = LocalOpa(POLICIES)
    server.start()
    try:
        args = [
            sys.executable,
            "-m",
            "stakegate.cli",
            "screen",
            "--registry",
            str(registry),
            "--opa-url",
            server.url,
        ]
        if out is not None:
            args += ["--out", str(out)]
        env = dict(os.environ, STAKEGATE_BATCH_SIZE="1", PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert proc.stdout is not None
        if out is None:
            first = proc.stdout.readline()  # one verified decision is out: OPA is mid-run
            assert json.loads(first)["entity"] == "root"
        else:
            deadline = time.monotonic() + 60
            while not any(".partial-" in p.name for p in tmp_path.iterdir()):
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "screen never started writing"
                time.sleep(0.01)
        server.stop()
        stdout, stderr = proc.communicate(timeout=120)
        return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)
    finally:
        server.stop()


def test_stopping_opa_mid_run_exits_1_not_allow(tmp_path: Path):
    result = _stop_opa_during_screen(tmp_path, out=None)
    assert result.returncode == 1
    assert "stakegate: error:" in result.stderr
    assert "did not answer" in result.stderr
    decided = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(decided) < 2001
    assert all(d["decision"] == "deny" for d in decided)  # nothing after the failure


def test_stopping_opa_mid_run_leaves_no_out_file(tmp_path: Path):
    out = tmp_path / "decisions.jsonl"
    result = _stop_opa_during_screen(tmp_path, out=out)
    assert result.returncode == 1
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_example_registry_screens():
    example = Path(__file__).resolve().parents[1] / "examples" / "registry.yaml"
    doc = yaml.safe_load(example.read_text())
    result = run("screen", "--registry", str(example), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(doc["entities"])


def test_screen_reads_bods_directly_with_registry_format(opa_server: LocalOpa):
    source = FIXTURES / "bods" / "v0.4-bods-package-fi-soe.json"
    result = run(
        "screen",
        "--registry-format",
        "bods",
        "--registry",
        str(source),
        "--opa-url",
        opa_server.url,
    )
    assert result.exit_code == 0, result.output
    decided = {d["entity"]: d["decision"] for d in map(json.loads, result.stdout.splitlines())}
    assert len(decided) == 4
    assert set(decided.values()) == {"allow"}  # FI is not a restricted region
    assert result.stderr.startswith("imported 4 entities, 4 ownership records")


def test_screen_reads_several_gleif_files(opa_server: LocalOpa):
    files = ["lei-data.xml", "rr-data.xml", "repex-data.xml"]
    args = [arg for name in files for arg in ("-i", str(FIXTURES / "gleif" / name))]
    result = run("screen", "--registry-format", "gleif", *args, "--opa-url", opa_server.url)
    assert result.exit_code == 0, result.output
    decided = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(decided) == 16
    # The three LEIs named only by relationships have no known jurisdiction: review.
    unknown = [d for d in decided if "unknown_jurisdiction" in _reason_codes(d)]
    assert len(unknown) == 3
    assert {d["decision"] for d in unknown} == {"review"}


def _reason_codes(decision: dict) -> list[str]:
    return [reason["code"] for reason in decision["reasons"]]


def test_a_native_registry_is_one_file():
    result = run("check", "sg-sub", "-i", str(SMALL), "-i", str(SMALL))
    assert result.exit_code == 2
    assert "give --registry once" in result.stderr

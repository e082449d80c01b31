"""How the installed ``stakegate`` ends: whole output, the right status, and plain errors.

``check`` and ``screen`` end with ``os._exit`` once their output is flushed (``exit_when_done``),
so these run the real command in a process of its own: nothing buffered may be lost, and a
standard output that cannot be written (a reader gone, a full disk) is a one-line error with
exit 2, never an internal error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stakegate.cli.main import cli
from stakegate.policy.runtime import LocalOpa

from .conftest import FIXTURES

pytestmark = pytest.mark.integration

STAKEGATE = str(Path(sys.executable).parent / "stakegate")
SMALL = str(FIXTURES / "cli" / "small.yaml")
# Buffered streams, as a user's shell has them: unbuffered, nothing would be left to lose.
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def _run(args: list[str], stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [STAKEGATE, *args], stdout=stdout, stderr=subprocess.PIPE, timeout=120, env=BUFFERED
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "text"])
def test_screen_to_a_pipe_writes_what_the_library_writes(opa_server: LocalOpa, fmt: str):
    args = ["screen", "--registry", SMALL, "--opa-url", opa_server.url, "--format", fmt]
    done = _run(args)
    assert done.returncode == 0, done.stderr
    in_process = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert in_process.exit_code == 0
    assert done.stdout.decode() == in_process.stdout
    assert done.stdout.endswith(b"\n")


def test_check_json_to_a_pipe_is_whole(opa_server: LocalOpa):
    done = _run(["check", "sg-sub", "--registry", SMALL, "--opa-url", opa_server.url])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["decision"] == "deny"


def _closed_pipe() -> int:
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize(
    "args",
    [
        ["screen", "--registry", SMALL, "--format", "csv"],
        ["check", "sg-sub", "--registry", SMALL, "--format", "json"],
        ["check", "sg-sub", "--registry", SMALL, "--format", "text"],
    ],
)
def test_a_reader_gone_is_a_plain_error(opa_server: LocalOpa, args: list[str]):
    write = _closed_pipe()
    try:
        done = _run([*args, "--opa-url", opa_server.url], stdout=write)
    finally:
        os.close(write)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "stakegate: error: standard output: cannot write: Broken pipe"
    ]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_behind_standard_output_is_a_plain_error(opa_server: LocalOpa):
    with open("/dev/full", "wb") as full:
        done = _run(
            ["screen", "--registry", SMALL, "--opa-url", opa_server.url], stdout=full.fileno()
        )
    assert done.returncode == 2
    assert b"standard output: cannot write: No space left on device" in done.stderr
    assert b"internal error" not in done.stderr


def test_a_refused_registry_still_exits_2(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities: [{id: a, type: company}, {id: a, type: company}]\n")
    done = _run(["screen", "--registry", str(bad)])
    assert done.returncode == 2
    assert b"duplicate id" in done.stderr and b"Traceback" not in done.stderr


# A command that keeps an object, leaves text in the buffer and exits with a status: the
# status and the text must both come through os._exit.
_KEEPER = """
import sys
import click
from stakegate.cli.common import exit_when_done, keep_until_exit

@click.command()
@click.argument("code")
def keeper(code):
    keep_until_exit(object())
    sys.stdout.write("buffered, no newline")
    sys.exit(int(code) if code.isdigit() else code)

exit_when_done(lambda: keeper())
"""


@pytest.mark.parametrize(("code", "status"), [("0", 0), ("3", 3), ("why", 1)])
def test_a_kept_command_ends_with_its_status_and_its_output(code: str, status: int):
    done = subprocess.run(
        [sys.executable, "-c", _KEEPER, code],
        capture_output=True,
        timeout=60,
        check=False,
        env=BUFFERED,
    )
    assert done.returncode == status
    assert done.stdout == b"buffered, no newline"
    assert done.stderr == (b"why\n" if code == "why" else b"")

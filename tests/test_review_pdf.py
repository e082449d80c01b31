"""PDF reports: printed by a real headless Chromium, bounded in time, never left running.

The page that hangs (a script that never returns) stands for any rendering that does not
finish. Chromium's processes are found by the temporary directory they run in (their
``--user-data-dir`` and crash database), which each test points at its own ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from stakegate import settings
from stakegate.cli.main import cli
from stakegate.errors import ReportError
from stakegate.review.pdf import html_to_pdf

HANGS = "<!DOCTYPE html><html><body><p>never done</p><script>while (true) {}</script></body></html>"


def _decision(entity: str, outcome: str, name: str) -> str:
    reasons = [
        {
            "code": "restricted_jurisdiction",
            "severity": "deny",
            "field": "jurisdiction",
            "value": "CN",
            "region": "CN",
        }
    ]
    doc = {
        "entity": entity,
        "name": name,
        "decision": outcome,
        "reasons": reasons if outcome == "deny" else [],
        "ownership": {"control": {"min": 0, "max": 0}, "look_through": {"min": 0, "max": 0}},
        "policy": {"revision": "r1", "method": "control", "threshold": 50, "comparison": ">"},
    }
    return json.dumps(doc) + "\n"


def _processes(marker: str) -> list[int]:
    """Processes whose command line mentions ``marker`` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _wait_until(condition, deadline_s: float) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _screenings(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text(
        _decision("amber-hk", "allow", "Amber Harbour Ltd") + _decision("b", "allow", "B")
    )
    new.write_text(
        _decision("amber-hk", "deny", "Amber Harbour Ltd") + _decision("b", "allow", "B")
    )
    return old, new


@pytest.mark.slow
def test_changes_as_pdf(tmp_path: Path):
    old, new = _screenings(tmp_path)
    result = CliRunner().invoke(
        cli, ["changes", str(old), str(new), "--format", "pdf", "-o", str(tmp_path / "c.pdf")]
    )
    assert result.exit_code == 0, result.output
    done = subprocess.run(
        ["pdftotext", str(tmp_path / "c.pdf"), "-"], capture_output=True, text=True, timeout=60
    )
    text = " ".join(done.stdout.split())
    assert "Screening changes: old.jsonl → new.jsonl" in text
    assert "allow → deny 1" in text
    assert "Amber Harbour Ltd (amber-hk): allow → deny" in text
    assert "Incorporated in CN, a restricted region." in text


def test_missing_chromium_is_exit_1_with_the_setup_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(settings, "CHROMIUM", str(tmp_path / "no-chromium"))
    old, new = _screenings(tmp_path)
    out = tmp_path / "c.pdf"
    result = CliRunner().invoke(
        cli, ["changes", str(old), str(new), "--format", "pdf", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert (
        "headless Chromium not found" in result.stderr and settings.SETUP_COMMAND in result.stderr
    )
    assert not out.exists()


@pytest.mark.slow
def test_a_rendering_that_does_not_finish_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    try:
        with pytest.raises(ReportError, match="did not print the PDF within 3s"):
            html_to_pdf(HANGS, timeout=3)
        assert _wait_until(lambda: not _processes(str(tmp_path)), 30), "Chromium left running"
    finally:
        _kill(_processes(str(tmp_path)))


@pytest.mark.slow
def test_a_killed_stakegate_leaves_no_chromium(tmp_path: Path):
    code = f"from stakegate.review.pdf import html_to_pdf\nhtml_to_pdf({HANGS!r}, timeout=300)\n"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        assert _wait_until(lambda: len(_processes(str(tmp_path))) >= 3, 60), "Chromium not started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        left = _wait_until(lambda: not _processes(str(tmp_path)), 30)
        assert left, f"still running after stakegate was killed: {_processes(str(tmp_path))}"
    finally:
        proc.kill()
        proc.wait()
        _kill(_processes(str(tmp_path)))

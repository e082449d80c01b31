"""Settings read from the environment: a value that cannot be read plainly stops every entry
point with a message (exit 2 / ``InputError``), never a traceback and never a silent default.

``STAKEGATE_BATCH_SIZE=abc`` crashed every command at import with a ``ValueError`` traceback;
``0`` made ``screen`` fail inside ``range()``; ``-1`` timeouts were taken as given.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from stakegate import settings
from stakegate.errors import InputError

from .conftest import REPO

STAKEGATE = [sys.executable, "-c", "from stakegate.cli.main import main; main()"]


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STAKEGATE_")}
    clean["PYTHONPATH"] = str(REPO / "engine")
    return subprocess.run(
        [*STAKEGATE, *args], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STAKEGATE_BATCH_SIZE", "abc"),
        ("STAKEGATE_BATCH_SIZE", "0"),
        ("STAKEGATE_BATCH_SIZE", "0x7d0"),
        ("STAKEGATE_REGISTRY_MAX_BYTES", "1e9"),
        ("STAKEGATE_OPA_TIMEOUT", "-1"),
        ("STAKEGATE_OPA_TIMEOUT", "nan"),
        ("STAKEGATE_OPA_TIMEOUT", "inf"),
        ("STAKEGATE_REGO_MIN_COVERAGE", "101"),
    ],
)
def test_an_unreadable_setting_stops_the_cli_with_its_name(variable: str, value: str) -> None:
    done = _run(
        ["screen", "--registry", str(REPO / "examples" / "registry.yaml")], **{variable: value}
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{variable}={value!r}" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_plain_values_are_read() -> None:
    done = _run(["--version"], STAKEGATE_BATCH_SIZE="500", STAKEGATE_OPA_TIMEOUT="2.5")
    assert done.returncode == 0, done.stderr


def test_the_library_refuses_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from stakegate.registry.load import load_registry

    monkeypatch.setattr(settings, "PROBLEMS", ["STAKEGATE_BATCH_SIZE='abc': expected ..."])
    with pytest.raises(InputError, match="STAKEGATE_BATCH_SIZE"):
        load_registry(REPO / "examples" / "registry.yaml")


def test_a_bug_is_one_line_not_a_traceback(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected exception (a bug) reaches the user as one line and exit 1."""
    from click.testing import CliRunner

    from stakegate.cli import main as cli_main

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(cli_main, "load_registry_files", broken)
    result = CliRunner().invoke(
        cli_main.cli, ["screen", "--registry", str(REPO / "examples" / "registry.yaml")]
    )
    assert result.exit_code == 1
    assert "internal error" in result.stderr and "ZeroDivisionError: boom" in result.stderr
    assert "Traceback" not in result.stderr

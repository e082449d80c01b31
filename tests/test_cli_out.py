"""``--out`` that cannot be written: exit 2 naming the path, before any long work; never a
traceback (a missing directory and a directory given as the file were both tracebacks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from stakegate.cli.main import cli
from stakegate.cli.output import atomic_output
from stakegate.errors import InputError
from stakegate.importers import write_registry
from stakegate.policy.runtime import LocalOpa

from .conftest import FIXTURES

SMALL = FIXTURES / "cli" / "small.yaml"
AIMIA = FIXTURES / "bods" / "pre0.3-oo-register-aimia-real.json"
# Nothing listens here: a command that got as far as OPA would fail with exit 1, not 2.
NO_OPA = "http://127.0.0.1:9"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _bad_outs(tmp_path: Path, suffix: str) -> list[tuple[str, str]]:
    existing = tmp_path / f"existing{suffix}"
    existing.mkdir()
    missing = tmp_path / "missing" / f"x{suffix}"
    a_file = tmp_path / "file"
    a_file.write_text("")
    return [
        (str(missing), f"{missing}: the directory {missing.parent} does not exist"),
        (str(existing), f"{existing} is a directory; give the name of a file to write"),
        (str(a_file / f"x{suffix}"), f"{a_file / f'x{suffix}'}: {a_file} is not a directory"),
    ]


def test_screen_out_that_cannot_be_written_exits_2_before_screening(tmp_path: Path):
    for out, message in _bad_outs(tmp_path, ".csv"):
        result = run(
            "screen", "--registry", str(SMALL), "--opa-url", NO_OPA, "--format", "csv", "--out", out
        )
        assert result.exit_code == 2, result.output
        assert result.stderr == f"stakegate: error: --out: {message}\n"


def test_import_out_that_cannot_be_written_exits_2(tmp_path: Path):
    for out, message in _bad_outs(tmp_path, ".yaml"):
        result = run("import", "bods", str(AIMIA), "--out", out)
        assert result.exit_code == 2, result.output
        assert result.stderr == f"stakegate: error: --out: {message}\n"


def test_the_library_writers_name_the_parameter(tmp_path: Path):
    for out, message in _bad_outs(tmp_path, ".json"):
        with pytest.raises(InputError) as caught:
            with atomic_output(out) as handle:
                handle.write("x")
        assert (caught.value.param, caught.value.detail) == ("out", message)
        with pytest.raises(InputError) as caught:
            write_registry({"entities": []}, out)
        assert (caught.value.param, caught.value.detail) == ("out", message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.json", "file"]


def test_a_written_file_is_whole_and_leaves_no_partial(tmp_path: Path):
    out = tmp_path / "x.json"
    write_registry({"entities": [{"id": "0123", "type": "company"}]}, out)
    assert (
        out.read_text()
        == '{\n "entities": [\n  {\n   "id": "0123",\n   "type": "company"\n  }\n ]\n}\n'
    )
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


@pytest.mark.integration
def test_screen_with_a_real_opa_still_exits_2(opa_server: LocalOpa, tmp_path: Path):
    for out, message in _bad_outs(tmp_path, ".jsonl"):
        result = run("screen", "--registry", str(SMALL), "--opa-url", opa_server.url, "--out", out)
        assert result.exit_code == 2, result.output
        assert result.stderr == f"stakegate: error: --out: {message}\n"

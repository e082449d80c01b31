"""docs/settings.md tells the truth: every setting, the variable that sets it, and its default.

The code is the reference. ``settings.py``'s source says which variable each attribute reads;
a Python process with no ``STAKEGATE_*`` variable says the defaults; a process with every
variable set to another value says that each variable really sets its attribute.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"
SETTINGS_PY = ENGINE / "stakegate" / "settings.py"
DOC = ROOT / "docs" / "settings.md"
HEADER = ("Variable", "Attribute", "Default")

# Prints every public attribute of stakegate.settings as {"type", "value"}, paths as text,
# with the two roots the defaults are relative to.
_DUMP = """
import json, pathlib, stakegate.settings as s
out = {}
for name, value in vars(s).items():
    if name.isupper() and not name.startswith("_"):
        shown = str(value) if isinstance(value, pathlib.PurePath) else value
        out[name] = {"type": type(value).__name__, "value": shown}
print(json.dumps({"settings": out, "repo": str(s._REPO_ROOT), "package": str(s._PACKAGE_DIR)}))
"""


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAKEGATE_")}
    # This tree's engine, whatever the virtual environment's editable install points at.
    env["PYTHONPATH"] = os.pathsep.join([str(ENGINE), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


def _dump(**env: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _DUMP],
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def variables_in_code() -> dict[str, str]:
    """Attribute -> variable, read from the ``_env("NAME", ...)`` and ``_optional_path("NAME")``
    calls in settings.py."""
    found: dict[str, str] = {}
    for node in ast.parse(SETTINGS_PY.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, value = node.target.id, node.value
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            target, value = node.targets[0].id, node.value
        else:
            continue
        if value is None:
            continue
        names = [
            call.args[0].value
            for call in ast.walk(value)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id in ("_env", "_optional_path", "_int", "_float")
            and call.args
            and isinstance(call.args[0], ast.Constant)
        ]
        if names:
            assert len(names) == 1, f"{target} reads {names}"
            found[target] = f"STAKEGATE_{names[0]}"
    return found


def documented(text: str | None = None) -> dict[str, dict[str, str]]:
    """Rows of the settings table: variable -> {"attribute", "default"} (raw cell text)."""
    lines = (DOC.read_text(encoding="utf-8") if text is None else text).splitlines()
    rows: dict[str, dict[str, str]] = {}
    in_table = False
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if tuple(cells[:3]) == HEADER:
            in_table = True
            continue
        if not in_table:
            continue
        if not line.startswith("|"):
            break
        if set(cells[0]) <= {"-", ":"}:
            continue
        variable, attribute = cells[0].strip("`"), cells[1].strip("`")
        assert variable not in rows, f"{variable} documented twice"
        rows[variable] = {"attribute": attribute, "default": cells[2]}
    assert rows, f"no table with columns {HEADER} in {DOC}"
    return rows


def default_matches(cell: str, setting: dict[str, Any], repo: str, package: str) -> bool:
    """Whether a Default cell states ``setting``: ``(none)``, ``(empty)``, or values in
    backticks, several joined by "or" when the default depends on what exists."""
    kind, value = setting["type"], setting["value"]
    if cell.startswith("(none)"):
        return value is None
    if cell.startswith("(empty)"):
        return value == ""
    for token in re.findall(r"`([^`]*)`", cell):
        token = token.replace("<repo>", repo).replace("<package>", package)
        if kind == "bool" and token == str(value).lower():
            return True
        if kind == "int" and re.fullmatch(r"\d+", token) and int(token) == value:
            return True
        if kind == "float" and re.fullmatch(r"[\d.]+", token) and float(token) == value:
            return True
        if kind in ("str", "PosixPath", "WindowsPath") and token == value:
            return True
    return False


@pytest.fixture(scope="module")
def defaults() -> dict[str, Any]:
    return _dump()


def test_every_configurable_setting_is_documented_with_its_variable():
    code = variables_in_code()
    rows = documented()
    assert code, "no _env() calls found in settings.py"
    missing = {v: a for a, v in code.items() if v not in rows}
    assert not missing, f"settings missing from docs/settings.md: {missing}"
    extra = sorted(set(rows) - set(code.values()))
    assert not extra, f"docs/settings.md documents variables settings.py does not read: {extra}"
    wrong = {v: (rows[v]["attribute"], a) for a, v in code.items() if rows[v]["attribute"] != a}
    assert not wrong, f"variable -> (documented attribute, real attribute): {wrong}"


def test_every_other_attribute_is_named(defaults: dict[str, Any]):
    """Constants that no variable sets (SETUP_COMMAND, TESTING) are named too."""
    text = DOC.read_text(encoding="utf-8")
    others = sorted(set(defaults["settings"]) - set(variables_in_code()))
    assert others, "expected at least the constants SETUP_COMMAND and TESTING"
    unnamed = [name for name in others if f"`{name}`" not in text]
    assert not unnamed, f"settings attributes not named in docs/settings.md: {unnamed}"


def test_documented_defaults_are_the_real_defaults(defaults: dict[str, Any]):
    rows = documented()
    real = defaults["settings"]
    wrong = {}
    for variable, row in rows.items():
        attribute = row["attribute"]
        assert attribute in real, f"{attribute}: not an attribute of stakegate.settings"
        if not default_matches(
            row["default"], real[attribute], defaults["repo"], defaults["package"]
        ):
            wrong[variable] = (row["default"], real[attribute]["value"])
    assert not wrong, f"variable -> (documented default, real default): {wrong}"


def _other_value(setting: dict[str, Any], attribute: str, scratch: Path) -> tuple[str, Any]:
    """A valid value unlike the default, as the variable's text and the attribute's value."""
    kind, value = setting["type"], setting["value"]
    if kind == "bool":
        return ("Yes", True) if not value else ("0", False)
    if kind == "int":
        return str(value + 7), value + 7
    if kind == "float":
        return str(value + 0.25), value + 0.25
    if kind in ("PosixPath", "WindowsPath", "NoneType"):
        path = str(scratch / attribute.lower())
        return path, path
    return f"doc-test-{attribute.lower()}", f"doc-test-{attribute.lower()}"


def test_each_variable_sets_its_attribute(defaults: dict[str, Any], tmp_path: Path):
    """Every documented variable at once, each set to a valid value unlike its default."""
    rows = documented()
    expected: dict[str, Any] = {}
    env: dict[str, str] = {}
    for variable, row in rows.items():
        attribute = row["attribute"]
        text, value = _other_value(defaults["settings"][attribute], attribute, tmp_path)
        env[variable], expected[attribute] = text, value
    got = _dump(**env)["settings"]
    wrong = {
        attribute: (env_name, expected[attribute], got[attribute]["value"])
        for env_name, attribute in ((v, r["attribute"]) for v, r in rows.items())
        if got[attribute]["value"] != expected[attribute]
    }
    assert not wrong, f"attribute -> (variable, expected, got): {wrong}"


@pytest.mark.parametrize(
    ("text", "on"),
    [("1", True), ("true", True), ("TRUE", True), ("yes", True), ("on", False), ("0", False)],
)
def test_on_off_spelling_is_as_documented(text: str, on: bool):
    got = _dump(STAKEGATE_LOG_JSON=text, STAKEGATE_REQUIRE_APPROVAL=text)["settings"]
    assert got["LOG_JSON"]["value"] is on
    assert got["REQUIRE_APPROVAL"]["value"] is on


def test_the_checker_catches_an_omission():
    """Deleting a row or changing a default makes the tests above fail."""
    text = DOC.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `STAKEGATE_BATCH_SIZE`"))
    assert "STAKEGATE_BATCH_SIZE" not in documented(text.replace(row + "\n", ""))
    changed = documented(text.replace(row, row.replace("`2000`", "`2001`")))
    setting = {"type": "int", "value": 2000}
    assert not default_matches(changed["STAKEGATE_BATCH_SIZE"]["default"], setting, "", "")

"""docs/cli.md covers the real command line: every command, argument, option, choice, plain
default and environment variable, and every error class with its exit code.

The click command tree of ``stakegate.cli.main:cli`` is the reference, so a new option that is
not documented fails here. Each command has its own section (a heading ``stakegate bundle
build`` in backticks) with one table row per option.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from stakegate import errors, settings
from stakegate.cli.main import cli

from .test_docs_settings import variables_in_code

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cli.md"
_HEADING = re.compile(r"^(#{2,6}) `(stakegate(?: [\w-]+)*)`\s*$")
_VARIABLE = re.compile(r"\b(STAKEGATE_[A-Z_]+[A-Z]|SOURCE_DATE_EPOCH)\b")


def commands(
    command: click.Command = cli, path: str = "stakegate"
) -> Iterator[tuple[str, click.Command]]:
    """Every command and subcommand, with its full name (``stakegate bundle build``)."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from commands(sub, f"{path} {name}")


def sections(text: str) -> dict[str, str]:
    """Command name -> the text of its section, up to the next heading of its level or above."""
    lines = text.splitlines()
    found: dict[str, str] = {}
    heads = [(i, m) for i, line in enumerate(lines) if (m := _HEADING.match(line))]
    all_heads = [i for i, line in enumerate(lines) if re.match(r"^#{1,6} ", line)]
    for i, match in heads:
        level = len(match.group(1))
        end = next(
            (j for j in all_heads if j > i and len(lines[j]) - len(lines[j].lstrip("#")) <= level),
            len(lines),
        )
        found[match.group(2)] = "\n".join(lines[i:end])
    return found


def option_row(section: str, option: click.Option) -> str | None:
    """The table row whose first cell names the option's first long name."""
    name = max(option.opts, key=len)
    pattern = re.compile(rf"`{re.escape(name)}(?![\w-])")
    for line in section.splitlines():
        if line.startswith("|") and pattern.search(line.split("|")[1]):
            return line
    return None


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def _plain_default(option: click.Option) -> Any:
    default = option.default
    if isinstance(default, bool) or not isinstance(default, str | int | float) or default == "":
        return None  # none, a flag, a callable (a setting), or click's "unset"
    return default


def _help_variables(option: click.Option) -> set[str]:
    text = (
        f"{option.help or ''} {option.show_default if isinstance(option.show_default, str) else ''}"
    )
    return set(_VARIABLE.findall(text))


def problems(text: str) -> list[str]:
    """Everything of the command line that ``text`` (docs/cli.md) does not document."""
    found: list[str] = []
    by_command = sections(text)
    for path, command in commands():
        section = by_command.get(path)
        if section is None:
            found.append(f"{path}: no section headed `{path}`")
            continue
        for param in command.params:
            if isinstance(param, click.Argument):
                shown = param.human_readable_name
                if shown not in section:
                    found.append(f"{path}: argument {shown} not in its section")
                if isinstance(param.type, click.Choice):
                    for choice in param.type.choices:
                        if f"`{choice}`" not in section:
                            found.append(f"{path} {shown}: choice {choice!r} not documented")
                continue
            if not isinstance(param, click.Option):
                continue
            row = option_row(section, param)
            if row is None:
                found.append(f"{path}: option {max(param.opts, key=len)} has no row")
                continue
            cells = _cells(row)
            for name in [*param.opts, *param.secondary_opts]:
                if not re.search(rf"`{re.escape(name)}(?![\w-])", cells[0]):
                    found.append(f"{path}: {name} not spelled in its row")
            if isinstance(param.type, click.Choice):
                for choice in param.type.choices:
                    if f"`{choice}`" not in row:
                        found.append(f"{path} {param.opts[-1]}: choice {choice!r} not in its row")
            default = _plain_default(param)
            if default is not None and f"`{default}`" not in cells[1]:
                found.append(f"{path} {param.opts[-1]}: default {default!r} not in its row")
            for variable in _help_variables(param):
                if variable not in cells[2]:
                    found.append(f"{path} {param.opts[-1]}: variable {variable} not in its row")
    return found


def error_classes() -> list[type[errors.EngineError]]:
    found: list[type[errors.EngineError]] = []
    todo: list[type[errors.EngineError]] = [errors.EngineError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__ == errors.__name__]


def test_every_command_and_option_is_documented():
    assert problems(DOC.read_text(encoding="utf-8")) == []


def test_every_error_class_has_its_exit_code_and_status():
    text = DOC.read_text(encoding="utf-8")
    wrong = []
    for cls in error_classes():
        row = re.search(rf"^\| `{cls.__name__}` \| (\d+) \| (\d+) \|", text, re.MULTILINE)
        if row is None:
            wrong.append(f"{cls.__name__}: no row")
        elif (int(row.group(1)), int(row.group(2))) != (cls.exit_code, cls.http_status):
            wrong.append(f"{cls.__name__}: documented {row.groups()}, real {cls.exit_code}, "
                         f"{cls.http_status}")  # fmt: skip
    assert not wrong, wrong
    codes = {cls.exit_code for cls in error_classes()}
    for code in sorted(codes | {0}):
        assert re.search(rf"^\| `{code}` \|", text, re.MULTILINE), f"exit code {code} not listed"


def _settings_attribute(variable: str) -> str | None:
    return {v: a for a, v in variables_in_code().items()}.get(variable)


def _sentinel(attribute: str) -> Any:
    current = getattr(settings, attribute)
    if isinstance(current, bool):
        return not current
    if attribute in ("BUNDLE_PUBLIC_KEY", "REVIEWER_KEYS"):
        return Path("/sentinel/from-the-setting")
    return "sentinel-from-the-setting:1"


@pytest.mark.parametrize(
    ("path", "option"),
    [
        pytest.param(path, param, id=f"{path} {param.opts[-1]}")
        for path, command in commands()
        for param in command.params
        if isinstance(param, click.Option) and callable(param.default)
    ],
)
def test_an_option_that_reads_a_setting_names_its_variable(
    path: str, option: click.Option, monkeypatch: pytest.MonkeyPatch
):
    """The help (or the shown default) names the variable, and that variable's setting really
    is the option's default."""
    variables = {v for v in _help_variables(option) if v.startswith("STAKEGATE_")}
    assert variables, f"{path} {option.opts[-1]}: help names no STAKEGATE_ variable"
    command = dict(commands())[path]
    for variable in variables:
        attribute = _settings_attribute(variable)
        assert attribute, f"{variable}: settings.py reads no such variable"
        sentinel = _sentinel(attribute)
        monkeypatch.setattr(settings, attribute, sentinel)
        default = option.get_default(click.Context(command), call=True)
        assert default == sentinel, f"{path} {option.opts[-1]} does not read {variable}"


def test_the_checker_catches_an_omission():
    """Deleting an option's row, or a command's heading, is reported."""
    text = DOC.read_text(encoding="utf-8")
    check = sections(text)["stakegate check"]
    row = next(line for line in check.splitlines() if line.startswith("| `--data-faults"))
    assert any("--data-faults" in p for p in problems(text.replace(row + "\n", "", 1)))
    heading = "### `stakegate audit seal`"
    assert heading in text
    assert any(
        p.startswith("stakegate audit seal:") for p in problems(text.replace(heading, "### seal"))
    )


def test_the_docs_stay_inside_the_repository():
    for name in ("cli.md", "settings.md"):
        text = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert not re.search(r"(?<!\.)\.\./", text), f"docs/{name} refers outside the repository"

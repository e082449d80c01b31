"""``stakegate changes`` and ``screen --compare-to``: who flipped between two screenings, and why.

The screenings are real ``screen --format jsonl`` runs on two days of one registry
(tests/fixtures/changes/day1.yaml, day2.yaml: one entity loses its CN owner, another gains one).
Bad files must end in exit 2 naming the file and the line; a hypothesis test checks the
comparison against a plain recount on arbitrary pairs of screenings.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stakegate.cli.main import cli
from stakegate.errors import InputError
from stakegate.policy.runtime import LocalOpa
from stakegate.review.changes import screening_changes

from .conftest import FIXTURES, policy_with_config

DAY1 = FIXTURES / "changes" / "day1.yaml"
DAY2 = FIXTURES / "changes" / "day2.yaml"
AS_OF = "2026-11-27"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def screen(registry: Path, out: Path, *extra: str):
    result = run("screen", "-i", str(registry), "--as-of", AS_OF, "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory, opa_server: LocalOpa) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("days")
    screen(DAY1, work / "day1.jsonl", "--opa-url", opa_server.url)
    screen(DAY2, work / "day2.jsonl", "--opa-url", opa_server.url)
    return work / "day1.jsonl", work / "day2.jsonl"


def changes(old: Path, new: Path, *extra: str) -> str:
    result = run("changes", str(old), str(new), *extra)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.integration
def test_one_entity_loses_its_cn_owner_and_another_gains_one(days):
    doc = json.loads(changes(*days))
    assert doc["impact"] == {"allow->deny": 1, "deny->allow": 1}
    found = {e["entity"]: e for e in doc["entities"]}
    assert list(found) == ["lotus-sg", "birch-de"]  # the new file's order
    lotus, birch = found["lotus-sg"], found["birch-de"]
    assert (lotus["before"], lotus["after"], birch["before"], birch["after"]) == (
        "deny",
        "allow",
        "allow",
        "deny",
    )
    assert [(r["code"], r["paths"]) for r in lotus["reasons_before"]] == [
        ("restricted_ownership", [["lantern-cn", "lotus-sg"]])
    ]
    assert lotus["reasons_after"] == [] and birch["reasons_before"] == []
    assert [(r["code"], r["paths"]) for r in birch["reasons_after"]] == [
        ("restricted_ownership", [["lantern-cn", "birch-de"]])
    ]
    # Screenings carry each entity's name, so the sentences name them without a registry.
    assert lotus["sentences_before"] == [
        "60% owned by owners in CN (control method); the policy bars more than 50%. Path: "
        "Red Lantern Holdings (lantern-cn) [CN] 60% → Lotus Trading Pte Ltd (lotus-sg)."
    ]
    assert lotus["sentences_after"] == ["No restriction found."]
    assert doc["summary"] | {"unchanged": None} == {
        "entities_before": 5,
        "entities_after": 5,
        "changed": 2,
        "appeared": 0,
        "disappeared": 0,
        "unchanged": None,
        "reasons_changed": [],
    }
    assert doc["summary"]["unchanged"] == {"allow": 2, "deny": 1}
    assert doc["appeared"] == [] and doc["disappeared"] == []
    assert doc["policy"]["changed"] is False and len(doc["policy"]["before"]) == 1


@pytest.mark.integration
def test_registry_gives_names_and_every_direct_owner(days):
    doc = json.loads(changes(*days, "--registry", str(DAY2)))
    names = {e["entity"]: e["name"] for e in doc["entities"]}
    assert names == {"lotus-sg": "Lotus Trading Pte Ltd", "birch-de": "Birch Maschinen GmbH"}
    birch = doc["entities"][1]
    assert birch["sentences_after"] == [
        "70% owned by owners in CN (control method); the policy bars more than 50%. Path: "
        "Red Lantern Holdings (lantern-cn) [CN] 70% → Birch Maschinen GmbH (birch-de)."
    ]
    html = changes(*days, "--format", "html", "--registry", str(DAY2))
    block = html.split('id="entity-birch-de"', 1)[1].split("</div>", 1)[0]
    assert "<h3>Birch Maschinen GmbH (birch-de): " in block
    assert ">70%</text>" in block and ">30%</text>" in block  # both direct owners
    assert "<title>Fjord Capital ApS (fjord-dk)</title>" in block
    assert "<title>Red Lantern Holdings (lantern-cn), restricted location</title>" in block


@pytest.mark.integration
def test_every_format_shows_the_same_flips(days):
    md = changes(*days, "--format", "md")
    assert "| allow->deny | 1 |\n| deny->allow | 1 |\n" in md
    assert "### Birch Maschinen GmbH (birch-de): allow → deny\n" in md
    assert "### Lotus Trading Pte Ltd (lotus-sg): deny → allow\n" in md
    rows = list(csv.DictReader(io.StringIO(changes(*days, "--format", "csv"))))
    assert [(r["change"], r["entity"], r["before"], r["after"]) for r in rows] == [
        ("changed", "lotus-sg", "deny", "allow"),
        ("changed", "birch-de", "allow", "deny"),
    ]
    assert rows[0]["reasons_after"] == "No restriction found."
    html = changes(*days, "--format", "html")
    assert html.count('<div class="entity"') == 2 and html.count("<svg") == 2


@pytest.mark.integration
def test_screen_compare_to_writes_the_report_beside_its_output(days, opa_server, tmp_path: Path):
    out = tmp_path / "day2.jsonl"
    result = screen(DAY2, out, "--opa-url", opa_server.url, "--compare-to", str(days[0]))
    report = tmp_path / "day2.changes.json"
    assert "2 changed (allow->deny 1, deny->allow 1)" in result.stderr
    doc = json.loads(report.read_text())
    assert doc["impact"] == json.loads(changes(days[0], out))["impact"]
    assert [e["entity"] for e in doc["entities"]] == ["lotus-sg", "birch-de"]


@pytest.mark.parametrize(
    "extra", [["--format", "csv", "-o", "x.csv"], []], ids=["not-jsonl", "stdout"]
)
def test_compare_to_needs_a_jsonl_file_output(extra: list[str], tmp_path: Path):
    old = tmp_path / "old.jsonl"
    old.write_text("")
    result = run("screen", "-i", str(DAY1), "--compare-to", str(old), *extra)
    assert result.exit_code == 2
    assert "--compare-to: needs --format jsonl and --out FILE" in result.stderr


@pytest.mark.integration
def test_different_policy_revisions_are_reported(days, tmp_path: Path):
    strict = policy_with_config(tmp_path, {"ownership_threshold": 65})
    other = tmp_path / "day1-65.jsonl"
    screen(DAY1, other, "--policy", str(strict))
    doc = json.loads(changes(days[0], other))
    assert doc["policy"]["changed"] is True
    assert doc["policy"]["before"] != doc["policy"]["after"]
    assert doc["impact"] == {"deny->allow": 1}
    md = changes(days[0], other, "--format", "md")
    assert "ran under different policy revisions" in md


@pytest.mark.integration
def test_appeared_and_disappeared(days, tmp_path: Path):
    lines = days[1].read_text().splitlines(keepends=True)
    added = json.loads(lines[2]) | {"entity": "newco-sg", "name": "Newco Pte Ltd"}
    changed = tmp_path / "new.jsonl"
    changed.write_text("".join(lines[:4]) + json.dumps(added) + "\n")  # quiet-fr is gone
    doc = json.loads(changes(days[0], changed))
    assert [(e["entity"], e["name"], e["decision"]) for e in doc["appeared"]] == [
        ("newco-sg", "Newco Pte Ltd", "deny")
    ]
    assert [(e["entity"], e["decision"]) for e in doc["disappeared"]] == [("quiet-fr", "allow")]
    assert doc["summary"]["appeared"] == doc["summary"]["disappeared"] == 1


def _decision(entity: str, outcome: str, reasons: list[dict[str, Any]] | None = None) -> str:
    doc = {
        "entity": entity,
        "decision": outcome,
        "reasons": reasons or [],
        "ownership": {"control": {"min": 0, "max": 0}, "look_through": {"min": 0, "max": 0}},
        "policy": {"revision": "r1", "method": "control", "threshold": 50, "comparison": ">"},
    }
    return json.dumps(doc) + "\n"


GOOD = _decision("a", "allow") + _decision("b", "deny") + _decision("c", "review")
BAD_FILES = {
    "not-jsonl": ("entity,decision\na,allow\n", 1, "not JSON"),
    "json-array": ("[" + GOOD.replace("\n", ",")[:-1] + "]\n", 1, "not a decision object"),
    "duplicate": (GOOD + _decision("b", "allow"), 4, "entity 'b' is already on line 2"),
    "truncated": (GOOD[:-20], 3, "no line end: the file is truncated"),
    "no-decision": (
        GOOD.replace('"decision": "deny", ', ""),
        2,
        "decision lacks field 'decision'",
    ),
    "no-entity": (GOOD.replace('"entity": "c", ', ""), 3, "decision lacks field 'entity'"),
    "no-revision": (
        GOOD.replace('{"revision": "r1", ', "{", 1),
        1,
        "decision lacks field 'policy.revision'",
    ),
    "blank-line": (GOOD + "\n", 4, "not JSON"),
}


@pytest.mark.parametrize("side", ["old", "new"])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_screening_files_exit_2_naming_file_and_line(case: str, side: str, tmp_path: Path):
    text, line, words = BAD_FILES[case]
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(GOOD)
    bad.write_text(text)
    old, new = (bad, good) if side == "old" else (good, bad)
    result = run("changes", str(old), str(new))
    assert result.exit_code == 2, result.output
    assert f"stakegate: error: {bad} line {line}: {words}" in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_exits_2(tmp_path: Path):
    (tmp_path / "good.jsonl").write_text(GOOD)
    result = run("changes", str(tmp_path / "good.jsonl"), str(tmp_path / "absent.jsonl"))
    assert result.exit_code == 2
    assert f"{tmp_path / 'absent.jsonl'}: cannot read the screening" in result.stderr


def test_decisions_may_carry_names(tmp_path: Path):
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text(_decision("a", "allow"))
    named = json.loads(_decision("a", "deny", [_LOCATED])) | {"name": "Alpha Co"}
    new.write_text(json.dumps(named) + "\n")
    with screening_changes(old, new) as report:
        entities = list(report.entries("entities"))
    assert [(e["entity"], e["name"]) for e in entities] == [("a", "Alpha Co")]
    assert entities[0]["sentences_after"] == ["Incorporated in CN, a restricted region."]


_LOCATED = {
    "code": "restricted_jurisdiction",
    "severity": "deny",
    "field": "jurisdiction",
    "value": "CN",
    "region": "CN",
}
_OUTCOME = st.sampled_from(["allow", "deny", "review"])
_SIDE = st.dictionaries(
    st.sampled_from([f"e{i}" for i in range(12)]), st.tuples(_OUTCOME, st.booleans()), max_size=12
)


def _write(path: Path, side: dict[str, tuple[str, bool]], seed: int) -> None:
    ids = sorted(side)
    random.Random(seed).shuffle(ids)
    path.write_text(
        "".join(_decision(e, side[e][0], [_LOCATED] if side[e][1] else None) for e in ids)
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(old=_SIDE, new=_SIDE, seed=st.integers(0, 1000))
def test_changes_equal_a_plain_recount(old, new, seed, tmp_path: Path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _write(a, old, seed)
    _write(b, new, seed + 1)
    with screening_changes(a, b) as report:
        doc = report.full()
    common = [e for e in map(lambda line: json.loads(line)["entity"], b.read_text().splitlines())]
    flips = [e for e in common if e in old and old[e][0] != new[e][0]]
    assert [e["entity"] for e in doc["entities"]] == flips
    assert doc["impact"] == dict(
        sorted(Counter(f"{old[e][0]}->{new[e][0]}" for e in flips).items())
    )
    assert {e["entity"] for e in doc["appeared"]} == set(new) - set(old)
    assert {e["entity"] for e in doc["disappeared"]} == set(old) - set(new)
    same = [e for e in common if e in old and old[e][0] == new[e][0]]
    assert doc["summary"]["reasons_changed"] == [e for e in same if old[e][1] != new[e][1]]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(0, len(GOOD) - 1))
def test_a_file_cut_anywhere_is_refused_or_read_to_its_last_whole_line(cut: int, tmp_path: Path):
    whole, part = tmp_path / "whole.jsonl", tmp_path / "part.jsonl"
    whole.write_text(GOOD)
    part.write_text(GOOD[:cut])
    if cut and GOOD[cut - 1] != "\n":
        with pytest.raises(InputError, match=rf"{part} line \d: no line end"):
            with screening_changes(whole, part):
                pass
        return
    with screening_changes(whole, part) as report:
        doc = report.full()
    kept = GOOD[:cut].count("\n")
    assert doc["summary"]["entities_after"] == kept
    assert len(doc["disappeared"]) == 3 - kept and doc["impact"] == {}


def test_a_line_longer_than_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from stakegate.review import changes as module

    monkeypatch.setattr(module, "MAX_LINE", 400)
    good, long = tmp_path / "good.jsonl", tmp_path / "long.jsonl"
    good.write_text(_decision("a", "allow"))
    long.write_text(_decision("a", "allow").replace('"a"', '"' + "a" * 500 + '"'))
    result = run("changes", str(good), str(long))
    assert result.exit_code == 2
    assert f"{long} line 1: line longer than 400 bytes" in result.stderr


def test_hostile_names_are_text_in_html(tmp_path: Path):
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    old.write_text(_decision("a", "allow"))
    new.write_text(
        json.dumps(json.loads(_decision("a", "deny", [_LOCATED])) | {"name": hostile}) + "\n"
    )
    html = changes(old, new, "--format", "html")
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_compare_to_the_output_itself_is_refused(tmp_path: Path):
    out = tmp_path / "day.jsonl"
    out.write_text(_decision("a", "allow"))
    result = run("screen", "-i", str(DAY1), "-o", str(out), "--compare-to", str(out))
    assert result.exit_code == 2
    assert "--compare-to: is the --out file itself" in result.stderr
    assert out.read_text() == _decision("a", "allow")  # nothing screened, nothing replaced


def _with_revision(entity: str, revision: str) -> str:
    return _decision(entity, "allow").replace('"revision": "r1"', f'"revision": "{revision}"')


def test_revisions_are_counted_per_line(tmp_path: Path):
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    revisions = zip("abcd", ["r1", "r1", "r2", "r1"], strict=True)
    old.write_text("".join(_with_revision(e, r) for e, r in revisions))
    new.write_text(_with_revision("a", "r1"))
    with screening_changes(old, new) as report:
        assert report.doc["old"]["revisions"] == ["r1", "r2"]  # most lines first
        assert report.doc["policy"] == {"before": ["r1", "r2"], "after": ["r1"], "changed": True}


def test_too_many_policy_revisions_in_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from stakegate.review import changes as module

    monkeypatch.setattr(module, "MAX_REVISIONS", 2)
    old, good = tmp_path / "old.jsonl", tmp_path / "good.jsonl"
    old.write_text("".join(_with_revision(e, f"r{i}") for i, e in enumerate("abc")))
    good.write_text(GOOD)
    result = run("changes", str(old), str(good))
    assert result.exit_code == 2
    assert f"{old} line 3: more than 2 distinct policy revisions" in result.stderr

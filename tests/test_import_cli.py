"""``stakegate import``: files written whole or not at all, counts on stderr, exit codes.

Most tests run the command in-process with ``CliRunner`` (``catch_exceptions=False``, so a
traceback fails the test); one runs the installed entry point to see what a user sees. The
screening test uses the real OPA of ``conftest``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stakegate.cli.main import cli
from stakegate.policy.runtime import LocalOpa
from stakegate.registry.load import load_registry

from .conftest import FIXTURES

AIMIA = FIXTURES / "bods" / "pre0.3-oo-register-aimia-real.json"
FI_SOE = FIXTURES / "bods" / "v0.4-bods-package-fi-soe.json"
AIMIA_PARENT = "openownership-register-4464213138928640503"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_import_writes_a_registry_and_reports_counts(tmp_path: Path, suffix: str):
    out = tmp_path / f"registry{suffix}"
    result = run("import", "bods", AIMIA, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == (
        "imported 3 entities, 2 ownership records\n"
        "  skipped 1: relationship with an unspecified interested party\n"
    )
    registry = load_registry(out)
    assert registry.entities[AIMIA_PARENT].jurisdiction == "CA"
    assert len(registry.holdings) == 2
    assert leftovers(tmp_path) == [out.name]


def test_import_several_inputs_to_stdout(tmp_path: Path):
    result = run("import", "bods", AIMIA, FI_SOE, "-o", "-")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert len(document["entities"]) == 7
    # 5 shareholdings, plus FI SOE's otherInfluenceOrControl as control of unknown size.
    assert len(document["ownership"]) == 6
    other = [record for record in document["ownership"] if record.get("interest") == "other"]
    assert [record["percent"] for record in other] == [{"min": 0.0, "max": 100.0}]
    assert result.stderr.startswith("imported 7 entities, 6 ownership records\n")


def test_yaml_output_keeps_codes_as_strings(tmp_path: Path):
    """``NO`` (Norway) must not come back as false from YAML."""
    statement = {
        "recordId": "no-co",
        "recordType": "entity",
        "recordDetails": {
            "entityType": {"type": "registeredEntity"},
            "jurisdiction": {"code": "NO"},
        },
    }
    source = tmp_path / "in.json"
    source.write_text(json.dumps([statement]), encoding="utf-8")
    out = tmp_path / "out.yaml"
    assert run("import", "bods", source, "--out", out).exit_code == 0
    assert yaml.safe_load(out.read_text())["entities"][0]["jurisdiction"] == "NO"


def test_malformed_input_exits_2_naming_file_line_and_field(tmp_path: Path):
    source = tmp_path / "bad.json"
    source.write_text(
        '[{"recordId": "r", "recordType": "relationship", "recordDetails":\n'
        ' {"subject": "a", "interestedParty": "b", "interests": [{"share": {"exact": "x"}}]}}]',
        encoding="utf-8",
    )
    out = tmp_path / "out.yaml"
    result = run("import", "bods", source, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"stakegate: error: {source}, record line 1 (statement 0), "
        "field 'recordDetails.interests[0].share.exact': must be a number, got string 'x'\n"
    )
    assert leftovers(tmp_path) == ["bad.json"]  # nothing written, no partial file


def test_an_inconsistent_result_is_not_written(tmp_path: Path):
    """Two owners holding 60% each: BODS allows saying it, the native registry does not."""
    statements = [
        {"recordId": i, "recordType": "entity", "recordDetails": {"name": i}} for i in "abc"
    ] + [
        {
            "recordId": f"{owner}-c",
            "recordType": "relationship",
            "recordDetails": {
                "subject": "c",
                "interestedParty": owner,
                "interests": [{"type": "shareholding", "share": {"exact": 60}}],
            },
        }
        for owner in "ab"
    ]
    source = tmp_path / "in.json"
    source.write_text(json.dumps(statements), encoding="utf-8")
    out = tmp_path / "out.json"
    out.write_text("previous content")
    result = run("import", "bods", source, "--out", out)
    assert result.exit_code == 2
    assert "owners of 'c' hold at least 120 percent between them" in result.stderr
    assert str(source) in result.stderr
    assert "--data-faults review" in result.stderr
    assert out.read_text() == "previous content"
    assert leftovers(tmp_path) == ["in.json", "out.json"]
    # With --data-faults review the registry is written and the fault is listed.
    result = run("import", "bods", source, "--out", out, "--data-faults", "review")
    assert result.exit_code == 0, result.output
    assert "data fault" in result.stderr and "120" in result.stderr
    assert len(json.loads(out.read_text())["ownership"]) == 2


def test_successive_owners_are_history_not_a_fault(tmp_path: Path):
    """a held 60% of c until 2020, b holds 60% since: over 100% only if history is added up.
    Faults are checked as of a day (--as-of, else today); as of a day both held, they are."""
    statements = [
        {"recordId": i, "recordType": "entity", "recordDetails": {"name": i}} for i in "abc"
    ] + [
        {
            "recordId": f"{owner}-c",
            "recordType": "relationship",
            "recordDetails": {
                "subject": "c",
                "interestedParty": owner,
                "interests": [{"type": "shareholding", "share": {"exact": 60}, **dates}],
            },
        }
        for owner, dates in (("a", {"endDate": "2020-01-01"}), ("b", {"startDate": "2019-06"}))
    ]
    source = tmp_path / "in.json"
    source.write_text(json.dumps(statements), encoding="utf-8")
    out = tmp_path / "out.json"
    result = run("import", "bods", source, "--out", out)
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["ownership"]) == 2
    result = run("import", "bods", source, "--out", out, "--as-of", "2019-12-31")
    assert result.exit_code == 2
    assert "owners of 'c' hold at least 120 percent between them" in result.stderr


def cn_holding_until(tmp_path: Path, end: str) -> Path:
    """BODS 0.4: a Chinese company holds 60% of a British one until ``end``."""
    statements = [
        {
            "recordId": rid,
            "recordType": "entity",
            "recordDetails": {
                "entityType": {"type": "registeredEntity"},
                "jurisdiction": {"code": code},
            },
        }
        for rid, code in (("co", "GB"), ("cn", "CN"))
    ]
    statements.append(
        {
            "recordId": "r",
            "recordType": "relationship",
            "recordDetails": {
                "subject": "co",
                "interestedParty": "cn",
                "interests": [{"type": "shareholding", "share": {"exact": 60}, "endDate": end}],
            },
        }
    )
    source = tmp_path / "in.json"
    source.write_text(json.dumps(statements), encoding="utf-8")
    return source


def test_as_of_decides_whether_an_interest_has_ended(tmp_path: Path):
    """The same input, read the day before its interest ends and on that day."""
    source = cn_holding_until(tmp_path, "2025-07-01")
    out = tmp_path / "out.json"
    result = run("import", "bods", source, "--out", out, "--as-of", "2025-06-30")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["ownership"] == [
        {"owner": "cn", "owned": "co", "percent": 60, "end": "2025-07-01"}
    ]
    result = run("import", "bods", source, "--out", out, "--as-of", "2025-07-01")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["ownership"] == []
    assert "  skipped 1: interest ended (endDate on or before the as-of date)\n" in result.stderr


def test_as_of_decides_whether_a_psc_has_ceased(tmp_path: Path):
    record = {
        "company_number": "00000001",
        "data": {
            "kind": "corporate-entity-person-with-significant-control",
            "links": {"self": "/company/00000001/persons-with-significant-control/x/ID1"},
            "natures_of_control": ["ownership-of-shares-75-to-100-percent"],
            "identification": {"country_registered": "China"},
            "ceased_on": "2025-07-01",
        },
    }
    source = tmp_path / "psc.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    before = run("import", "uk-psc", source, "-o", "-", "--as-of", "2025-06-30")
    on = run("import", "uk-psc", source, "-o", "-", "--as-of", "2025-07-01")
    assert before.exit_code == on.exit_code == 0, before.output + on.output
    assert [h["end"] for h in json.loads(before.stdout)["ownership"]] == ["2025-07-01"]
    assert json.loads(on.stdout)["ownership"] == []
    assert "skipped 1: ceased PSC" in on.stderr


@pytest.mark.parametrize("value", ["2025-13-01", "2025-02-30", "yesterday", ""])
def test_a_bad_as_of_date_exits_2_naming_the_option(tmp_path: Path, value: str):
    out = tmp_path / "out.json"
    result = run("import", "bods", AIMIA, "--out", out, "--as-of", value)
    assert result.exit_code == 2
    assert "Invalid value for '--as-of'" in result.stderr
    assert f"{value!r} is not a date (YYYY-MM-DD)" in result.stderr
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["import", "bods", str(AIMIA), "--out", "registry.txt"],
            "must end in .yaml, .yml or .json",
        ),
        (["import", "bods", "missing.json", "--out", "x.yaml"], "cannot read the file"),
        (["import", "nope", str(AIMIA), "--out", "x.yaml"], "Invalid value for 'FORMAT'"),
        (["import", "bods", "--out", "x.yaml"], "Missing argument 'INPUT...'"),
        (["import", "bods", str(AIMIA)], "Missing option '--out'"),
        (
            ["import", "bods", str(AIMIA), "--out", "no/such/dir/x.yaml"],
            "--out: no/such/dir/x.yaml: the directory no/such/dir does not exist",
        ),
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert leftovers(tmp_path) == []


def test_the_installed_command_prints_no_traceback(tmp_path: Path):
    source = tmp_path / "bad.json"
    source.write_bytes(b'[{"recordId": "r", "recordType": "entity", "recordDetails": 3}]')
    proc = subprocess.run(
        [sys.executable, "-m", "stakegate.cli", "import", "bods", str(source), "-o", "x.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"stakegate: error: {source}, record line 1 (statement 0)")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.binary(max_size=120)
    | st.lists(
        st.dictionaries(
            st.sampled_from(["recordId", "recordType", "recordDetails", "statementID", "x"]),
            st.none() | st.text(max_size=4) | st.integers() | st.just({}),
            max_size=4,
        ),
        max_size=3,
    ).map(lambda v: json.dumps(v).encode())
)
def test_fuzz_the_command_exits_0_or_2(tmp_path: Path, data: bytes):
    source = tmp_path / "fuzz.json"
    source.write_bytes(data)
    out = tmp_path / "out.json"
    out.unlink(missing_ok=True)
    result = run("import", "bods", source, "--out", out)
    assert result.exit_code in (0, 2)
    if result.exit_code == 2:
        assert result.stderr.startswith("stakegate: error: ")
        assert not out.exists()
    else:
        load_registry(out)


@pytest.mark.integration
@pytest.mark.parametrize(("as_of", "decision"), [("2025-06-30", "deny"), ("2025-07-01", "allow")])
def test_the_import_as_of_date_decides_the_screen(
    tmp_path: Path, opa_server: LocalOpa, as_of: str, decision: str
):
    out = tmp_path / "registry.yaml"
    source = cn_holding_until(tmp_path, "2025-07-01")
    assert run("import", "bods", source, "--out", out, "--as-of", as_of).exit_code == 0
    result = run("check", "co", "--registry", out, "--opa-url", opa_server.url, "--as-of", as_of)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decision"] == decision


@pytest.mark.integration
@pytest.mark.parametrize(("as_of", "decision"), [("2025-06-30", "deny"), ("2025-07-01", "allow")])
def test_check_reads_foreign_data_as_of_its_decision_date(
    tmp_path: Path, opa_server: LocalOpa, as_of: str, decision: str
):
    # check/screen --registry-format read the data as of their own --as-of, not today.
    source = cn_holding_until(tmp_path, "2025-07-01")
    for command in (["check", "co"], ["screen"]):
        result = run(
            *command, "--registry-format", "bods", "--registry", source,
            "--opa-url", opa_server.url, "--as-of", as_of,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        decided = {d["entity"]: d["decision"] for d in map(json.loads, _documents(result.stdout))}
        assert decided["co"] == decision


@pytest.mark.integration
def test_one_imported_file_screens_at_any_date(tmp_path: Path, opa_server: LocalOpa):
    """Imported without --as-of, the holding keeps its dates (a CN owner at 60% from 2020-01
    to 2025-06-30), and the same file decided at three dates gives the decision of each day,
    each saying its date; --registry-format reads the same."""
    source = cn_holding_until(tmp_path, "2025-06-30")
    document = json.loads(source.read_text())
    document[-1]["recordDetails"]["interests"][0]["startDate"] = "2020-01"
    source.write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "registry.yaml"
    result = run("import", "bods", source, "--out", out)
    assert result.exit_code == 0, result.output
    assert [(h.start, h.end) for h in load_registry(out).holdings] == [
        (date(2020, 1, 1), date(2025, 6, 30))
    ]
    for as_of, decision in [
        ("2019-06-01", "allow"),
        ("2025-01-01", "deny"),
        ("2026-01-01", "allow"),
    ]:
        for registry in (["--registry", out], ["--registry-format", "bods", "--registry", source]):
            result = run("check", "co", *registry, "--opa-url", opa_server.url, "--as-of", as_of)
            assert result.exit_code == 0, result.output
            decided = json.loads(result.stdout)
            assert (decided["decision"], decided["as_of"]) == (decision, as_of), registry


def _documents(stdout: str) -> list[str]:
    """check prints one indented JSON document, screen one per line."""
    return [stdout] if stdout.startswith("{\n") else stdout.splitlines()


@pytest.mark.integration
def test_an_imported_registry_screens(tmp_path: Path, opa_server: LocalOpa):
    out = tmp_path / "aimia.yaml"
    assert run("import", "bods", AIMIA, "--out", out).exit_code == 0
    result = run("screen", "--registry", out, "--opa-url", opa_server.url)
    assert result.exit_code == 0, result.output
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert {d["entity"]: d["decision"] for d in decisions} == {
        AIMIA_PARENT: "allow",
        "openownership-register-6986942533025490740": "allow",
        "openownership-register-17922597383544943623": "allow",
    }

"""``bundle diff`` as a lawyer reads it: causes, names, sentences, diagrams, the appendix, PDF.

OLD is a bundle signed with the test key; NEW is a policy directory (an unsigned preview, which
used to end in an AssertionError) with the threshold lowered to 30 and UA-43 added. The registry
(tests/fixtures/review/registry.yaml) is built so that each kind of cause occurs: one change
alone, either change alone, and only both together. Causes are checked against independent
``screen`` runs with each change applied alone.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from stakegate.bundles.build import build_bundle
from stakegate.cli.main import cli

from .conftest import FIXTURES, POLICIES, REPO, policy_with_config

pytestmark = pytest.mark.integration

PRIVATE = REPO / "tests" / "keys" / "stakegate-test-only.key.pem"
PUBLIC = REPO / "tests" / "keys" / "stakegate-test-only.pub.pem"
REGISTRY = FIXTURES / "review" / "registry.yaml"
AS_OF = "2026-11-27"
REGIONS = ["CN", "RU", "KP", "IR"]
NEW_CONFIG: dict[str, Any] = {"ownership_threshold": 30, "restricted_regions": [*REGIONS, "UA-43"]}
EXPECTED_CAUSES = {
    "elm-fr": (["ownership_threshold"], False),
    "tavria-ua": (["restricted_regions"], False),
    "kite-sg": (["restricted_regions"], False),
    "oak-it": (["ownership_threshold", "restricted_regions"], False),
    "steppe-gb": (["ownership_threshold", "restricted_regions"], True),
    "pine-pl": (["restricted_regions"], False),
    "reed-se": (["restricted_regions"], False),
}
NAMES = {
    "elm-fr": "Elm Conseil SARL",
    "tavria-ua": "Tavria Foods LLC",
    "kite-sg": "Kite Logistics Pte Ltd",
    "oak-it": "Oak Servizi SRL",
    "steppe-gb": "Steppe Grain Ltd",
    "pine-pl": "Pine Budowa Sp z o o",
    "reed-se": "Reed Nordic AB",
}
SVG = "{http://www.w3.org/2000/svg}"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def diff(old: Path, new: Path, fmt: str, out: Path) -> str:
    result = run(
        "bundle",
        "diff",
        str(old),
        str(new),
        "--key",
        str(PUBLIC),
        "--registry",
        str(REGISTRY),
        "--as-of",
        AS_OF,
        "--format",
        fmt,
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    return out.read_text() if fmt != "pdf" else ""


def screened(policy: Path, out: Path) -> dict[str, str]:
    result = run(
        "screen", "-i", str(REGISTRY), "--policy", str(policy), "--key", str(PUBLIC),
        "--as-of", AS_OF, "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return {d["entity"]: d["decision"] for d in map(json.loads, out.read_text().splitlines())}


@pytest.fixture(scope="module")
def old_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("old")
    target = work / "stakegate-1.0.0.tar.gz"
    policy = policy_with_config(work, {})
    build_bundle(
        "1.0.0",
        changelog="base",
        policy=policy,
        signing_key=PRIVATE,
        out=target,
        effective_date=date.fromisoformat("2026-01-01"),
    )
    return target


@pytest.fixture(scope="module")
def new_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return policy_with_config(tmp_path_factory.mktemp("new"), NEW_CONFIG)


@pytest.fixture(scope="module")
def outputs(old_bundle: Path, new_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("reports")
    return {
        fmt: diff(old_bundle, new_dir, fmt, work / f"r.{fmt}")
        for fmt in ("json", "md", "csv", "html")
    }


@pytest.fixture(scope="module")
def report(outputs) -> dict[str, Any]:
    return json.loads(outputs["json"])


def test_new_may_be_a_policy_directory(report, old_bundle: Path, new_dir: Path, tmp_path: Path):
    before = screened(old_bundle, tmp_path / "old.jsonl")
    after = screened(new_dir, tmp_path / "new.jsonl")
    flips = [e for e in before if before[e] != after[e]]
    assert [e["entity"] for e in report["entities"]] == flips
    assert report["impact"] == {"allow->deny": len(flips)} == {"allow->deny": 7}
    assert report["new"]["kind"] == "directory"
    assert report["new"]["sha256"] is None and report["new"]["file"] == str(new_dir)
    assert report["old"]["kind"] == "bundle" and report["preview"] is True
    assert [p["name"] for p in report["parameters"]] == [
        "ownership_threshold",
        "restricted_regions",
    ]


def test_causes_of_each_flip(report):
    found = {e["entity"]: (e["causes"], e["combined"]) for e in report["entities"]}
    assert found == EXPECTED_CAUSES
    assert report["causes"]["changes"] == ["ownership_threshold", "restricted_regions"]
    assert report["causes"]["screenings"] == 2  # one per change
    assert report["causes"]["not_applicable_alone"] == {}


@pytest.mark.parametrize("change", ["ownership_threshold", "restricted_regions"])
def test_causes_agree_with_screening_each_change_alone(report, change: str, tmp_path: Path):
    alone = screened(policy_with_config(tmp_path, {change: NEW_CONFIG[change]}), tmp_path / "a")
    for entity in report["entities"]:
        flipped_alone = alone[entity["entity"]] == entity["after"]
        assert (change in entity["causes"] and not entity["combined"]) == flipped_alone, entity


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path} no longer contains {old!r}: update this test's edit"
    path.write_text(text.replace(old, new))


def test_rule_change_and_a_change_that_cannot_stand_alone(old_bundle: Path, tmp_path: Path):
    """NEW drops the unknown-jurisdiction reason (a rule change) and requires a new parameter
    it also sets: the rules alone are invalid on OLD's parameters, so they are no cause alone."""
    new = policy_with_config(tmp_path, {"ownership_threshold": 30, "review_note": "x"})
    root = new / "stakegate"
    _edit(
        root / "jurisdiction" / "jurisdiction.rego",
        '_reason("unknown_jurisdiction", facts, policy) := unknown_jurisdiction(\n'
        '\tfacts, "jurisdiction",\n\tpolicy.user_assigned_codes,\n)\n',
        "",
    )
    _edit(
        root / "params" / "problems.rego",
        '"exceptions": "is not a list of exceptions",\n',
        '"exceptions": "is not a list of exceptions",\n\t"review_note": "is not a string",\n',
    )
    with (root / "params" / "problems.rego").open("a") as handle:
        handle.write('\n_is_valid("review_note", value) if is_string(value)\n')
    doc = json.loads(diff(old_bundle, new, "json", tmp_path / "r.json"))
    found = {
        e["entity"]: (e["before"], e["after"], e["causes"], e["combined"]) for e in doc["entities"]
    }
    everything = ["ownership_threshold", "review_note", "rego"]
    assert found == {
        "elm-fr": ("allow", "deny", ["ownership_threshold"], False),
        "oak-it": ("allow", "deny", ["ownership_threshold"], False),
        "quill-xx": ("review", "allow", everything, True),
    }
    assert doc["causes"]["changes"] == everything
    # Under OLD rules review_note is not a parameter; NEW rules without it lack one.
    assert list(doc["causes"]["not_applicable_alone"]) == ["review_note", "rego"]
    assert doc["causes"]["screenings"] == 3
    assert [c["file"] for c in doc["rego"]] == [
        "stakegate/jurisdiction/jurisdiction.rego",
        "stakegate/params/problems.rego",
    ]


def test_names_next_to_ids_in_every_format(outputs, report):
    assert {e["entity"]: e["name"] for e in report["entities"]} == NAMES
    rows = [line.split(",") for line in outputs["csv"].splitlines()[1:]]
    assert {row[1]: row[2] for row in rows} == NAMES
    for entity, name in NAMES.items():
        assert f"### {name} ({entity}): allow → deny\n" in outputs["md"]
        assert f"<h3>{name} ({entity}): " in outputs["html"]


def test_reasons_as_sentences(report, outputs):
    by_id = {e["entity"]: e for e in report["entities"]}
    assert by_id["reed-se"]["sentences_before"] == ["No restriction found."]
    assert by_id["reed-se"]["sentences_after"] == [
        "60% owned by owners in UA-43 (control method); the policy bars more than 30%. Path: "
        "Tavria Foods LLC (tavria-ua) [UA-43] 55% → Pine Budowa Sp z o o (pine-pl) "
        "[itself restricted] 60% → Reed Nordic AB (reed-se)."
    ]
    assert by_id["tavria-ua"]["sentences_after"] == ["Incorporated in UA-43, a restricted region."]
    assert by_id["oak-it"]["sentences_after"] == [
        "65% owned by owners in CN and UA-43 (control method); the policy bars more than 30%. "
        "Paths: Red Lantern Holdings (rl-cn) [CN] 35% → Oak Servizi SRL (oak-it); "
        "Tavria Foods LLC (tavria-ua) [UA-43] 30% → Oak Servizi SRL (oak-it)."
    ]
    for fmt, end in (("md", "## Rego changes"), ("csv", None), ("html", 'id="rego"')):
        shown = outputs[fmt].split(end)[0] if end else outputs[fmt]
        assert "Tavria Foods LLC (tavria-ua) [UA-43] 55% → Pine Budowa" in shown
        assert "restricted_ownership" not in shown  # codes stay in the JSON


def _svg_of(html: str, entity: str) -> ElementTree.Element:
    block = html.split(f'<div class="entity" id="entity-{entity}">', 1)[1].split("</div>", 1)[0]
    return ElementTree.fromstring(block[block.index("<svg") : block.index("</svg>") + 6])


def test_diagram_shows_every_direct_owner_and_restricted_intermediates(outputs):
    svg = _svg_of(outputs["html"], "reed-se")
    titles = sorted(g.findtext(f"{SVG}title") or "" for g in svg.iter(f"{SVG}g"))
    assert titles == [
        "Cedar Works GmbH (cedar-de)",
        "Example Person N (p-nl)",
        "Pine Budowa Sp z o o (pine-pl), restricted by owners",
        "Reed Nordic AB (reed-se), restricted by owners",
        "Tavria Foods LLC (tavria-ua), restricted location",
    ]
    labels = sorted(t.text or "" for t in svg.iter(f"{SVG}text") if (t.text or "").endswith("%"))
    assert labels == ["10%", "20%", "55%", "60%"]
    assert len(list(svg.iter(f"{SVG}line"))) == 4
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "before: clear" in texts  # pine-pl and tavria-ua were clear under OLD


def test_rule_documentation_is_an_appendix_after_everything(outputs):
    html, md = outputs["html"], outputs["md"]
    assert html.index('id="entities"') < html.index('id="rego"') < html.index("Appendix: policy")
    assert md.index("## Entities whose") < md.index("## Appendix: policy documentation")
    assert md.rstrip().splitlines()[-1].startswith("- `data.stakegate.")


def test_pdf_has_names_and_counts(old_bundle: Path, new_dir: Path, tmp_path: Path, report):
    diff(old_bundle, new_dir, "pdf", tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
    done = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    text = re.sub(r"\s+", " ", done.stdout)
    assert f"Policy review: stakegate 1.0.0 → {new_dir.name} (unsigned preview)" in text
    assert "allow → deny 7" in text
    assert "7 changed; unchanged: allow 2, deny 4, review 1" in text
    for entity, name in NAMES.items():
        assert f"{name} ({entity}): allow → deny" in text
    assert text.count("): allow → deny") == len(report["entities"])
    assert len(re.findall(r"Causes?: ", text)) == len(report["entities"])


def test_bundle_diff_of_the_shipped_policy_directory_against_itself(tmp_path: Path, old_bundle):
    doc = json.loads(diff(old_bundle, POLICIES, "json", tmp_path / "r.json"))
    assert doc["impact"] == {} and doc["entities"] == [] and doc["parameters"] == []
    assert doc["causes"]["screenings"] == 0


@pytest.mark.parametrize("case", ["missing", "not-a-bundle", "data-yaml"])
def test_a_new_that_is_not_a_policy_is_exit_2(case: str, old_bundle: Path, tmp_path: Path):
    if case == "missing":
        new = tmp_path / "absent"
    elif case == "not-a-bundle":
        new = tmp_path / "notes.txt"
        new.write_text("not a policy")
    else:
        new = policy_with_config(tmp_path, {})
        (new / "stakegate" / "config" / "data.yaml").write_text("ownership_threshold: 90\n")
    result = run(
        "bundle",
        "diff",
        str(old_bundle),
        str(new),
        "--key",
        str(PUBLIC),
        "--registry",
        str(REGISTRY),
    )
    assert result.exit_code == 2, result.output
    assert str(new) in result.stderr and "Traceback" not in result.output

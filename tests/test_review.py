"""The review report (``stakegate bundle diff``) against what ``stakegate screen`` really does.

Bundles are built from modified copies of ``policies/`` (threshold raised, UA-43 added, method
switched to look_through). For each, the report's impact counts must equal the transitions
counted by running ``screen`` with the old and the new bundle and comparing line by line. The
HTML report is rendered by a real headless Chromium, which must show the same counts.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from stakegate import settings
from stakegate.cli.main import cli
from stakegate.ownership.interval import Interval
from stakegate.review.compare import share_label
from stakegate.review.diagram import Node, ownership_svg

from .bundle_helpers import PUBLIC, sign_policy
from .conftest import FIXTURES, policy_with_config

pytestmark = pytest.mark.integration

REGISTRY = FIXTURES / "bundles" / "registry.yaml"
AS_OF = "2026-11-27"
CHROMIUM = Path("/usr/bin/chromium")

VARIANTS: dict[str, dict[str, Any]] = {
    "threshold": {"ownership_threshold": 60},
    "ua43": {"restricted_regions": ["CN", "RU", "KP", "IR", "UA-43"]},
    "look_through": {"method": "look_through"},
}
EXPECTED_IMPACT = {
    "threshold": {"deny->allow": 4, "review->allow": 1},
    "ua43": {"allow->deny": 2},
    "look_through": {"allow->deny": 1, "deny->allow": 1},
}
EXPECTED_PARAMETERS = {
    "threshold": [{"name": "ownership_threshold", "before": 50, "after": 60}],
    "ua43": [
        {
            "name": "restricted_regions",
            "before": ["CN", "RU", "KP", "IR"],
            "after": ["CN", "RU", "KP", "IR", "UA-43"],
            "added": ["UA-43"],
            "removed": [],
        }
    ],
    "look_through": [{"name": "method", "before": "control", "after": "look_through"}],
}


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shipped policy as 1.0.0 and each variant as 1.1.0, signed with the test key."""
    out: dict[str, Path] = {}
    for name, overrides in {"base": {}, **VARIANTS}.items():
        work = tmp_path_factory.mktemp(name)
        policy = policy_with_config(work, overrides)
        version = "1.0.0" if name == "base" else "1.1.0"
        target = work / f"stakegate-{version}.tar.gz"
        sign_policy(policy, target, version, changelog=name)
        out[name] = target
    return out


@pytest.fixture(scope="module")
def screened(bundles: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """``stakegate screen --format jsonl`` under each bundle: entity -> decision."""
    results: dict[str, dict[str, str]] = {}
    for name, bundle in bundles.items():
        out = tmp_path_factory.mktemp("screen") / f"{name}.jsonl"
        result = run(
            "screen",
            "--registry",
            str(REGISTRY),
            "--policy",
            str(bundle),
            "--as-of",
            AS_OF,
            "--key",
            str(PUBLIC),
            "--out",
            str(out),
        )
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        results[name] = {d["entity"]: d["decision"] for d in lines}
    return results


def diff(old: Path, new: Path, fmt: str, out: Path) -> str:
    result = run(
        "bundle",
        "diff",
        str(old),
        str(new),
        "--registry",
        str(REGISTRY),
        "--as-of",
        AS_OF,
        "--key",
        str(PUBLIC),
        "--format",
        fmt,
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    return out.read_text()


@pytest.fixture(scope="module")
def reports(bundles: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("reports")
    return {
        name: json.loads(diff(bundles["base"], bundles[name], "json", work / f"{name}.json"))
        for name in VARIANTS
    }


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_impact_matches_screen_with_each_bundle(variant: str, reports, screened):
    before, after = screened["base"], screened[variant]
    counted = Counter(f"{before[e]}->{after[e]}" for e in before if before[e] != after[e])
    report = reports[variant]
    assert report["impact"] == dict(counted)
    assert report["impact"] == EXPECTED_IMPACT[variant]
    changed = [e for e in before if before[e] != after[e]]
    assert [e["entity"] for e in report["entities"]] == changed
    assert [(e["before"], e["after"]) for e in report["entities"]] == [
        (before[e], after[e]) for e in changed
    ]
    assert report["summary"]["changed"] == len(changed)
    assert report["summary"]["entities"] == len(before)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_parameter_changes(variant: str, reports):
    assert reports[variant]["parameters"] == EXPECTED_PARAMETERS[variant]
    assert reports[variant]["rego"] == []  # only data changed
    assert reports[variant]["documentation"]["changes"] == []


def test_entities_carry_reasons_before_and_after(reports):
    entities = reports["ua43"]["entities"]
    assert [set(e) for e in entities] == [
        {
            "entity",
            "name",
            "before",
            "after",
            "causes",
            "combined",
            "reasons_before",
            "reasons_after",
            "sentences_before",
            "sentences_after",
        }
    ] * 2
    crimea = entities[0]
    assert crimea == {
        "entity": "crimea-co",
        "name": None,
        "before": "allow",
        "after": "deny",
        "causes": ["restricted_regions"],
        "combined": False,
        "sentences_before": ["No restriction found."],
        "sentences_after": ["Incorporated in UA-43, a restricted region."],
        "reasons_before": [],
        "reasons_after": [
            {
                "code": "restricted_jurisdiction",
                "severity": "deny",
                "field": "jurisdiction",
                "value": "UA-43",
                "region": "UA-43",
            }
        ],
    }
    sub = entities[1]
    assert (sub["entity"], sub["reasons_before"]) == ("crimea-sub", [])
    assert [(r["code"], r["paths"]) for r in sub["reasons_after"]] == [
        ("restricted_ownership", [["crimea-co", "crimea-sub"]])
    ]


def test_bundle_metadata_in_report(reports, bundles):
    report = reports["threshold"]
    assert (report["old"]["version"], report["new"]["version"]) == ("1.0.0", "1.1.0")
    assert report["new"]["changelog"] == "threshold"
    assert report["new"]["file"] == bundles["threshold"].name
    assert report["as_of"] == AS_OF


def test_rego_and_documentation_changes(bundles, tmp_path: Path):
    policy = policy_with_config(tmp_path, {})
    rule = policy / "stakegate" / "ownership" / "ownership.rego"
    rule.write_text(
        rule.read_text().replace("title: Restricted ownership\n", "title: Majority owned\n")
    )
    new = tmp_path / "stakegate-1.0.1.tar.gz"
    sign_policy(policy, new, "1.0.1", changelog="retitle")
    report = json.loads(diff(bundles["base"], new, "json", tmp_path / "r.json"))
    assert report["impact"] == {}
    assert [(c["file"], c["status"]) for c in report["rego"]] == [
        ("stakegate/ownership/ownership.rego", "changed")
    ]
    assert "-# title: Restricted ownership\n+# title: Majority owned\n" in report["rego"][0]["diff"]
    changes = report["documentation"]["changes"]
    assert [
        (c["key"], c["status"], c["before"]["title"], c["after"]["title"]) for c in changes
    ] == [
        (
            "data.stakegate.ownership.restricted_ownership (rule)",
            "changed",
            "Restricted ownership",
            "Majority owned",
        )
    ]
    rules = report["documentation"]["rules"]
    assert sorted(r["path"] for r in rules if r["entrypoint"]) == [
        "data.stakegate.batch.decisions",
        "data.stakegate.main.decisions",
        "data.stakegate.params.effective",
        "data.stakegate.regions.classification",
        "data.stakegate.side_by_side.decisions",
        "data.stakegate.view.policy",
    ]
    titles = {r["path"]: r["title"] for r in rules}
    assert titles["data.stakegate.ownership.restricted_ownership"] == "Majority owned"


def test_markdown_report(bundles, tmp_path: Path):
    text = diff(bundles["base"], bundles["threshold"], "md", tmp_path / "r.md")
    assert text.startswith("# Policy review: stakegate 1.0.0 → 1.1.0\n")
    assert "| deny->allow | 4 |\n| review->allow | 1 |\n" in text
    assert "| `ownership_threshold` | `50` | `60` |  |  |" in text
    assert "### nl-grand: deny → allow\n" in text
    assert "- path: cn-parent → hk-mid → nl-grand\n" in text


class _ImpactTable(HTMLParser):
    """Reads the impact rows (transition -> count) and the SVGs out of a rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.svgs = 0
        self._row: str | None = None
        self._in_count = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-transition"):
            self._row = found["data-transition"]
        self._in_count = tag == "td" and found.get("class") == "count" and self._row is not None
        self.svgs += tag == "svg"

    def handle_data(self, data: str) -> None:
        if self._in_count and self._row is not None and data.strip():
            self.counts[self._row] = int(data)
            self._row, self._in_count = None, False


@pytest.mark.slow
def test_html_report_renders_counts_in_chromium(bundles, reports, tmp_path: Path):
    assert CHROMIUM.exists(), (
        f"headless Chromium not found at {CHROMIUM}; run {settings.SETUP_COMMAND} to install it"
    )
    page = tmp_path / "report.html"
    diff(bundles["base"], bundles["threshold"], "html", page)
    common = ["--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path}/p"]
    done = subprocess.run(
        [str(CHROMIUM), *common, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    parsed = _ImpactTable()
    parsed.feed(done.stdout)
    assert parsed.counts == reports["threshold"]["impact"]
    assert parsed.svgs == len(reports["threshold"]["entities"])
    assert "Policy review: stakegate 1.0.0 → 1.1.0" in done.stdout
    shot = tmp_path / "report.png"
    subprocess.run(
        [str(CHROMIUM), *common, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagram_is_valid_deterministic_svg():
    paths = [["cn", "hk", "nl"], ["cn", "nl"]]
    nodes = {
        "cn": Node("China Co", "CN", mark="location"),
        "hk": Node(None, "HK", mark="ownership", was=""),
        "nl": Node("NL & <co>", "NL"),
    }
    edges = {("cn", "hk"): "60%", ("hk", "nl"): "60%", ("cn", "nl"): "10%"}
    svg = ownership_svg("nl", paths, nodes, edges, uid="t", note="+ 2 more")
    assert svg == ownership_svg("nl", paths, nodes, edges, uid="t", note="+ 2 more")
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}g")) == 3
    assert len(root.findall(f"{ns}line")) == 3
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts == [
        "60%",
        "60%",
        "10%",
        "NL & <co>",
        "nl",
        "NL",
        "China Co",
        "cn",
        "CN · restricted location",
        "hk",
        "HK · restricted by owners",
        "before: clear",
        "+ 2 more",
    ]


def test_share_label():
    assert share_label(Interval.exact(60)) == "60%"
    assert share_label(Interval(50, 75, min_exclusive=True)) == ">50–75%"
    assert share_label(Interval(0, 25, max_exclusive=True)) == "0–<25%"

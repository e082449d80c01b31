"""The policy's ISO 3166 table (data.stakegate.iso3166) holds exactly pycountry's codes.

When this fails after a pycountry upgrade, regenerate the table and commit it with the reason:

    .venv/bin/python scripts/gen_iso3166.py
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "policies" / "stakegate" / "iso3166" / "data.json"

_spec = importlib.util.spec_from_file_location("gen_iso3166", REPO / "scripts" / "gen_iso3166.py")
assert _spec is not None and _spec.loader is not None
gen_iso3166 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_iso3166)


def test_table_equals_pycountry() -> None:
    table = json.loads(TABLE.read_text())["codes"]
    expected: set[str] = gen_iso3166.codes()
    missing, extra = sorted(expected - set(table)), sorted(set(table) - expected)
    assert not missing and not extra, (
        f"{TABLE} differs from pycountry: missing {missing[:10]} ({len(missing)}), "
        f"extra {extra[:10]} ({len(extra)}); regenerate: .venv/bin/python scripts/gen_iso3166.py"
    )
    assert set(table.values()) == {None}


def test_subdivision_index_matches_the_codes() -> None:
    document = json.loads(TABLE.read_text())
    assert document["subdivisions"] == gen_iso3166.subdivisions(set(document["codes"]))


def test_table_has_countries_and_subdivisions() -> None:
    table = json.loads(TABLE.read_text())["codes"]
    assert {"CN", "RU", "RU-MOW", "UA-43", "GB-ENG", "US-CA"} <= set(table)
    assert not {"XX", "ZZ", "AA", "XK", "QQ-123", "cn"} & set(table)

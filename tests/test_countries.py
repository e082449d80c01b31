"""``normalise_country``: exact mappings from codes, names and register spellings, never guesses."""

from __future__ import annotations

import pycountry
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stakegate.importers.countries import ALIASES, normalise_country

CASES = [
    # codes
    ("GB", "GB"),
    ("  gb ", "GB"),
    ("GBR", "GB"),
    ("826", "GB"),
    ("CHN", "CN"),
    ("US-DE", "US"),
    ("RU-MOW", "RU"),
    # the parts of the United Kingdom, as registers write them
    ("England", "GB"),
    ("Wales", "GB"),
    ("Scotland", "GB"),
    ("Northern Ireland", "GB"),
    ("England & Wales", "GB"),
    ("England And Wales", "GB"),
    ("United Kingdom (England And Wales)", "GB"),
    ("United Kingdom", "GB"),
    ("UK", "GB"),
    ("U.K.", "GB"),
    ("Great Britain", "GB"),
    # restricted regions
    ("China", "CN"),
    ("PRC", "CN"),
    ("People'S Republic Of China", "CN"),
    ("People’s Republic of China", "CN"),
    ("Mainland China", "CN"),
    ("Russia", "RU"),
    ("Russian Federation", "RU"),
    ("North Korea", "KP"),
    ("Korea, Democratic People's Republic of", "KP"),
    ("Iran", "IR"),
    ("Iran, Islamic Republic of", "IR"),
    # others
    ("South Korea", "KR"),
    ("Hong Kong", "HK"),
    ("USA", "US"),
    ("U.S.A.", "US"),
    ("United States Of America", "US"),
    ("Minnesota, Usa", "US"),
    ("Delaware", "US"),
    ("Georgia", "GE"),  # the country, not the US state
    ("Czech Republic", "CZ"),
    ("Côte d'Ivoire", "CI"),
    ("Cote D'Ivoire", "CI"),
    ("Türkiye", "TR"),
    ("Turkey", "TR"),
    ("Taiwan, Province of China", "TW"),
    # unknown: ambiguous, not a country, or empty
    ("Korea", None),
    ("Channel Islands", None),
    ("Companies House Cardiff", None),
    ("English Law", None),
    ("Beijing, Postcode:100048", None),
    ("XX-YYY", None),
    ("ZZ", None),
    ("", None),
    ("   ", None),
]


@pytest.mark.parametrize(("text", "code"), CASES)
def test_normalise_country(text: str, code: str | None):
    assert normalise_country(text) == code


def test_every_alias_is_a_real_country():
    assert {c for c in ALIASES.values() if pycountry.countries.get(alpha_2=c) is None} == set()


def test_every_iso_name_and_code_maps_to_itself():
    for country in pycountry.countries:
        assert normalise_country(country.name) == country.alpha_2
        assert normalise_country(country.alpha_3.lower()) == country.alpha_2


@given(st.text(max_size=80))
def test_any_text_gives_a_real_code_or_none(text: str):
    code = normalise_country(text)
    assert code is None or pycountry.countries.get(alpha_2=code) is not None

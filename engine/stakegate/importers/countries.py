"""Turn a register's free-text country into an ISO 3166-1 alpha-2 code, or admit it is unknown.

Registers such as the UK PSC snapshot hold countries as typed text ("England", "Usa",
"People'S Republic Of China", "Minnesota, Usa"). The rule screens by country code, so a wrong
code is a wrong decision: this module maps only what it can map exactly, from ISO codes,
pycountry's names (name, official name, common name) and a small alias table of register
spellings, and returns ``None`` for everything else. It never fuzzy-matches: "Korea" alone could
be either Korea, "Channel Islands" could be Jersey or Guernsey, so both are unknown, which the
importers record as an explicit fact (no jurisdiction) and the policy treats as possibly
restricted.

The parts of the United Kingdom ("England", "Wales", "Scotland", "Northern Ireland", "England &
Wales") map to ``GB``, not to ``GB-ENG`` and the like: the function's contract is a country
code, the rule matches countries, and register text does not reliably say which part is meant.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any, Final, cast

import pycountry

__all__ = ["normalise_country"]

# Register spellings pycountry's exact lookup does not know, after ``_key`` folding. Only
# unambiguous names: each is one country whatever the register that wrote it.
ALIASES: Final[dict[str, str]] = {
    # The United Kingdom and its parts.
    "uk": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "wales": "GB",
    "scotland": "GB",
    "northern ireland": "GB",
    "england and wales": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    # The restricted regions' usual spellings (pycountry knows the ISO names).
    "prc": "CN",
    "pr china": "CN",
    "p r china": "CN",
    "peoples republic of china": "CN",
    "the peoples republic of china": "CN",
    "mainland china": "CN",
    "china mainland": "CN",
    "russia": "RU",
    "russian federation": "RU",
    "north korea": "KP",
    "dprk": "KP",
    "democratic peoples republic of korea": "KP",
    "iran": "IR",
    "islamic republic of iran": "IR",
    # Other common register spellings.
    "usa": "US",
    "us": "US",
    "united states": "US",
    "united states of america": "US",
    "america": "US",
    "south korea": "KR",
    "republic of korea": "KR",
    "hong kong": "HK",
    "hong kong sar": "HK",
    "macau": "MO",
    "macao sar": "MO",
    "taiwan": "TW",
    "republic of china taiwan": "TW",
    "turkey": "TR",
    "ivory coast": "CI",
    "holland": "NL",
    "the netherlands": "NL",
    "czech republic": "CZ",
    "republic of ireland": "IE",
    "eire": "IE",
    "uae": "AE",
    "bvi": "VG",
    "british virgin islands": "VG",
    "cape verde": "CV",
    "swaziland": "SZ",
    "burma": "MM",
    "vatican": "VA",
    "vatican city": "VA",
    "brunei": "BN",
    "the gambia": "GM",
    "the bahamas": "BS",
    "bosnia": "BA",
    "bosnia herzegovina": "BA",
    "micronesia": "FM",
    "palestine": "PS",
    "laos": "LA",
    "syria": "SY",
    "vietnam": "VN",
}

_PUNCTUATION: Final = re.compile(r"[.'’`´\"()\[\]]")
_SPACES: Final = re.compile(r"[\s,;:/\-_]+")
_PARENTHESISED: Final = re.compile(r"\s*\([^)]*\)\s*")
_SUBDIVISION: Final = re.compile(r"[A-Za-z]{2}-[A-Za-z0-9]{1,3}")


def normalise_country(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code ``text`` names exactly, or ``None`` if it is unknown.

    Accepts alpha-2, alpha-3 and numeric codes, ISO 3166-2 subdivision codes (``US-DE`` ->
    ``US``), pycountry's names, the alias table, US state names, and one level of structure
    around them: a parenthesised remark ("United Kingdom (England And Wales)") or a place
    before a comma ("Minnesota, Usa"). Case, punctuation and "&"/"and" do not matter.
    """
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if not stripped or len(stripped) > 200:
        return None
    if _SUBDIVISION.fullmatch(stripped):
        return _subdivision_country(stripped.upper())
    for candidate in _candidates(stripped):
        code = _lookup(_key(candidate))
        if code is not None:
            return code
    return None


def _candidates(text: str) -> list[str]:
    """The whole text, then without parenthesised remarks, then the part after the last comma."""
    out = [text]
    bare = _PARENTHESISED.sub(" ", text).strip()
    if bare and bare != text:
        out.append(bare)
    inner = re.findall(r"\(([^)]*)\)", text)
    out += [part for part in inner if part.strip()]
    if "," in bare:
        out.append(bare.rsplit(",", 1)[1])
    return out


def _key(text: str) -> str:
    """Fold case, accents, '&', punctuation and spacing so that register spellings compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = folded.casefold().replace("&", " and ")
    folded = _PUNCTUATION.sub("", folded)
    return _SPACES.sub(" ", folded).strip()


def _lookup(key: str) -> str | None:
    return _index().get(key) if key else None


@cache
def _index() -> dict[str, str]:
    """Folded codes and names of every country, then US state names, then the aliases.

    US state names ("Delaware") are common in registers for US incorporations; a name that is
    also a country's ("Georgia") stays the country's.
    """
    out: dict[str, str] = {}
    for sub in cast(Any, pycountry.subdivisions).get(country_code="US") or ():
        if sub.type in ("State", "District"):
            out[_key(sub.name)] = "US"
    for country in pycountry.countries:
        code: str = country.alpha_2
        names = [country.alpha_2, country.alpha_3, country.numeric, country.name]
        names += [getattr(country, a, "") for a in ("official_name", "common_name")]
        for name in names:
            if name:
                out[_key(name)] = code
    out.update(ALIASES)
    return out


@cache
def _subdivision_country(code: str) -> str | None:
    try:
        sub = cast(Any, pycountry.subdivisions).get(code=code)
    except (KeyError, LookupError):
        return None
    if sub is None:
        return None
    country: str = sub.country_code
    return country

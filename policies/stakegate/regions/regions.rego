# METADATA
# title: Region matching
# description: |
#   The only place that decides whether a jurisdiction or headquarters code is known, and whether
#   it is restricted. A code is known when it is an ISO 3166-1 alpha-2 or ISO 3166-2 code
#   (data.stakegate.iso3166, see scripts/gen_iso3166.py) or a configured user-assigned code. A
#   configured country matches itself and its ISO 3166-2 subdivisions (RU matches RU-MOW); a
#   configured subdivision (UA-43) matches only itself. Both ignore case. An unknown code matches
#   no region: it is neither restricted nor clear, and the rules give it review.
package stakegate.regions

import data.stakegate.iso3166
import data.stakegate.params

# METADATA
# title: Classification
# description: |
#   Maps each restricted code of input.codes, as given, to the configured region that matched
#   (the country when both a country and one of its subdivisions are configured).
#   Codes that match nothing, and unknown codes, are left out. Undefined when the config is
#   invalid. Superseded by data.stakegate.view.policy, which classifies every known code at once.
# entrypoint: true
# schemas:
#   - input: schema["codes.schema"]
classification := {code: region |
	some code in object.get(input, "codes", [])
	region := matched_region(code, restricted)
} if {
	restricted := params.regions
}

# METADATA
# title: Known classification
# description: |
#   {code: region or null} for every known code (upper case) under the `restricted` regions and
#   the `user_assigned` codes (both sets of upper-case codes), as region_of gives it: what
#   data.stakegate.view.policy reports, so that a code is restricted, clear or (absent) unknown.
#   Built without a pass over the codes (a few thousand): iso3166.codes maps every code to null
#   already; the user-assigned codes are added, then the restricted ones set over them, those of
#   a restricted country (from the iso3166 subdivision index) last, as region_of prefers the
#   country.
known_classification(restricted, user_assigned) := object.union_n([
	iso3166.codes,
	{code: null | some code in user_assigned},
	{region: region | some region in restricted},
	{code: country | some country in restricted; some code in object.get(iso3166.subdivisions, country, [])},
])

# METADATA
# title: Known code
# description: |
#   True when `code`, in any case (of ASCII letters), is an ISO 3166 code or one of
#   `user_assigned` (upper case). iso3166.codes maps each code to null: a present key still
#   succeeds in a body (only false and undefined fail).
is_known(code, _) if iso3166.codes[_normalized(code)]

is_known(code, user_assigned) if _normalized(code) in user_assigned

# The code in upper case, when it can be a code at all (ASCII letters, digits and "-"). Unicode
# case mapping turns some other letters into ASCII ones (upper("ſg") is "SG"), and differently
# in Python ("ß".upper() is "SS"), so such strings stay unknown, as the Python side reads them.
_normalized(code) := upper(code) if {
	is_string(code)
	regex.match(`^[A-Za-z0-9-]+$`, code)
}

# METADATA
# title: Matched region
# description: The configured region in `restricted` (a set of upper-case codes) that `code` matches.
matched_region(code, restricted) := region if {
	region := region_of(code, restricted)
	region != null
}

# METADATA
# title: Region of a code
# description: |
#   matched_region, or null when `code` matches no region. Always defined, so OPA memoizes it per
#   code: most codes match nothing, and an undefined result would be recomputed for every entity.
#   `restricted` holds known codes only (params validates them), so a code that equals one is
#   known; a subdivision matches its country only when it is an ISO 3166-2 code.
region_of(code, restricted) := country if {
	normalized := _normalized(code)
	iso3166.codes[normalized]
	country := substring(normalized, 0, 2)
	startswith(normalized, concat("", [country, "-"]))
	restricted[country]
} else := normalized if {
	normalized := _normalized(code)
	restricted[normalized]
} else := null

# METADATA
# title: Restricted classification
# description: |
#   {code: region} for every known code (upper case) that matches one of the `restricted` regions
#   (a set of upper-case known codes), as known_classification maps it: the regions themselves and
#   the subdivisions of each restricted country. What the policy view gives per regime, so that
#   the engine classifies codes under each regime's regions without a classification per regime.
restricted_classification(restricted) := object.union(
	{region: region | some region in restricted},
	{code: country | some country in restricted; some code in object.get(iso3166.subdivisions, country, [])},
)

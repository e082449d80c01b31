# METADATA
# title: Region matching
# description: |
#   The only place that decides whether a jurisdiction or headquarters code is restricted.
#   A configured country matches itself and its ISO 3166-2 subdivisions (RU matches RU-MOW);
#   a configured subdivision (UA-43) matches only itself. Matching ignores case.
package stakegate.regions

import data.stakegate.params

_subdivision_pattern := `^[A-Z]{2}-[A-Z0-9]{1,3}$`

_country_pattern := `^[A-Z]{2}$`

# METADATA
# title: Classification
# description: |
#   Maps each restricted code of input.codes, as given, to the configured region that matched
#   (the country when both a country and one of its subdivisions are configured).
#   Codes that match nothing are left out. Undefined when the config is invalid.
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
region_of(code, restricted) := min(matches) if {
	matches := {region |
		some region in restricted
		is_match(code, region)
	}
	matches != set()
} else := null

# METADATA
# title: Match
# description: True when `code` is `region`, or a subdivision of the country `region`, in any case.
is_match(code, region) if {
	is_string(code)
	upper(code) == region
}

is_match(code, region) if {
	is_string(code)
	regex.match(_country_pattern, region)
	normalized := upper(code)
	regex.match(_subdivision_pattern, normalized)
	startswith(normalized, concat("", [region, "-"]))
}

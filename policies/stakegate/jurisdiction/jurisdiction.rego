# METADATA
# title: Jurisdiction rules
# description: |
#   Reasons from the entity's own location: its jurisdiction (incorporation; a person's residence;
#   a state's country) or its headquarters in a restricted region, or no jurisdiction at all.
#   `restricted` is the set of configured regions (params.regions).
package stakegate.jurisdiction

import data.stakegate.regions
import data.stakegate.result

# METADATA
# title: Jurisdiction reasons
# description: The reasons of this package for one entity's facts, in a fixed order.
reasons(facts, restricted) := [] if {
	# Most entities: a known jurisdiction, nothing restricted; checked without a reason rule.
	not is_restricted(facts, restricted)
	_has_code(_value(facts, "jurisdiction"))
} else := [r |
	some check in ["jurisdiction", "headquarters", "unknown"]
	r := _reason(check, facts, restricted)
]

# METADATA
# title: Restricted by location
# description: True when the entity's jurisdiction or headquarters is in a restricted region.
default is_restricted(_, _) := false

is_restricted(facts, restricted) if {
	some field in ["jurisdiction", "headquarters"]
	regions.region_of(object.get(facts, field, null), restricted) != null
}

# METADATA
# title: Restricted jurisdiction
# description: The entity's jurisdiction matches a restricted region.
# custom:
#   code: restricted_jurisdiction
#   severity: deny
restricted_jurisdiction(facts, restricted) := _location_reason(rego.metadata.rule(), "jurisdiction", facts, region) if {
	region := regions.matched_region(facts.jurisdiction, restricted)
}

# METADATA
# title: Restricted headquarters
# description: The entity's headquarters country matches a restricted region.
# custom:
#   code: restricted_headquarters
#   severity: deny
restricted_headquarters(facts, restricted) := _location_reason(rego.metadata.rule(), "headquarters", facts, region) if {
	region := regions.matched_region(facts.headquarters, restricted)
}

# METADATA
# title: Unknown jurisdiction
# description: |
#   The entity has no jurisdiction (absent, null or blank), so it may be restricted: review.
# custom:
#   code: unknown_jurisdiction
#   severity: review
unknown_jurisdiction(facts) := result.reason(rego.metadata.rule(), {"field": "jurisdiction"}) if {
	not _has_code(_value(facts, "jurisdiction"))
}

_reason("jurisdiction", facts, restricted) := restricted_jurisdiction(facts, restricted)

_reason("headquarters", facts, restricted) := restricted_headquarters(facts, restricted)

_reason("unknown", facts, _) := unknown_jurisdiction(facts)

_location_reason(annotations, field, facts, region) := result.reason(annotations, {
	"field": field,
	"value": facts[field],
	"region": region,
})

# A missing field reads as null: OPA hoists the arguments of a negated call out of the negation
# (open-policy-agent/opa#7558), so `not f(facts.x)` would be undefined, not true, without it.
_value(facts, field) := facts[field] if {
	is_object(facts)
} else := null

_has_code(value) if {
	is_string(value)
	trim_space(value) != ""
}

# METADATA
# title: Clear jurisdictions
# description: |
#   {code: true} for each of `codes` that is a known jurisdiction (a non-blank string) in no
#   region of `restricted`: an entity with such a jurisdiction gets no unknown_jurisdiction or
#   restricted_jurisdiction reason. Built once per query from the distinct codes of a batch.
clear_jurisdictions(codes, restricted) := {code: true |
	some code in codes
	_has_code(code)
	regions.region_of(code, restricted) == null
}

# METADATA
# title: Clear headquarters
# description: |
#   {code: true} for each string of `codes` in no region of `restricted`: an entity with such a
#   headquarters gets no restricted_headquarters reason. Built once per query, like
#   clear_jurisdictions.
clear_headquarters(codes, restricted) := {code: true |
	some code in codes
	is_string(code)
	regions.region_of(code, restricted) == null
}

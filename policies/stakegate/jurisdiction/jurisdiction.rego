# METADATA
# title: Jurisdiction rules
# description: |
#   Reasons from the entity's own location: its jurisdiction (incorporation; a person's residence;
#   a state's country) or its headquarters in a restricted region, no jurisdiction at all, or a
#   code that is not known (see data.stakegate.regions). `restricted` is the set of configured
#   regions (params.regions), `user_assigned` the configured user-assigned codes, and `policy`
#   is params.policy.
package stakegate.jurisdiction

import data.stakegate.regions
import data.stakegate.result

# METADATA
# title: Jurisdiction reasons
# description: The reasons of this package for one entity's facts, in a fixed order.
reasons(facts, policy) := [] if {
	# Most entities: known codes, nothing restricted; checked without a reason rule.
	not is_restricted(facts, policy.regions)
	regions.is_known(_value(facts, "jurisdiction"), policy.user_assigned_codes)
	not _is_unknown(_value(facts, "headquarters"), policy.user_assigned_codes)
} else := [r |
	some check in ["jurisdiction", "headquarters", "unknown_jurisdiction", "unknown_headquarters"]
	r := _reason(check, facts, policy)
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
#   The entity has no jurisdiction (absent, null or blank: details {"field": "jurisdiction"}), or
#   its `field` (jurisdiction or headquarters) holds a code that is not known (details {"field",
#   "value"}), so it may be restricted: review. A blank headquarters counts as absent.
# custom:
#   code: unknown_jurisdiction
#   severity: review
unknown_jurisdiction(facts, field, user_assigned) := result.reason(rego.metadata.rule(), details) if {
	details := _unknown_details(facts, field, user_assigned)
}

_unknown_details(facts, "jurisdiction", _) := {"field": "jurisdiction"} if {
	not _has_code(_value(facts, "jurisdiction"))
}

_unknown_details(facts, field, user_assigned) := {"field": field, "value": value} if {
	value := _value(facts, field)
	_is_unknown(value, user_assigned)
}

_reason("jurisdiction", facts, policy) := restricted_jurisdiction(facts, policy.regions)

_reason("headquarters", facts, policy) := restricted_headquarters(facts, policy.regions)

_reason("unknown_jurisdiction", facts, policy) := unknown_jurisdiction(
	facts, "jurisdiction",
	policy.user_assigned_codes,
)

_reason("unknown_headquarters", facts, policy) := unknown_jurisdiction(
	facts, "headquarters",
	policy.user_assigned_codes,
)

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

# A code is given (not blank) but not known.
_is_unknown(value, user_assigned) if {
	_has_code(value)
	not regions.is_known(value, user_assigned)
}

# METADATA
# title: Clear jurisdictions
# description: |
#   {code: true} for each of `codes` that is a known jurisdiction in no restricted region of
#   `policy`: an entity with such a jurisdiction gets no unknown_jurisdiction or
#   restricted_jurisdiction reason. Built once per query from the distinct codes of a batch.
clear_jurisdictions(codes, policy) := {code: true |
	some code in codes
	regions.is_known(code, policy.user_assigned_codes)
	regions.region_of(code, policy.regions) == null
}

# METADATA
# title: Clear headquarters
# description: |
#   {code: true} for each string of `codes` that is blank (no headquarters) or a known code in no
#   restricted region of `policy`: an entity with such a headquarters gets no
#   restricted_headquarters or unknown_jurisdiction reason. Built once per query, like
#   clear_jurisdictions.
clear_headquarters(codes, policy) := {code: true |
	some code in codes
	is_string(code)
	not _is_unknown(code, policy.user_assigned_codes)
	regions.region_of(code, policy.regions) == null
}

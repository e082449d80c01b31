# METADATA
# title: Designation rules
# description: |
#   Reasons from the entity's own designations (facts.designations: {list, program?, since?,
#   until?}, as the registry records them): a designation on one of a regime's lists counts on
#   as_of when since <= as_of < until, an absent bound open (registry/dates.py live_at, the same
#   rule). A delisted party's designation no longer counts from its `until` day.
package stakegate.designations

import data.stakegate.params
import data.stakegate.result

_fields := {"list", "program", "since", "until"}

# METADATA
# title: Designation reasons
# description: |
#   One designated reason per designation of `facts` that is on one of `lists` (a set of list
#   ids) and counts on `as_of`, in the order of facts.designations.
reasons(facts, lists, as_of) := [designated(d) |
	some d in object.get(facts, "designations", [])
	is_live(d, lists, as_of)
]

# METADATA
# title: Designated
# description: The entity is itself on one of the regime's lists on the day decided for.
# custom:
#   code: designated
#   severity: deny
designated(designation) := result.reason(rego.metadata.rule(), object.filter(designation, _fields))

# METADATA
# title: Live designation
# description: The designation `d` is on one of `lists` and counts on `as_of` (since <= as_of < until).
is_live(d, lists, as_of) if {
	lists[d.list]
	_started(d, as_of)
	_not_ended(d, as_of)
}

_started(d, _) if object.get(d, "since", null) == null

_started(d, as_of) if d.since <= as_of

_not_ended(d, _) if object.get(d, "until", null) == null

_not_ended(d, as_of) if as_of < d.until

# METADATA
# title: Well-formed designations
# description: |
#   facts.designations is absent, or a list of {list (a non-blank string), program? (a string),
#   since?, until? (YYYY-MM-DD)} with nothing else: what the engine sends.
default is_well_formed(_) := false

is_well_formed(facts) if {
	not "designations" in object.keys(facts)
}

is_well_formed(facts) if {
	is_array(facts.designations)
	every d in facts.designations {
		_is_designation(d)
	}
}

_is_designation(d) if {
	is_object(d)
	every key in object.keys(d) {
		key in _fields
	}
	is_string(d.list)
	trim_space(d.list) != ""
	is_string(object.get(d, "program", ""))
	_is_optional_date(object.get(d, "since", null))
	_is_optional_date(object.get(d, "until", null))
}

_is_optional_date(null)

_is_optional_date(value) if params.is_date(value)

# METADATA
# title: Facts validation
# description: |
#   Fail closed on malformed facts: an entity whose facts do not have the shape of
#   schemas/facts.schema.json (or an input without a valid as_of) gets only the invalid_facts
#   reason, so its decision is review. Every check is a default-false function, so a missing
#   fact makes its check false rather than silencing it.
package stakegate.validation

import data.stakegate.params
import data.stakegate.result

_entity_types := {"company", "person", "state", "other"}

# METADATA
# title: Invalid facts
# description: The entity's facts, or the input's as_of, are missing or malformed.
# custom:
#   code: invalid_facts
#   severity: review
invalid_facts(facts, as_of, policy) := result.reason(rego.metadata.rule(), {"fields": sort(fields)}) if {
	fields := problems(facts, as_of, policy)
	fields != set()
}

# METADATA
# title: Problems
# description: Names of the missing or malformed fields ("entity" when the facts are not an object).
problems(facts, as_of, policy) := _entity_problems(facts, policy) | {field |
	some field, is_ok in {"as_of": params.is_date(as_of)}
	not is_ok
}

_entity_problems(facts, _) := {"entity"} if not is_object(facts)

_entity_problems(facts, policy) := {field |
	some field, is_ok in _checks(facts, policy)
	not is_ok
} if {
	is_object(facts)
}

_checks(facts, policy) := {
	"id": _is_text(object.get(facts, "id", null)),
	"type": object.get(facts, "type", null) in _entity_types,
	"name": _is_optional_text(facts, "name"),
	"jurisdiction": _is_optional_text(facts, "jurisdiction"),
	"headquarters": _is_optional_text(facts, "headquarters"),
	"faults": _is_optional_list(facts, "faults"),
	"ownership.control": _is_interval(facts, "control", policy),
	"ownership.look_through": _is_interval(facts, "look_through", policy),
}

default _is_text(_) := false

_is_text(value) if {
	is_string(value)
	trim_space(value) != ""
}

default _is_optional_text(_, _) := false

_is_optional_text(facts, field) if object.get(facts, field, null) == null

_is_optional_text(facts, field) if is_string(facts[field])

default _is_optional_list(_, _) := false

_is_optional_list(facts, field) if object.get(facts, field, null) == null

_is_optional_list(facts, field) if is_array(facts[field])

# Takes the whole facts, not the interval: OPA memoizes calls by their arguments and hashes numbers
# by their integer part, so interval arguments would make a batch quadratic (see ownership.rego).
default _is_interval(_, _, _) := false

_is_interval(facts, method, policy) if {
	interval := facts.ownership[method]
	is_object(interval)
	is_number(interval.min)
	is_number(interval.max)
	interval.min >= params.percent_range.min
	interval.min <= params.percent_range.max
	interval.max >= params.percent_range.min
	interval.max <= params.percent_range.max
	interval.min <= interval.max + policy.threshold.tolerance
	is_boolean(interval.min_exclusive)
	is_boolean(interval.max_exclusive)
	is_array(interval.paths)
	is_array(interval.evidence)
}

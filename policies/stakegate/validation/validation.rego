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

# METADATA
# title: Entity types
# description: The values of facts.type (schemas/facts.schema.json).
entity_types := {"company", "person", "state", "other"}

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
# title: Well-formed facts
# description: |
#   A quick and strict test of one entity's facts: exactly the shape the engine sends, every
#   share within percent_range and min <= max. It implies that `problems` finds nothing but
#   as_of, so the decision runs the full check only when this one fails (a facts document the
#   engine already validated against schemas/facts.schema.json never does).
is_well_formed(facts, policy) if {
	is_string(facts.id)
	trim_space(facts.id) != ""
	facts.type in entity_types
	is_string(object.get(facts, "name", ""))
	is_string(object.get(facts, "jurisdiction", ""))
	is_string(object.get(facts, "headquarters", ""))
	is_array(object.get(facts, "faults", []))
	range := policy.percent_range

	# Inline rather than a function per method: a call costs more than these checks.
	{"control": control, "look_through": look_through} := facts.ownership
	{
		"min": control_min, "max": control_max, "min_exclusive": control_min_exclusive,
		"max_exclusive": control_max_exclusive, "paths": control_paths, "evidence": control_evidence,
	} := control
	is_number(control_min)
	is_number(control_max)
	range.min <= control_min
	control_min <= control_max
	control_max <= range.max
	is_boolean(control_min_exclusive)
	is_boolean(control_max_exclusive)
	is_array(control_paths)
	is_array(control_evidence)
	{
		"min": look_through_min, "max": look_through_max, "min_exclusive": look_through_min_exclusive,
		"max_exclusive": look_through_max_exclusive, "paths": look_through_paths,
		"evidence": look_through_evidence,
	} := look_through
	is_number(look_through_min)
	is_number(look_through_max)
	range.min <= look_through_min
	look_through_min <= look_through_max
	look_through_max <= range.max
	is_boolean(look_through_min_exclusive)
	is_boolean(look_through_max_exclusive)
	is_array(look_through_paths)
	is_array(look_through_evidence)
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
	"type": object.get(facts, "type", null) in entity_types,
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

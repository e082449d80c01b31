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
	"ownership.control": _is_interval(object.get(facts, ["ownership", "control"], null), policy),
	"ownership.look_through": _is_interval(object.get(facts, ["ownership", "look_through"], null), policy),
}

default _is_text(_) := false

_is_text(value) if {
	is_string(value)
	trim_space(value) != ""
}

default _is_optional_text(_, _) := false

_is_optional_text(facts, field) if object.get(facts, field, null) == null

_is_optional_text(facts, field) if is_string(facts[field])

default _is_interval(_, _) := false

_is_interval(interval, policy) if {
	is_object(interval)
	params.is_percent(interval.min)
	params.is_percent(interval.max)
	interval.min <= interval.max + policy.threshold.tolerance
	is_boolean(interval.min_exclusive)
	is_boolean(interval.max_exclusive)
	is_array(interval.paths)
	is_array(interval.evidence)
}

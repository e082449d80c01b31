package stakegate.validation_test

import data.stakegate.validation

_policy := {"threshold": {"value": 50, "comparison": ">", "tolerance": 1e-9}}

_share := {"min": 60, "max": 60, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []}

_facts := {
	"id": "acme-sg", "name": "Acme Pte Ltd", "type": "company",
	"jurisdiction": "SG", "headquarters": "CN",
	"ownership": {"control": _share, "look_through": _share},
}

_without(field) := object.remove(_facts, [field])

_with(field, value) := object.union(_facts, {field: value})

_with_share(method, share) := object.union(object.remove(_facts, ["ownership"]), {"ownership": object.union(
	object.remove(_facts.ownership, [method]),
	{method: share},
)})

_invalid(fields) := {"code": "invalid_facts", "severity": "review", "fields": fields}

test_invalid_facts_valid if {
	not validation.invalid_facts(_facts, "2026-11-27", _policy)
	not validation.invalid_facts(_without("name"), "2026-11-27", _policy)
	not validation.invalid_facts(_without("jurisdiction"), "2026-11-27", _policy)
	not validation.invalid_facts(_with("headquarters", null), "2026-11-27", _policy)
	widest := object.union(_share, {"min": 0, "max": 100})
	not validation.invalid_facts(_with_share("control", widest), "2026-11-27", _policy)
}

test_invalid_facts_missing_id if {
	validation.invalid_facts(_without("id"), "2026-11-27", _policy) == _invalid(["id"])
	validation.invalid_facts(_with("id", " "), "2026-11-27", _policy) == _invalid(["id"])
}

test_invalid_facts_missing_type if {
	validation.invalid_facts(_without("type"), "2026-11-27", _policy) == _invalid(["type"])
	validation.invalid_facts(_with("type", "trust"), "2026-11-27", _policy) == _invalid(["type"])
}

test_invalid_facts_malformed_codes if {
	validation.invalid_facts(_with("jurisdiction", 86), "2026-11-27", _policy) == _invalid(["jurisdiction"])
	validation.invalid_facts(_with("headquarters", ["CN"]), "2026-11-27", _policy) == _invalid(["headquarters"])
	validation.invalid_facts(_with("name", 1), "2026-11-27", _policy) == _invalid(["name"])
}

test_invalid_facts_missing_ownership if {
	r := validation.invalid_facts(_without("ownership"), "2026-11-27", _policy)
	r == _invalid(["ownership.control", "ownership.look_through"])
}

test_invalid_facts_missing_share_fields if {
	every field in ["min", "max", "min_exclusive", "max_exclusive", "paths", "evidence"] {
		share := object.remove(_share, [field])
		validation.invalid_facts(_with_share("control", share), "2026-11-27", _policy) == _invalid(["ownership.control"])
	}
}

test_invalid_facts_share_out_of_range if {
	high := object.union(_share, {"max": 100.5})
	r := validation.invalid_facts(_with_share("look_through", high), "2026-11-27", _policy)
	r == _invalid(["ownership.look_through"])
	negative := object.union(_share, {"min": -1})
	validation.invalid_facts(_with_share("control", negative), "2026-11-27", _policy) == _invalid(["ownership.control"])
	inverted := object.union(_share, {"min": 70, "max": 60})
	validation.invalid_facts(_with_share("control", inverted), "2026-11-27", _policy) == _invalid(["ownership.control"])
}

test_invalid_facts_share_min_above_max_within_tolerance if {
	noisy := object.union(_share, {"min": 50.0000000000001, "max": 50})
	not validation.invalid_facts(_with_share("control", noisy), "2026-11-27", _policy)
}

test_invalid_facts_missing_as_of if {
	validation.invalid_facts(_facts, null, _policy) == _invalid(["as_of"])
	validation.invalid_facts(_facts, "2026-11-27T10:00:00Z", _policy) == _invalid(["as_of"])
}

test_invalid_facts_not_an_object if {
	validation.invalid_facts("acme-sg", "2026-11-27", _policy) == _invalid(["entity"])
	validation.invalid_facts(null, null, _policy) == _invalid(["as_of", "entity"])
}

test_problems_everything_missing if {
	validation.problems({}, "2026-11-27", _policy) == {"id", "type", "ownership.control", "ownership.look_through"}
}

test_invalid_facts_faults_not_a_list if {
	validation.invalid_facts(_with("faults", "oversubscribed"), "2026-11-27", _policy) == _invalid(["faults"])
	not validation.invalid_facts(_with("faults", []), "2026-11-27", _policy)
	not validation.invalid_facts(_with("faults", null), "2026-11-27", _policy)
}

_ranged := object.union(_policy, {"percent_range": {"min": 0, "max": 100}})

test_is_well_formed_valid if {
	validation.is_well_formed(_facts, _ranged)
	validation.is_well_formed(_without("name"), _ranged)
	validation.is_well_formed(_with("faults", []), _ranged)
	validation.problems(_facts, "2026-11-27", _ranged) == set()
}

test_is_well_formed_strict_but_valid if {
	# Stricter than problems: these fall back to the full check, which accepts them.
	every facts in [
		_with("headquarters", null),
		_with_share("control", object.union(_share, {"min": 60.0000000000001})),
		_with_share("control", object.union(_share, {"note": "extra"})),
	] {
		not validation.is_well_formed(facts, _ranged)
		not validation.invalid_facts(facts, "2026-11-27", _ranged)
	}
}

test_is_well_formed_malformed if {
	every facts in [
		_without("id"), _with("id", " "), _with("type", "trust"), _with("name", 1),
		_with("jurisdiction", 86), _with("faults", "x"), _without("ownership"),
		_with_share("control", object.remove(_share, ["paths"])),
		_with_share("look_through", object.union(_share, {"max": 100.5})),
		_with_share("look_through", object.union(_share, {"min": -1})),
		_with_share("control", object.union(_share, {"min": "60"})),
		_with_share("control", object.union(_share, {"min_exclusive": null})),
		"acme-sg",
	] {
		not validation.is_well_formed(facts, _ranged)
		validation.problems(facts, "2026-11-27", _ranged) != set()
	}
}

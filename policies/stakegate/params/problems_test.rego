# Tests of problems.rego (_config and _exception are in params_test.rego, the same package).
package stakegate.params_test

import data.stakegate.params

# The problems of _config with one parameter replaced.
_problems(key, value) := problems if {
	problems := params.problems with data.stakegate.config as object.union(_config, {key: value})
}

_problem(parameter, value, message) := {"parameter": parameter, "value": value, "message": message}

test_problems_method if {
	_problems("method", "majority") == {_problem(
		"method", "majority",
		`method: "majority" is not one of "control", "look_through", "either"`,
	)}
	not params.effective with data.stakegate.config as _config with data.stakegate.config.method as "majority"
}

test_problems_comparison if {
	_problems("threshold_comparison", "<") == {_problem(
		"threshold_comparison", "<",
		`threshold_comparison: "<" is not one of ">", ">="`,
	)}
}

test_problems_threshold if {
	_problems("ownership_threshold", 150) == {_problem(
		"ownership_threshold", 150,
		"ownership_threshold: 150 is not a percent in [0, 100]",
	)}
	count(_problems("ownership_threshold", -1)) == 1
	_problems("ownership_threshold", "50") == {_problem(
		"ownership_threshold", "50",
		`ownership_threshold: "50" is not a percent in [0, 100]`,
	)}
}

test_problems_tolerance if {
	_problems("percent_tolerance", -1) == {_problem("percent_tolerance", -1, "percent_tolerance: -1 is not a number >= 0")}
	count(_problems("percent_tolerance", null)) == 1
}

test_problems_restricted_regions if {
	_problems("restricted_regions", ["CN", "XX", "Belarus"]) == {
		_problem(
			"restricted_regions", "XX",
			`restricted_regions: "XX" is not an ISO 3166 code (nor one of user_assigned_codes)`,
		),
		_problem(
			"restricted_regions", "Belarus",
			`restricted_regions: "Belarus" is not an ISO 3166 code (nor one of user_assigned_codes)`,
		),
	}
	every codes in [["RU-"], ["CN", 7], ["QQ-123"], ["ZZ"], ["XK"], ["CN-ZZZ"], [" CN"]] {
		count(_problems("restricted_regions", codes)) == 1
	}
	_problems("restricted_regions", "CN") == {_problem(
		"restricted_regions", "CN",
		`restricted_regions: "CN" is not a list of codes`,
	)}
	_problems("restricted_regions", []) == set()
	_problems("restricted_regions", ["by", "UA-43", "gb-eng"]) == set()
}

test_problems_user_assigned_codes if {
	_problems("user_assigned_codes", ["XK", "FR", "QQ-1"]) == {
		_problem(
			"user_assigned_codes", "FR",
			`user_assigned_codes: "FR" is not a user-assigned ISO 3166-1 alpha-2 code (AA, QM-QZ, XA-XZ, ZZ)`,
		),
		_problem(
			"user_assigned_codes", "QQ-1",
			`user_assigned_codes: "QQ-1" is not a user-assigned ISO 3166-1 alpha-2 code (AA, QM-QZ, XA-XZ, ZZ)`,
		),
	}
	every code in ["AA", "QM", "QZ", "XA", "XZ", "ZZ", "xk"] {
		_problems("user_assigned_codes", [code]) == set()
	}
	every code in ["QL", "AB", "ZY", "X", "ẋk", "XKK", 7, null] {
		count(_problems("user_assigned_codes", [code])) == 1
	}
	count(_problems("user_assigned_codes", "XK")) == 1
}

test_problems_restricted_user_assigned_code if {
	# A restricted user-assigned code must be configured as one.
	config := object.union(_config, {"restricted_regions": ["CN", "XK"], "user_assigned_codes": ["XK"]})
	params.problems == set() with data.stakegate.config as config
	params.regions == {"CN", "XK"} with data.stakegate.config as config
	bad := object.union(config, {"user_assigned_codes": ["XK", "FR"]})
	{p.parameter | some p in params.problems} == {"user_assigned_codes"} with data.stakegate.config as bad
}

test_problems_exceptions if {
	no_approver := object.remove(_exception, ["approver"])
	bad_date := object.union(_exception, {"expires": "31/12/2026"})
	blank_reason := object.union(_exception, {"reason": " "})
	problems := _problems("exceptions", [_exception, no_approver, bad_date, blank_reason, "acme-sg"])
	{p.value | some p in problems} == {no_approver, bad_date, blank_reason, "acme-sg"}
	{p.parameter | some p in problems} == {"exceptions"}
	_problem(
		"exceptions", "acme-sg",
		`exceptions: "acme-sg" is not an exception {"entity", "reason", "approver", "expires": "YYYY-MM-DD"}`,
	) in problems
	count(_problems("exceptions", {})) == 1
}

test_problems_consolidation_share if {
	every band in [
		null, 50, {"min": 60, "max": 40}, {"min": 0, "max": 101},
		{"min": 0, "max": 100, "min_exclusive": "yes"}, {"min": 0, "max": 100, "mni": 1},
	] {
		{p.parameter | some p in _problems("consolidation_share", band)} == {"consolidation_share"}
	}
	effective := params.effective with data.stakegate.config as _config
		with data.stakegate.config.consolidation_share as {"min": 0, "max": 100}
	effective.consolidation_share == {"min": 0, "max": 100}
}

test_problems_missing_and_unknown_parameters if {
	config := object.union(object.remove(_config, ["method"]), {"ownership_treshold": 25})
	params.problems == {
		{"parameter": "method", "value": null, "message": "method: missing"},
		_problem("ownership_treshold", 25, "ownership_treshold: 25 is not a parameter"),
	} with data.stakegate.config as config
	not params.effective with data.stakegate.config as config
}

test_problems_missing_config if {
	every config in [{}, ["CN"], null] {
		names := {p.parameter | some p in params.problems} with data.stakegate.config as config
		names == {
			"method", "threshold_comparison", "ownership_threshold", "percent_tolerance",
			"restricted_regions", "user_assigned_codes", "exceptions", "consolidation_share",
		}
		not params.effective with data.stakegate.config as config
	}
}

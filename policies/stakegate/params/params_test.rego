package stakegate.params_test

import data.stakegate.params

_config := data.stakegate.testdata.config

_exception := {"entity": "acme-sg", "reason": "licence", "approver": "legal", "expires": "2026-12-31"}

_effective := {
	"restricted_regions": ["CN", "IR", "KP", "RU"],
	"user_assigned_codes": [],
	"threshold": 50,
	"comparison": ">",
	"method": "control",
	"percent_tolerance": 1e-9,
	"consolidation_share": {"min": 50, "max": 100, "min_exclusive": true},
}

test_effective_valid_config if {
	params.effective == _effective with data.stakegate.config as _config
	params.problems == set() with data.stakegate.config as _config
}

test_effective_regions_upper_case_sorted_unique if {
	effective := params.effective with data.stakegate.config as _config
		with data.stakegate.config.restricted_regions as ["ru", "CN", "ua-43", "RU"]
	effective.restricted_regions == ["CN", "RU", "UA-43"]
}

test_effective_other_valid_settings if {
	effective := params.effective with data.stakegate.config as object.union(_config, {
		"method": "either",
		"threshold_comparison": ">=",
		"ownership_threshold": 25.5,
		"percent_tolerance": 0,
		"exceptions": [_exception],
		"user_assigned_codes": ["xk", "ZZ", "XK"],
		"restricted_regions": ["CN", "xk"],
	})
	effective == {
		"restricted_regions": ["CN", "XK"],
		"user_assigned_codes": ["XK", "ZZ"],
		"threshold": 25.5,
		"comparison": ">=",
		"method": "either",
		"percent_tolerance": 0,
		"consolidation_share": {"min": 50, "max": 100, "min_exclusive": true},
	}
}

test_policy_valid_config if {
	params.policy == {
		"method": "control",
		"methods": ["control"],
		"reported_methods": ["control", "look_through"],
		"threshold": {
			"value": 50, "comparison": ">", "tolerance": 1e-9,
			"exceeds": 50.000000001, "reaches": 49.999999999,
		},
		"regions": {"CN", "RU", "KP", "IR"},
		"user_assigned_codes": set(),
		"exceptions": [],
		"percent_range": {"min": 0, "max": 100},
	} with data.stakegate.config as _config
}

_policy_for(method) := policy if {
	policy := params.policy with data.stakegate.config as object.union(_config, {"method": method})
}

test_policy_methods_per_setting if {
	_policy_for("look_through").methods == ["look_through"]
	_policy_for("either").methods == ["control", "look_through"]
}

test_policy_invalid_config_undefined if {
	not params.policy with data.stakegate.config as _config with data.stakegate.config.method as "majority"
	not params.regions with data.stakegate.config as _config with data.stakegate.config.method as "majority"
	not params.user_assigned_codes with data.stakegate.config as _config with data.stakegate.config.method as "x"
}

test_is_percent_cases if {
	params.is_percent(0)
	params.is_percent(100)
	params.is_percent(49.99999999999999)
	not params.is_percent(100.1)
	not params.is_percent("50")
	not params.is_percent(null)
}

test_is_date_cases if {
	params.is_date("2026-11-27")
	not params.is_date("2026-13-01")
	not params.is_date("2026-11-27T00:00:00Z")
	not params.is_date(20261127)
	not params.is_date(null)
}

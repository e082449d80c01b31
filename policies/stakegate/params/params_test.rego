package stakegate.params_test

import data.stakegate.params

_exception := {"entity": "acme-sg", "reason": "licence", "approver": "legal", "expires": "2026-12-31"}

test_effective_shipped_config if {
	params.effective == {
		"restricted_regions": ["CN", "IR", "KP", "RU"],
		"threshold": 50,
		"comparison": ">",
		"method": "control",
		"percent_tolerance": 1e-9,
		"consolidation_share": {"min": 50, "max": 100, "min_exclusive": true},
	}
	params.problems == set()
}

test_effective_regions_upper_case_sorted_unique if {
	effective := params.effective with data.stakegate.config.restricted_regions as ["ru", "CN", "ua-43", "RU"]
	effective.restricted_regions == ["CN", "RU", "UA-43"]
}

test_effective_other_valid_settings if {
	effective := params.effective with data.stakegate.config.method as "either"
		with data.stakegate.config.threshold_comparison as ">="
		with data.stakegate.config.ownership_threshold as 25.5
		with data.stakegate.config.percent_tolerance as 0
		with data.stakegate.config.exceptions as [_exception]
	effective == {
		"restricted_regions": ["CN", "IR", "KP", "RU"],
		"threshold": 25.5,
		"comparison": ">=",
		"method": "either",
		"percent_tolerance": 0,
		"consolidation_share": {"min": 50, "max": 100, "min_exclusive": true},
	}
}

test_effective_invalid_method_undefined if {
	not params.effective with data.stakegate.config.method as "majority"
	params.problems == {"method"} with data.stakegate.config.method as "majority"
}

test_effective_missing_method_undefined if {
	not params.effective with data.stakegate.config as object.remove(data.stakegate.config, ["method"])
}

test_effective_invalid_comparison_undefined if {
	not params.effective with data.stakegate.config.threshold_comparison as "<"
	params.problems == {"threshold_comparison"} with data.stakegate.config.threshold_comparison as "<"
}

test_effective_threshold_out_of_range_undefined if {
	not params.effective with data.stakegate.config.ownership_threshold as 101
	not params.effective with data.stakegate.config.ownership_threshold as -1
}

test_effective_threshold_not_number_undefined if {
	not params.effective with data.stakegate.config.ownership_threshold as "50"
	params.problems == {"ownership_threshold"} with data.stakegate.config.ownership_threshold as "50"
}

test_effective_negative_tolerance_undefined if {
	not params.effective with data.stakegate.config.percent_tolerance as -1e-9
	params.problems == {"percent_tolerance"} with data.stakegate.config.percent_tolerance as -1e-9
}

test_effective_tolerance_not_number_undefined if {
	not params.effective with data.stakegate.config.percent_tolerance as null
}

test_effective_invalid_region_undefined if {
	not params.effective with data.stakegate.config.restricted_regions as ["CN", "China"]
	not params.effective with data.stakegate.config.restricted_regions as ["CN", 7]
	not params.effective with data.stakegate.config.restricted_regions as "CN"
	params.problems == {"restricted_regions"} with data.stakegate.config.restricted_regions as ["RU-"]
}

test_effective_invalid_exception_undefined if {
	no_approver := object.remove(_exception, ["approver"])
	not params.effective with data.stakegate.config.exceptions as [no_approver]
	bad_date := object.union(_exception, {"expires": "31/12/2026"})
	not params.effective with data.stakegate.config.exceptions as [bad_date]
	blank_reason := object.union(_exception, {"reason": " "})
	params.problems == {"exceptions"} with data.stakegate.config.exceptions as [blank_reason]
	not params.effective with data.stakegate.config.exceptions as ["acme-sg"]
}

test_effective_missing_config_undefined if {
	not params.effective with data.stakegate.config as {}
	params.problems == {
		"method", "threshold_comparison", "ownership_threshold",
		"percent_tolerance", "restricted_regions", "exceptions", "consolidation_share",
	} with data.stakegate.config as {}
}

test_effective_config_not_object_undefined if {
	not params.effective with data.stakegate.config as ["CN"]
	params.problems == {
		"method", "threshold_comparison", "ownership_threshold",
		"percent_tolerance", "restricted_regions", "exceptions", "consolidation_share",
	} with data.stakegate.config as ["CN"]
}

test_policy_shipped_config if {
	params.policy == {
		"method": "control",
		"methods": ["control"],
		"reported_methods": ["control", "look_through"],
		"threshold": {
			"value": 50, "comparison": ">", "tolerance": 1e-9,
			"exceeds": 50.000000001, "reaches": 49.999999999,
		},
		"regions": {"CN", "RU", "KP", "IR"},
		"exceptions": [],
		"percent_range": {"min": 0, "max": 100},
	}
}

test_policy_methods_per_setting if {
	params.policy.methods == ["look_through"] with data.stakegate.config.method as "look_through"
	params.policy.methods == ["control", "look_through"] with data.stakegate.config.method as "either"
}

test_policy_invalid_config_undefined if {
	not params.policy with data.stakegate.config.method as "majority"
	not params.regions with data.stakegate.config.method as "majority"
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

test_effective_consolidation_share_unknown_band if {
	band := {"min": 0, "max": 100}
	effective := params.effective with data.stakegate.config.consolidation_share as band
	effective.consolidation_share == band
}

test_effective_bad_consolidation_share_undefined if {
	every band in [
		null, 50, {"min": 60, "max": 40}, {"min": 0, "max": 101},
		{"min": 0, "max": 100, "min_exclusive": "yes"}, {"min": 0, "max": 100, "mni": 1},
	] {
		not params.effective with data.stakegate.config.consolidation_share as band
		params.problems == {"consolidation_share"} with data.stakegate.config.consolidation_share as band
	}
}

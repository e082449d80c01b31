package stakegate.config_test

import data.stakegate.config

test_config_shipped_defaults if {
	config == {
		"restricted_regions": ["CN", "RU", "KP", "IR"],
		"ownership_threshold": 50,
		"threshold_comparison": ">",
		"method": "control",
		"percent_tolerance": 1e-9,
		"consolidation_share": {"min": 50, "max": 100, "min_exclusive": true},
		"exceptions": [],
	}
}

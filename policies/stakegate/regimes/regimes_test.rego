package stakegate.regimes_test

import data.stakegate.params
import data.stakegate.regimes

_config := data.stakegate.testdata.config

test_presets_are_valid if {
	params.problems == set() with data.stakegate.config as _config
	object.keys(regimes.presets) == {"us-ofac-50", "eu-ownership", "uk-ownership", "us-bis-affiliates"}
}

test_every_window_names_a_preset_and_a_source if {
	every w in regimes.windows {
		regimes.presets[w.regime]
		trim_space(w.source) != ""
		trim_space(w.title) != ""
		params.is_date(w.from)
	}
}

# The Affiliates Rule: effective 2025-09-29, suspended 2025-11-10 through 2026-11-09, back on
# 2026-11-10.
test_bis_windows if {
	{[w.from, w.until] | some w in regimes.windows; w.regime == "us-bis-affiliates"} == {
		["2025-09-29", "2025-11-10"],
		["2026-11-10", null],
	}
}

test_uk_is_per_owner_over_50 if {
	regimes.presets["uk-ownership"].aggregation == "per_owner"
	regimes.presets["uk-ownership"].threshold_comparison == ">"
	regimes.presets["us-ofac-50"].threshold_comparison == ">="
	regimes.presets["us-ofac-50"].aggregation == "combined"
}

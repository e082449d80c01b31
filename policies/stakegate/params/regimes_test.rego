# Tests of regimes.rego (package stakegate.params).
package stakegate.params_test

import data.stakegate.params

_regime := {
	"title": "Test regime",
	"restricted_regions": [],
	"designation_lists": ["test_list"],
	"ownership_threshold": 25,
	"threshold_comparison": ">",
	"aggregation": "combined",
	"method": "look_through",
}

_with_regimes(regimes) := object.union(data.stakegate.testdata.config, {"regimes": regimes})

_regime_problems(regimes) := problems if {
	problems := params.problems with data.stakegate.config as _with_regimes(regimes)
}

_messages(regimes) := {p.message | some p in _regime_problems(regimes)}

test_regimes_default_first_then_by_name if {
	names := [r.name | some r in params.regimes] with data.stakegate.config as _with_regimes({"a-test": _regime})
	names == ["restricted-regions", "a-test", "eu-ownership", "uk-ownership", "us-bis-affiliates", "us-ofac-50"]
}

test_default_regime_is_the_top_level_rule if {
	config := object.union(data.stakegate.testdata.config, {
		"restricted_regions": ["by", "CN"],
		"ownership_threshold": 30,
		"threshold_comparison": ">=",
		"method": "either",
	})
	params.regimes[0] == {
		"name": "restricted-regions",
		"title": "Restricted regions (the top-level parameters)",
		"restricted_regions": ["BY", "CN"],
		"designation_lists": [],
		"threshold": 30,
		"comparison": ">=",
		"aggregation": "combined",
		"method": "either",
		"in_force": [],
	} with data.stakegate.config as config
}

test_config_regime_normalised if {
	regime := object.union(_regime, {
		"restricted_regions": ["ru", "CN"],
		"designation_lists": ["b", "a", "b"],
		"in_force": [
			{"from": "2024-01-01", "source": "second"},
			{"from": "2020-01-01", "until": "2021-01-01", "source": "first", "title": "One"},
		],
	})
	regimes := params.regimes with data.stakegate.config as _with_regimes({"mine": regime})
	some r in regimes
	r.name == "mine"
	r == {
		"name": "mine",
		"title": "Test regime",
		"restricted_regions": ["CN", "RU"],
		"designation_lists": ["a", "b"],
		"threshold": 25,
		"comparison": ">",
		"aggregation": "combined",
		"method": "look_through",
		"in_force": [
			{"from": "2020-01-01", "until": "2021-01-01", "source": "first", "title": "One"},
			{"from": "2024-01-01", "until": null, "source": "second", "title": null},
		],
	}
}

test_config_replaces_a_preset if {
	replaced := object.union(_regime, {"designation_lists": ["us_ofac_sdn"]})
	regimes := params.regimes with data.stakegate.config as _with_regimes({"us-ofac-50": replaced})
	some r in regimes
	r.name == "us-ofac-50"
	r.threshold == 25
	r.in_force == []
}

test_regime_policies if {
	policies := params.regime_policies with data.stakegate.config as _with_regimes({"mine": _regime})
	p := policies.mine
	p.method == "look_through"
	p.methods == ["look_through"]
	p.threshold == {"value": 25, "comparison": ">", "tolerance": 1e-9, "exceeds": 25 + 1e-9, "reaches": 25 - 1e-9}
	p.regions == set()
	p.regime == {
		"name": "mine", "title": "Test regime", "aggregation": "combined",
		"designation_lists": {"test_list"}, "in_force": [],
	}
	policies["restricted-regions"].regions == {"CN", "IR", "KP", "RU"}
}

test_regimes_not_an_object if {
	_messages(["x"]) == {`regimes: ["x"] is not an object {name: regime}`}
	not params.regimes with data.stakegate.config as _with_regimes(["x"])
}

test_regime_names if {
	_messages({"Bad Name": _regime}) == {`regimes: "Bad Name" is not a regime name (lower-case letters, digits and '-')`}
	_messages({"all": _regime}) == {`regimes: "all" is not a regime name (lower-case letters, digits and '-')`}
	_messages({"restricted-regions": _regime}) == {
		`regimes: "restricted-regions" is the top-level rule: set its parameters at the top level, not in regimes`,
	}
}

test_regime_fields if {
	_messages({"mine": 7}) == {"regimes.mine: 7 is not a regime object"}
	_messages({"mine": false}) == {"regimes.mine: false is not a regime object"}
	_messages({"mine": object.union(_regime, {"extra": 1})}) == {"regimes.mine.extra: 1 is not a regime field"}
	_messages({"mine": object.remove(_regime, ["title"])}) == {"regimes.mine.title: null is not a title (a non-blank string)"}
	_messages({"mine": object.union(_regime, {"ownership_threshold": 101, "threshold_comparison": "<"})}) == {
		"regimes.mine.ownership_threshold: 101 is not a percent in [0, 100]",
		`regimes.mine.threshold_comparison: "<" is not one of ">", ">="`,
	}
	_messages({"mine": object.union(_regime, {"aggregation": "jointly", "method": "majority"})}) == {
		`regimes.mine.aggregation: "jointly" is not one of "combined", "per_owner"`,
		`regimes.mine.method: "majority" is not one of "control", "look_through", "either"`,
	}
	_messages({"mine": object.union(_regime, {"restricted_regions": "CN", "designation_lists": "x"})}) == {
		`regimes.mine.restricted_regions: "CN" is not a list of codes`,
		`regimes.mine.designation_lists: "x" is not a list of list ids`,
	}
	_messages({"mine": object.union(_regime, {"in_force": "always"})}) == {`regimes.mine.in_force: "always" is not a list of windows`}
}

test_regime_entries if {
	_messages({"mine": object.union(_regime, {"restricted_regions": ["CN", "XX"], "designation_lists": ["ok", " x"]})}) == {
		`regimes.mine.restricted_regions: "XX" is not an ISO 3166 code (nor one of user_assigned_codes)`,
		`regimes.mine.designation_lists: " x" is not a list id`,
	}
	_messages({"mine": object.union(_regime, {"designation_lists": []})}) == {
		`regimes.mine: "mine" restricts nothing: give restricted_regions or designation_lists`,
	}
	_messages({"mine": object.union(_regime, {"aggregation": "per_owner"})}) == {
		`regimes.mine.aggregation: "per_owner" is defined on the control fixpoint (each owner's least fixpoint alone): needs method control`,
	}
	_messages({"mine": object.union(_regime, {"aggregation": "per_owner", "method": "control"})}) == set()
}

test_regime_windows if {
	bad := [
		{"from": "2024-01-01"},
		{"from": "2024-13-01", "source": "s"},
		{"from": "2024-01-01", "until": "2024-01-01", "source": "s"},
		{"from": "2024-01-01", "source": "s", "note": 1},
		{"from": "2024-01-01", "source": "s", "title": " "},
		"2024",
	]
	every window in bad {
		count(_regime_problems({"mine": object.union(_regime, {"in_force": [window]})})) == 1
	}
	good := [{"from": "2024-01-01", "until": "2024-01-02", "source": "s", "title": "t"}, {"from": "2024-01-01", "source": "s"}]
	_regime_problems({"mine": object.union(_regime, {"in_force": good})}) == set()
}

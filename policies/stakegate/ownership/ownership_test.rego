package stakegate.ownership_test

import data.stakegate.ownership

_strict := {
	"methods": ["control"],
	"reported_methods": ["control", "look_through"],
	"threshold": {"value": 50, "comparison": ">", "tolerance": 1e-9, "exceeds": 50.000000001, "reaches": 49.999999999},
	"percent_range": {"min": 0, "max": 100},
}

_either := object.union(_strict, {"methods": ["control", "look_through"]})

_path := [["acme-cn", "acme-sg"]]

_evidence := [{
	"path": ["acme-cn", "acme-sg"],
	"edges": [{"min": 60, "max": 60}],
	"contribution": {"min": 60, "max": 60},
}]

_share(low, high) := {
	"entity": "acme-sg",
	"min": low, "max": high, "min_exclusive": false, "max_exclusive": false,
	"paths": _path, "evidence": _evidence,
}

_facts(control, look_through) := {"id": "acme-sg", "type": "company", "jurisdiction": "SG", "ownership": {
	"control": control,
	"look_through": look_through,
}}

_reason(code, severity, method, share) := {
	"code": code, "severity": severity, "method": method,
	"restricted_percent": {
		"min": share.min, "max": share.max,
		"min_exclusive": share.min_exclusive, "max_exclusive": share.max_exclusive,
	},
	"paths": share.paths, "evidence": share.evidence,
}

test_share_complete if {
	ownership.share(_facts(_share(60, 70), _share(0, 0)), "control", _strict.percent_range) == _share(60, 70)
}

test_share_missing_defaults_to_widest if {
	wide := {"min": 0, "max": 100, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []}
	ownership.share({"id": "x"}, "control", _strict.percent_range) == object.union(wide, {"entity": "x"})
	ownership.share(_facts({"min": "60"}, null), "control", _strict.percent_range) == object.union(
		wide,
		{"entity": "acme-sg"},
	)
	ownership.share(_facts(null, null), "look_through", _strict.percent_range) == object.union(
		wide,
		{"entity": "acme-sg"},
	)
	ownership.share("not facts", "control", _strict.percent_range) == object.union(wide, {"entity": null})
}

test_share_missing_max_only if {
	s := ownership.share(_facts({"min": 60, "min_exclusive": true}, null), "control", _strict.percent_range)
	s == {
		"entity": "acme-sg", "min": 60, "max": 100, "min_exclusive": true, "max_exclusive": false,
		"paths": [], "evidence": [],
	}
}

test_restricted_ownership_above_threshold if {
	r := ownership.restricted_ownership(_share(51, 51), "control", _strict)
	r == _reason("restricted_ownership", "deny", "control", _share(51, 51))
}

test_restricted_ownership_at_threshold if {
	not ownership.restricted_ownership(_share(50, 50), "control", _strict)
}

test_restricted_ownership_missing_min if {
	not ownership.restricted_ownership(object.remove(_share(60, 60), ["min"]), "control", _strict)
}

test_possible_restricted_ownership_band if {
	r := ownership.possible_restricted_ownership(_share(40, 60), "look_through", _strict)
	r == _reason("possible_restricted_ownership", "review", "look_through", _share(40, 60))
}

test_possible_restricted_ownership_not_when_lower_crosses if {
	not ownership.possible_restricted_ownership(_share(55, 60), "control", _strict)
}

test_possible_restricted_ownership_below if {
	not ownership.possible_restricted_ownership(_share(10, 50), "control", _strict)
}

test_reasons_method_control if {
	ownership.reasons(_facts(_share(60, 60), _share(36, 36)), _strict) == [
		_reason("restricted_ownership", "deny", "control", _share(60, 60)),
	]
}

test_reasons_method_either if {
	ownership.reasons(_facts(_share(60, 60), _share(40, 60)), _either) == [
		_reason("restricted_ownership", "deny", "control", _share(60, 60)),
		_reason("possible_restricted_ownership", "review", "look_through", _share(40, 60)),
	]
}

test_reasons_clear if {
	ownership.reasons(_facts(_share(10, 20), _share(0, 50)), _either) == []
}

test_reasons_missing_ownership if {
	wide := {"min": 0, "max": 100, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []}
	ownership.reasons({"id": "x", "type": "company"}, _strict) == [
		_reason("possible_restricted_ownership", "review", "control", wide),
	]
}

test_summary_both_methods if {
	ownership.summary(_facts(_share(60, 60), _share(36, 40)), _strict) == {
		"control": {"min": 60, "max": 60},
		"look_through": {"min": 36, "max": 40},
	}
}

test_summary_missing_ownership if {
	ownership.summary({"id": "x"}, _strict) == {
		"control": {"min": 0, "max": 100},
		"look_through": {"min": 0, "max": 100},
	}
}

test_is_quiet_cases if {
	ownership.is_quiet(_facts(_share(0, 50), _share(0, 0)), "control", _strict.threshold)
	noise := _share(50.00000000000001, 50.00000000000001)
	ownership.is_quiet(_facts(noise, _share(0, 0)), "control", _strict.threshold)
	not ownership.is_quiet(_facts(_share(40, 60), _share(0, 0)), "control", _strict.threshold)
	exclusive := object.union(_share(50, 50), {"min_exclusive": true})
	not ownership.is_quiet(_facts(exclusive, _share(0, 0)), "control", _strict.threshold)
	inverted := _share(50, 40)
	not ownership.is_quiet(_facts(inverted, _share(0, 0)), "control", _strict.threshold)
	not ownership.is_quiet({"id": "x"}, "control", _strict.threshold)
	at_least := object.union(_strict.threshold, {"comparison": ">="})
	not ownership.is_quiet(_facts(_share(0, 0), _share(0, 0)), "control", at_least)
}

test_is_quiet_means_no_reason if {
	every share in [_share(0, 50), _share(50, 50), _share(50.00000000000001, 50.00000000000001)] {
		ownership.is_quiet(_facts(share, share), "control", _strict.threshold)
		not ownership.restricted_ownership(share, "control", _strict)
		not ownership.possible_restricted_ownership(share, "control", _strict)
	}
}

test_summary_malformed_bounds if {
	ownership.summary(_facts({"min": "60", "max": 70}, _share(1, 2)), _strict) == {
		"control": {"min": 0, "max": 70},
		"look_through": {"min": 1, "max": 2},
	}
}

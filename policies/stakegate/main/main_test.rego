package stakegate.main_test

import data.stakegate.main
import data.stakegate.shortcuts

_as_of := "2026-11-27"

# The parameters every test relies on; a test that needs others overrides them.
_config := data.stakegate.testdata.config

_strict := {"method": "control", "threshold": 50, "comparison": ">"}

_share(low, high) := {
	"min": low, "max": high, "min_exclusive": false, "max_exclusive": false,
	"paths": [["acme-cn", "acme-sg"]],
	"evidence": [{
		"path": ["acme-cn", "acme-sg"],
		"edges": [{"min": low, "max": high}],
		"contribution": {"min": low, "max": high},
	}],
}

_facts(id, jurisdiction, control, look_through) := {
	"id": id, "type": "company", "jurisdiction": jurisdiction,
	"ownership": {"control": control, "look_through": look_through},
}

_input(entities) := {"as_of": _as_of, "entities": entities}

_ownership(control, look_through) := {
	"control": {"min": control.min, "max": control.max},
	"look_through": {"min": look_through.min, "max": look_through.max},
}

_decision(id, outcome, reasons, ownership, policy) := {
	"entity": id, "decision": outcome, "reasons": reasons, "ownership": ownership, "policy": policy,
}

_location(code, field, value, region) := {
	"code": code, "severity": "deny",
	"field": field, "value": value, "region": region,
}

_restricted(method, share) := _ownership_reason("restricted_ownership", "deny", method, share)

_possible(method, share) := _ownership_reason("possible_restricted_ownership", "review", method, share)

_ownership_reason(code, severity, method, share) := {
	"code": code, "severity": severity, "method": method,
	"restricted_percent": object.filter(share, ["min", "max", "min_exclusive", "max_exclusive"]),
	"paths": share.paths, "evidence": share.evidence,
}

# Decision of one company in SG with these restricted shares, under _config.
_single(control, look_through) := decision if {
	[decision] := main.decisions with input as _input([_facts("acme-sg", "SG", control, look_through)])
		with data.stakegate.config as _config
}

_full := _share(100, 100)

_none := _share(0, 0)

test_decisions_cn_company_deny if {
	d := main.decisions with input as _input([_facts("acme-cn", "CN", _full, _full)])
		with data.stakegate.config as _config
	d == [_decision(
		"acme-cn", "deny",
		[_location("restricted_jurisdiction", "jurisdiction", "CN", "CN")],
		_ownership(_full, _full), _strict,
	)]
}

test_decisions_subdivision_deny if {
	d := main.decisions with input as _input([_facts("mos", "RU-MOW", _full, _full)])
		with data.stakegate.config as _config
	d == [_decision(
		"mos", "deny",
		[_location("restricted_jurisdiction", "jurisdiction", "RU-MOW", "RU")],
		_ownership(_full, _full), _strict,
	)]
}

test_decisions_lower_case_country_deny if {
	d := main.decisions with input as _input([_facts("p1", "ru", _full, _full)])
		with data.stakegate.config as _config
	d == [_decision(
		"p1", "deny",
		[_location("restricted_jurisdiction", "jurisdiction", "ru", "RU")],
		_ownership(_full, _full), _strict,
	)]
}

test_decisions_configured_subdivision_allow_by_default if {
	d := main.decisions with input as _input([_facts("crimea-co", "UA-43", _none, _none)])
		with data.stakegate.config as _config
	d == [_decision("crimea-co", "allow", [], _ownership(_none, _none), _strict)]
}

test_decisions_configured_subdivision_deny_when_added if {
	d := main.decisions with input as _input([_facts("crimea-co", "UA-43", _full, _full)])
		with data.stakegate.config as _config
		with data.stakegate.config.restricted_regions as ["CN", "RU", "KP", "IR", "UA-43"]
	d == [_decision(
		"crimea-co", "deny",
		[_location("restricted_jurisdiction", "jurisdiction", "UA-43", "UA-43")],
		_ownership(_full, _full), _strict,
	)]
}

test_decisions_headquarters_deny if {
	facts := object.union(_facts("acme-sg", "SG", _full, _full), {"headquarters": "CN"})
	d := main.decisions with input as _input([facts])
		with data.stakegate.config as _config
	d == [_decision(
		"acme-sg", "deny",
		[_location("restricted_headquarters", "headquarters", "CN", "CN")],
		_ownership(_full, _full), _strict,
	)]
}

test_decisions_ownership_51_deny if {
	_single(_share(51, 51), _share(51, 51)) == _decision(
		"acme-sg", "deny",
		[_restricted("control", _share(51, 51))],
		_ownership(_share(51, 51), _share(51, 51)), _strict,
	)
}

test_decisions_ownership_exactly_50_allow if {
	_single(_share(50, 50), _share(50, 50)) == _decision(
		"acme-sg", "allow", [],
		_ownership(_share(50, 50), _share(50, 50)), _strict,
	)
}

test_decisions_ownership_exactly_50_deny_at_least if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _share(50, 50), _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.threshold_comparison as ">="
	d == [_decision(
		"acme-sg", "deny",
		[_restricted("control", _share(50, 50))],
		_ownership(_share(50, 50), _none), {"method": "control", "threshold": 50, "comparison": ">="},
	)]
}

test_decisions_float_noise_above_50_allow if {
	# 0.03 + 0.29 + 0.18 of the shares, in floats, can land a hair above 50%.
	noisy := _share(50.00000000000001, 50.00000000000001)
	_single(noisy, noisy) == _decision("acme-sg", "allow", [], _ownership(noisy, noisy), _strict)
}

test_decisions_float_noise_below_50_deny_at_least if {
	noisy := _share(49.99999999999999, 49.99999999999999)
	d := main.decisions with input as _input([_facts("acme-sg", "SG", noisy, noisy)])
		with data.stakegate.config as _config
		with data.stakegate.config.threshold_comparison as ">="
	d == [_decision(
		"acme-sg", "deny",
		[_restricted("control", noisy)],
		_ownership(noisy, noisy), {"method": "control", "threshold": 50, "comparison": ">="},
	)]
}

test_decisions_band_review if {
	band := _share(40, 60)
	_single(band, band) == _decision(
		"acme-sg", "review",
		[_possible("control", band)],
		_ownership(band, band), _strict,
	)
}

test_decisions_band_more_than_50_deny if {
	# UK PSC "more than 50% but less than 75%": the lower bound 50 is exclusive.
	band := object.union(_share(50, 75), {"min_exclusive": true})
	_single(band, band) == _decision(
		"acme-sg", "deny",
		[_restricted("control", band)],
		_ownership(band, band), _strict,
	)
}

test_decisions_band_less_than_50_allow_at_least if {
	band := object.union(_share(25, 50), {"max_exclusive": true})
	d := main.decisions with input as _input([_facts("acme-sg", "SG", band, band)])
		with data.stakegate.config as _config
		with data.stakegate.config.threshold_comparison as ">="
	d == [_decision(
		"acme-sg", "allow", [],
		_ownership(band, band), {"method": "control", "threshold": 50, "comparison": ">="},
	)]
}

test_decisions_method_control if {
	_single(_share(60, 60), _share(36, 36)) == _decision(
		"acme-sg", "deny",
		[_restricted("control", _share(60, 60))],
		_ownership(_share(60, 60), _share(36, 36)), _strict,
	)
}

test_decisions_method_look_through if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _share(60, 60), _share(36, 36))])
		with data.stakegate.config as _config
		with data.stakegate.config.method as "look_through"
	d == [_decision(
		"acme-sg", "allow", [],
		_ownership(_share(60, 60), _share(36, 36)), {"method": "look_through", "threshold": 50, "comparison": ">"},
	)]
}

test_decisions_method_either if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _share(60, 60), _share(36, 36))])
		with data.stakegate.config as _config
		with data.stakegate.config.method as "either"
	d == [_decision(
		"acme-sg", "deny",
		[_restricted("control", _share(60, 60))],
		_ownership(_share(60, 60), _share(36, 36)), {"method": "either", "threshold": 50, "comparison": ">"},
	)]
}

test_decisions_method_either_review_and_deny if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _share(40, 60), _share(55, 70))])
		with data.stakegate.config as _config
		with data.stakegate.config.method as "either"
	d == [_decision(
		"acme-sg", "deny",
		[_possible("control", _share(40, 60)), _restricted("look_through", _share(55, 70))],
		_ownership(_share(40, 60), _share(55, 70)), {"method": "either", "threshold": 50, "comparison": ">"},
	)]
}

test_decisions_threshold_parameter if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _share(30, 30), _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.ownership_threshold as 25
	d == [_decision(
		"acme-sg", "deny",
		[_restricted("control", _share(30, 30))],
		_ownership(_share(30, 30), _none), {"method": "control", "threshold": 25, "comparison": ">"},
	)]
}

test_decisions_unknown_jurisdiction_review if {
	facts := object.remove(_facts("p2", "SG", _none, _none), ["jurisdiction"])
	d := main.decisions with input as _input([facts])
		with data.stakegate.config as _config
	d == [_decision(
		"p2", "review",
		[{"code": "unknown_jurisdiction", "severity": "review", "field": "jurisdiction"}],
		_ownership(_none, _none), _strict,
	)]
}

test_decisions_unknown_code_review if {
	# Unassigned codes were clear (allow) before they were checked against ISO 3166.
	entities := [
		_facts("xx", "XX", _none, _none),
		_facts("zz", "zz", _none, _none),
		_facts("aa", "AA", _none, _none),
		object.union(_facts("hq", "SG", _none, _none), {"headquarters": "QQ-123"}),
	]
	d := main.decisions with input as _input(entities)
		with data.stakegate.config as _config
	d == [
		_decision("xx", "review", [_unknown("jurisdiction", "XX")], _ownership(_none, _none), _strict),
		_decision("zz", "review", [_unknown("jurisdiction", "zz")], _ownership(_none, _none), _strict),
		_decision("aa", "review", [_unknown("jurisdiction", "AA")], _ownership(_none, _none), _strict),
		_decision("hq", "review", [_unknown("headquarters", "QQ-123")], _ownership(_none, _none), _strict),
	]
}

test_decisions_user_assigned_code_allow_when_configured if {
	d := main.decisions with input as _input([_facts("pristina", "XK", _none, _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.user_assigned_codes as ["XK"]
	d == [_decision("pristina", "allow", [], _ownership(_none, _none), _strict)]
}

_unknown(field, value) := {"code": "unknown_jurisdiction", "severity": "review", "field": field, "value": value}

test_decisions_restricted_location_skips_ownership if {
	d := main.decisions with input as _input([_facts("acme-cn", "cn", _full, _share(40, 60))])
		with data.stakegate.config as _config
		with data.stakegate.config.method as "either"
	d == [_decision(
		"acme-cn", "deny",
		[_location("restricted_jurisdiction", "jurisdiction", "cn", "CN")],
		_ownership(_full, _share(40, 60)), {"method": "either", "threshold": 50, "comparison": ">"},
	)]
}

_exception(expires) := {"entity": "acme-sg", "reason": "licence GL-25", "approver": "legal", "expires": expires}

_exception_reason(code, expires) := {
	"code": code, "severity": "info",
	"reason": "licence GL-25", "approver": "legal", "expires": expires,
}

test_decisions_unexpired_exception_allows if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _share(60, 60), _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.exceptions as [_exception("2026-12-31")]
	d == [_decision(
		"acme-sg", "allow",
		[_restricted("control", _share(60, 60)), _exception_reason("exception_applied", "2026-12-31")],
		_ownership(_share(60, 60), _none), _strict,
	)]
}

test_decisions_exception_applies_on_expiry_date if {
	d := main.decisions with input as _input([_facts("acme-sg", "CN", _full, _full)])
		with data.stakegate.config as _config
		with data.stakegate.config.exceptions as [_exception(_as_of)]
	d == [_decision(
		"acme-sg", "allow",
		[_location("restricted_jurisdiction", "jurisdiction", "CN", "CN"), _exception_reason("exception_applied", _as_of)],
		_ownership(_full, _full), _strict,
	)]
}

test_decisions_exception_allows_review if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _share(40, 60), _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.exceptions as [_exception("2026-12-31")]
	d == [_decision(
		"acme-sg", "allow",
		[_possible("control", _share(40, 60)), _exception_reason("exception_applied", "2026-12-31")],
		_ownership(_share(40, 60), _none), _strict,
	)]
}

test_decisions_expired_exception_reported if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _share(60, 60), _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.exceptions as [_exception("2026-11-26")]
	d == [_decision(
		"acme-sg", "deny",
		[_restricted("control", _share(60, 60)), _exception_reason("exception_expired", "2026-11-26")],
		_ownership(_share(60, 60), _none), _strict,
	)]
}

test_decisions_exception_not_applied_when_allowed if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _none, _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.exceptions as [_exception("2026-12-31")]
	d == [_decision("acme-sg", "allow", [], _ownership(_none, _none), _strict)]
}

test_decisions_missing_ownership_invalid_facts if {
	facts := object.remove(_facts("acme-sg", "CN", _full, _full), ["ownership"])
	d := main.decisions with input as _input([facts])
		with data.stakegate.config as _config
		with data.stakegate.config.exceptions as [_exception("2026-12-31")]
	d == [_decision(
		"acme-sg", "review",
		[{"code": "invalid_facts", "severity": "review", "fields": ["ownership.control", "ownership.look_through"]}],
		{"control": {"min": 0, "max": 100}, "look_through": {"min": 0, "max": 100}}, _strict,
	)]
}

test_decisions_missing_as_of_invalid_facts if {
	d := main.decisions with input as {"entities": [_facts("acme-sg", "SG", _none, _none)]}
		with data.stakegate.config as _config
	d == [_decision(
		"acme-sg", "review",
		[{"code": "invalid_facts", "severity": "review", "fields": ["as_of"]}],
		_ownership(_none, _none), _strict,
	)]
}

test_decisions_entity_not_an_object if {
	d := main.decisions with input as _input(["acme-sg"])
		with data.stakegate.config as _config
	d == [_decision(
		null, "review",
		[{"code": "invalid_facts", "severity": "review", "fields": ["entity"]}],
		{"control": {"min": 0, "max": 100}, "look_through": {"min": 0, "max": 100}}, _strict,
	)]
}

test_decisions_keep_input_order if {
	entities := [
		_facts("c", "SG", _none, _none),
		_facts("a", "CN", _full, _full),
		_facts("b", "SG", _share(40, 60), _none),
	]
	d := main.decisions with input as _input(entities)
		with data.stakegate.config as _config
	[x.entity | some x in d] == ["c", "a", "b"]
	[x.decision | some x in d] == ["allow", "deny", "review"]
}

test_decisions_missing_entities if {
	main.decisions == [] with input as {"as_of": _as_of}
		with data.stakegate.config as _config
	main.decisions == [] with input as {"as_of": _as_of, "entities": {"acme-sg": {}}}
		with data.stakegate.config as _config
	main.decisions == [] with input as {"as_of": _as_of, "entities": []}
		with data.stakegate.config as _config
}

test_decisions_invalid_config_undefined if {
	not main.decisions with input as _input([_facts("acme-sg", "SG", _none, _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.method as "majority"
}

# With the view's config digest, a query decides as one that validates the config itself.
test_decisions_same_with_config_digest if {
	entities := [
		_facts("acme-sg", "SG", _share(60, 60), _none),
		_facts("beta-sg", "SG", _share(10, 60), _share(10, 60)),
		_facts("gamma-cn", "CN", _none, _none),
	]
	digest := crypto.sha256(json.marshal(_config))
	full := main.decisions with input as _input(entities) with data.stakegate.config as _config
	count(full) == 3
	main.decisions == full with input as object.union(_input(entities), {"config_digest": digest})
		with data.stakegate.config as _config
}

# A config changed after the view (its digest no longer matches) is validated again: an
# invalid one leaves the decisions undefined, as without a digest.
test_decisions_stale_config_digest_validates if {
	digest := crypto.sha256(json.marshal(_config))
	not main.decisions with input as object.union(_input([_facts("acme-sg", "SG", _none, _none)]), {"config_digest": digest})
		with data.stakegate.config as object.union(_config, {"method": "majority"})
	not main.decisions with input as object.union(_input([_facts("acme-sg", "SG", _none, _none)]), {"config_digest": "0"})
		with data.stakegate.config as object.union(_config, {"ownership_threshold": "50"})
}

_policy := {
	"method": "control", "methods": ["control"], "reported_methods": ["control", "look_through"],
	"threshold": {"value": 50, "comparison": ">", "tolerance": 1e-9, "exceeds": 50.000000001, "reaches": 49.999999999},
	"regions": {"CN"}, "user_assigned_codes": set(), "exceptions": [_exception("2026-12-31")],
	"percent_range": {"min": 0, "max": 100},
}

test_decision_function if {
	facts := _facts("x", "SG", _share(60, 60), _none)
	main.decision(facts, main.context(_as_of, _policy, [facts])) == _decision(
		"x", "deny",
		[_restricted("control", _share(60, 60))],
		_ownership(_share(60, 60), _none), _strict,
	)
}

_fault := {
	"kind": "duplicate_holding",
	"records": ["ownership[0] (acme-cn -> acme-sg)", "ownership[1] (acme-cn -> acme-sg)"],
	"message": "duplicate holding",
}

test_decisions_data_fault_review if {
	facts := object.union(_facts("acme-sg", "SG", _none, _none), {"faults": [_fault]})
	d := main.decisions with input as _input([facts])
		with data.stakegate.config as _config
	d == [_decision(
		"acme-sg", "review",
		[{"code": "data_fault", "severity": "review", "faults": [_fault]}],
		_ownership(_none, _none), _strict,
	)]
}

test_decisions_data_fault_does_not_hide_a_deny if {
	facts := object.union(_facts("acme-sg", "SG", _share(60, 60), _none), {"faults": [_fault]})
	[d] := main.decisions with input as _input([facts])
		with data.stakegate.config as _config
	d.decision == "deny"
	[r.code | some r in d.reasons] == ["data_fault", "restricted_ownership"]
}

test_context if {
	entities := [_facts("a", "SG", _none, _none), _facts("b", "cn", _none, _none)]
	ctx := main.context(_as_of, _policy, entities)
	object.filter(ctx, ["as_of", "policy", "is_dated", "exceptions"]) == {
		"as_of": _as_of,
		"policy": _policy,
		"is_dated": true,
		"exceptions": {"acme-sg": {"applied": [_exception_reason("exception_applied", "2026-12-31")], "expired": []}},
	}
	object.remove(ctx, ["as_of", "policy", "is_dated", "exceptions"]) == shortcuts.context(_as_of, _policy, entities)
	not main.context(null, _policy, []).is_dated
}

# Exactly zero restricted share under both methods, without paths, as the engine writes it.
_zero := {"min": 0.0, "max": 0.0, "min_exclusive": false, "max_exclusive": false, "paths": [], "evidence": []}

# shortcuts.decision (what main.decisions asks per entity) equals main.decision, the full path,
# for every facts, and takes a shortcut exactly where one applies.
test_decision_shortcuts_equal_the_full_path if {
	near := _bare(50.000000001, 50.000000001)
	excl := object.union(_bare(10, 20), {"min_exclusive": true})
	variants := [
		_facts("zero", "SG", _zero, _zero),
		_facts("zero-int", "SG", _bare(0, 0), _bare(0, 0)),
		_facts("zero-cn", "CN", _zero, _zero),
		object.union(_facts("zero-hq", "SG", _zero, _zero), {"headquarters": "cn-bj"}),
		object.union(_facts("zero-fault", "SG", _zero, _zero), {"faults": [_fault]}),
		object.union(_facts("zero-name", "SG", _zero, _zero), {"name": 7}),
		object.union(_facts("zero-type", "SG", _zero, _zero), {"type": "trust"}),
		_facts("acme-sg", "SG", _zero, _zero), # has an exception entry in _policy
		_facts(" ", "SG", _zero, _zero),
		_facts(7, "SG", _zero, _zero),
		_facts("zero-paths", "SG", object.union(_zero, {"paths": [["a", "b"]]}), _zero),
		_facts("quiet", "SG", _bare(10, 20), _bare(30, 100)),
		_facts("near", "SG", near, _zero),
		_facts("excl", "SG", excl, excl),
		_facts("over", "SG", _bare(60, 60), _zero),
		_facts("band", "SG", _bare(40, 60), _bare(40, 60)),
		_facts("inverted", "SG", _bare(20, 10), _zero),
		_facts("text", "SG", object.union(_zero, {"max": "0"}), _zero),
		_facts("extra", "SG", object.union(_zero, {"note": 1}), _zero),
		{"id": "no-ownership", "type": "company", "jurisdiction": "SG"},
		_facts("zero-xx", "XX", _zero, _zero),
		_facts("zero-xk", "xk", _zero, _zero),
		_facts("zero-lower", "gb-eng", _zero, _zero),
		_facts("quiet-unknown", "QQ-123", _bare(10, 20), _zero),
		object.union(_facts("zero-hq-zz", "SG", _zero, _zero), {"headquarters": "ZZ"}),
		object.union(_facts("zero-hq-blank", "SG", _zero, _zero), {"headquarters": " "}),
		_facts("zero-unicode", "ſg", _zero, _zero),
	]
	expired := object.union(_policy, {"exceptions": [_exception("2026-11-26")]})
	kosovo := object.union(_policy, {"user_assigned_codes": {"XK"}})
	at_least := object.union(_policy, {"threshold": {"comparison": ">="}})
	every policy in [_policy, expired, kosovo, at_least] {
		ctx := main.context(_as_of, policy, variants)
		every facts in variants {
			shortcuts.decision(facts, ctx) == main.decision(facts, ctx)
		}
	}

	# A shortcut's answer comes from ctx.allow or ctx.zero.decision: marked, they show where one
	# was taken.
	taken := _shortcut_ids(variants, _policy)
	taken == {"zero", "zero-int", "quiet", "near", "zero-lower", "zero-hq-blank"}
	_shortcut_ids(variants, kosovo) == taken | {"zero-xk"}
	_shortcut_ids(variants, at_least) == set()
}

_shortcut_ids(variants, policy) := {facts.id |
	ctx := main.context(_as_of, policy, variants)
	marked := object.union(ctx, {"allow": {"shortcut": true}, "zero": {"decision": {"shortcut": true}}})
	some facts in variants
	shortcuts.decision(facts, marked).shortcut
}

test_decisions_well_formed_check_falls_back if {
	# Valid facts the quick check rejects (null headquarters, min a hair above max) take the
	# full check and are decided as usual.
	noisy := object.union(_share(50.0000000000001, 50), {"min_exclusive": true})
	facts := object.union(_facts("acme-sg", "SG", noisy, _none), {"headquarters": null})
	d := main.decisions with input as _input([facts])
		with data.stakegate.config as _config
	d == [_decision(
		"acme-sg", "deny",
		[_restricted("control", noisy)],
		_ownership(noisy, _none), _strict,
	)]
}

# A share with no paths, as the engine sends for shares that cannot cross the threshold.
_bare(low, high) := object.union(_share(low, high), {"paths": [], "evidence": []})

# Entities on the quiet path of `decision` and just outside it (which take the full path): each is
# decided as the full path decides.
test_decisions_quiet_path_boundaries if {
	hair := _bare(50.000000001, 50.000000001)
	excl := object.union(_bare(10, 20), {"min_exclusive": true})
	zero := _bare(0, 0)
	entities := [
		_facts("quiet", "SG", _bare(10, 20), _bare(30, 100)),
		_facts("at-limit", "SG", hair, zero),
		_facts("excl-control", "SG", excl, zero),
		_facts("excl-look-through", "SG", zero, excl),
		object.union(_facts("hq", "SG", zero, zero), {"headquarters": "ir"}),
		object.union(_facts("no-faults", "SG", zero, zero), {"faults": []}),
		_facts("blank", " ", zero, zero),
	]
	d := main.decisions with input as _input(entities)
		with data.stakegate.config as _config
	d == [
		_decision("quiet", "allow", [], _ownership(_bare(10, 20), _bare(30, 100)), _strict),
		_decision("at-limit", "allow", [], _ownership(hair, zero), _strict),
		_decision("excl-control", "allow", [], _ownership(excl, zero), _strict),
		_decision("excl-look-through", "allow", [], _ownership(zero, excl), _strict),
		_decision(
			"hq", "deny",
			[_location("restricted_headquarters", "headquarters", "ir", "IR")],
			_ownership(zero, zero), _strict,
		),
		_decision("no-faults", "allow", [], _ownership(zero, zero), _strict),
		_decision(
			"blank", "review",
			[{"code": "unknown_jurisdiction", "severity": "review", "field": "jurisdiction"}],
			_ownership(zero, zero), _strict,
		),
	]
}

test_decisions_quiet_path_off_under_at_least if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _share(50, 50), _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.threshold_comparison as ">="
	d == [_decision(
		"acme-sg", "deny",
		[_restricted("control", _share(50, 50))],
		_ownership(_share(50, 50), _none), {"method": "control", "threshold": 50, "comparison": ">="},
	)]
}

test_decisions_quiet_path_with_exception_entry if {
	d := main.decisions with input as _input([_facts("acme-sg", "SG", _none, _none)])
		with data.stakegate.config as _config
		with data.stakegate.config.exceptions as [_exception("2026-11-26")]
	d == [_decision(
		"acme-sg", "allow",
		[_exception_reason("exception_expired", "2026-11-26")],
		_ownership(_none, _none), _strict,
	)]
}

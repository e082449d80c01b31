package stakegate.view_test

import data.stakegate.view

_config := data.stakegate.testdata.config

test_policy_valid_config if {
	v := view.policy with data.stakegate.config as _config
	object.remove(v, ["classification", "regimes"]) == {
		"valid": true,
		"problems": [],
		"params": {
			"restricted_regions": ["CN", "IR", "KP", "RU"],
			"user_assigned_codes": [],
			"threshold": 50,
			"comparison": ">",
			"method": "control",
			"percent_tolerance": 1e-9,
			"consolidation_share": {"min": 50, "max": 100, "min_exclusive": true},
		},
		"batch_form": true,
		"batch_restricted": true,
		"batch_rounded": true,
		"batch_columns": true,
		"config_digest": crypto.sha256(json.marshal(_config)),
	}

	# Every ISO 3166 code, the restricted ones with their region, no other code.
	object.keys(v.classification) == object.keys(data.stakegate.iso3166.codes)
	{code | some code, region in v.classification; region != null} == {"CN", "IR", "KP", "RU"} | {code |
		some country in ["CN", "IR", "KP", "RU"]
		some code in data.stakegate.iso3166.subdivisions[country]
	}
	v.classification["RU-MOW"] == "RU"
	v.classification.SG == null
	not "XX" in object.keys(v.classification)
	not "XK" in object.keys(v.classification)
}

test_policy_user_assigned_codes if {
	config := object.union(_config, {"user_assigned_codes": ["xk", "ZZ"], "restricted_regions": ["XK", "UA-43"]})
	v := view.policy with data.stakegate.config as config
	v.valid
	v.params.user_assigned_codes == ["XK", "ZZ"]
	v.params.restricted_regions == ["UA-43", "XK"]
	v.classification.XK == "XK"
	v.classification.ZZ == null
	v.classification["UA-43"] == "UA-43"
	v.classification.UA == null
	v.classification.CN == null
	count(v.classification) == count(data.stakegate.iso3166.codes) + 2
}

test_policy_invalid_config if {
	config := object.union(_config, {
		"restricted_regions": ["CN", "Belarus", "XX"],
		"ownership_threshold": 150,
		"method": "majority",
	})
	view.policy == {
		"valid": false,
		"problems": [
			{
				"parameter": "method", "value": "majority",
				"message": `method: "majority" is not one of "control", "look_through", "either"`,
			},
			{
				"parameter": "ownership_threshold", "value": 150,
				"message": "ownership_threshold: 150 is not a percent in [0, 100]",
			},
			{
				"parameter": "restricted_regions", "value": "Belarus",
				"message": `restricted_regions: "Belarus" is not an ISO 3166 code (nor one of user_assigned_codes)`,
			},
			{
				"parameter": "restricted_regions", "value": "XX",
				"message": `restricted_regions: "XX" is not an ISO 3166 code (nor one of user_assigned_codes)`,
			},
		],
		"params": null,
		"classification": null,
		"regimes": null,
		"batch_form": true,
		"batch_restricted": true,
		"batch_rounded": true,
		"batch_columns": true,
		"config_digest": null,
	} with data.stakegate.config as config
}

test_policy_defined_for_any_config if {
	every config in [{}, null, [], "CN"] {
		v := view.policy with data.stakegate.config as config
		object.remove(v, ["problems"]) == {"valid": false, "params": null, "classification": null, "regimes": null, "batch_form": true, "batch_restricted": true, "batch_rounded": true, "batch_columns": true, "config_digest": null}
		[p.parameter | some p in v.problems] == [
			"consolidation_share", "exceptions", "method", "ownership_threshold",
			"percent_tolerance", "restricted_regions", "threshold_comparison", "user_assigned_codes",
		]
		v.problems[0] == {"parameter": "consolidation_share", "value": null, "message": "consolidation_share: missing"}
	}
}

test_policy_needs_no_input if {
	view.policy.valid == true with data.stakegate.config as _config with input as null
}

# The view validates in full even when its input carries the digest of the config it reads.
test_policy_validates_despite_input_digest if {
	config := object.union(_config, {"method": "majority"})
	v := view.policy with data.stakegate.config as config
		with input as {"config_digest": crypto.sha256(json.marshal(config))}
	v.valid == false
	v.config_digest == null
	[p.parameter | some p in v.problems] == ["method"]
}

test_policy_digest_changes_with_config if {
	a := view.policy.config_digest with data.stakegate.config as _config
	b := view.policy.config_digest with data.stakegate.config as object.union(_config, {"ownership_threshold": 25})
	a != b
	regex.match(`^[0-9a-f]{64}$`, a)
}

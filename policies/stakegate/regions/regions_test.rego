package stakegate.regions_test

import data.stakegate.regions

test_classification_example if {
	c := regions.classification with input as {"codes": ["CN", "ru-mow", "SG", "UA-43"]}
	c == {"CN": "CN", "ru-mow": "RU"}
}

test_classification_lower_case_country if {
	c := regions.classification with input as {"codes": ["ru", "kp", "Ir"]}
	c == {"ru": "RU", "kp": "KP", "Ir": "IR"}
}

test_classification_subdivision_of_country if {
	c := regions.classification with input as {"codes": ["RU-MOW", "CN-11", "ir-07", "SG-01"]}
	c == {"RU-MOW": "RU", "CN-11": "CN", "ir-07": "IR"}
}

test_classification_configured_subdivision_matches_only_itself if {
	c := regions.classification with input as {"codes": ["UA-43", "ua-43", "UA", "UA-14", "UA-430"]}
		with data.stakegate.config.restricted_regions as ["CN", "UA-43"]
	c == {"UA-43": "UA-43", "ua-43": "UA-43"}
}

test_classification_configured_lower_case_region if {
	c := regions.classification with input as {"codes": ["CN", "UA-43"]}
		with data.stakegate.config.restricted_regions as ["cn", "ua-43"]
	c == {"CN": "CN", "UA-43": "UA-43"}
}

test_classification_country_and_subdivision_configured_prefers_country if {
	c := regions.classification with input as {"codes": ["RU-MOW"]}
		with data.stakegate.config.restricted_regions as ["RU-MOW", "RU"]
	c == {"RU-MOW": "RU"}
}

test_classification_not_a_code if {
	c := regions.classification with input as {"codes": ["RUS", "RU-", "RUMOW", "XRU-MOW", "", " CN", 7, null]}
	c == {}
}

test_classification_missing_codes if {
	regions.classification == {} with input as {}
	regions.classification == {} with input as {"codes": []}
}

test_classification_invalid_config_undefined if {
	not regions.classification with input as {"codes": ["CN"]} with data.stakegate.config.method as "majority"
}

test_matched_region_cases if {
	restricted := {"CN", "RU", "UA-43"}
	regions.matched_region("cn", restricted) == "CN"
	regions.matched_region("RU-MOW", restricted) == "RU"
	regions.matched_region("ua-43", restricted) == "UA-43"
	not regions.matched_region("SG", restricted)
	not regions.matched_region("UA-14", restricted)
	not regions.matched_region(null, restricted)
	not regions.matched_region("CN", set())
	regions.region_of("SG", restricted) == null
	regions.region_of("ru-mow", restricted) == "RU"
}

test_is_match_cases if {
	regions.is_match("RU", "RU")
	regions.is_match("ru-mow", "RU")
	regions.is_match("UA-43", "UA-43")
	regions.is_match("UA-43", "UA")
	not regions.is_match("UA", "UA-43")
	not regions.is_match("UA-43-1", "UA")
	not regions.is_match(42, "RU")
}

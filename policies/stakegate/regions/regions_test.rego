package stakegate.regions_test

import data.stakegate.regions

_config := data.stakegate.testdata.config

test_classification_example if {
	c := regions.classification with input as {"codes": ["CN", "ru-mow", "SG", "UA-43"]}
		with data.stakegate.config as _config
	c == {"CN": "CN", "ru-mow": "RU"}
}

test_classification_lower_case_country if {
	c := regions.classification with input as {"codes": ["ru", "kp", "Ir"]}
		with data.stakegate.config as _config
	c == {"ru": "RU", "kp": "KP", "Ir": "IR"}
}

test_classification_subdivision_of_country if {
	c := regions.classification with input as {"codes": ["RU-MOW", "CN-BJ", "ir-07", "SG-01"]}
		with data.stakegate.config as _config
	c == {"RU-MOW": "RU", "CN-BJ": "CN", "ir-07": "IR"}
}

test_classification_configured_subdivision_matches_only_itself if {
	c := regions.classification with input as {"codes": ["UA-43", "ua-43", "UA", "UA-14", "UA-430"]}
		with data.stakegate.config as _config
		with data.stakegate.config.restricted_regions as ["CN", "UA-43"]
	c == {"UA-43": "UA-43", "ua-43": "UA-43"}
}

test_classification_configured_lower_case_region if {
	c := regions.classification with input as {"codes": ["CN", "UA-43"]}
		with data.stakegate.config as _config
		with data.stakegate.config.restricted_regions as ["cn", "ua-43"]
	c == {"CN": "CN", "UA-43": "UA-43"}
}

test_classification_country_and_subdivision_configured_prefers_country if {
	c := regions.classification with input as {"codes": ["RU-MOW"]}
		with data.stakegate.config as _config
		with data.stakegate.config.restricted_regions as ["RU-MOW", "RU"]
	c == {"RU-MOW": "RU"}
}

test_classification_not_a_known_code if {
	codes := ["RUS", "RU-", "RUMOW", "XRU-MOW", "", " CN", "CN-ZZZ", "CN-11", "ru-mow ", 7, null]
	c := regions.classification with input as {"codes": codes} with data.stakegate.config as _config
	c == {}
}

test_classification_missing_codes if {
	regions.classification == {} with input as {} with data.stakegate.config as _config
	regions.classification == {} with input as {"codes": []} with data.stakegate.config as _config
}

test_classification_invalid_config_undefined if {
	not regions.classification with input as {"codes": ["CN"]}
		with data.stakegate.config as _config
		with data.stakegate.config.method as "majority"
}

test_matched_region_cases if {
	restricted := {"CN", "RU", "UA-43"}
	regions.matched_region("cn", restricted) == "CN"
	regions.matched_region("RU-MOW", restricted) == "RU"
	regions.matched_region("ua-43", restricted) == "UA-43"
	not regions.matched_region("SG", restricted)
	not regions.matched_region("UA-14", restricted)
	not regions.matched_region("UA", restricted)
	not regions.matched_region(null, restricted)
	not regions.matched_region("CN", set())
	regions.region_of("SG", restricted) == null
	regions.region_of("ru-mow", restricted) == "RU"
	regions.region_of(42, restricted) == null
	regions.region_of("XK", {"XK"}) == "XK"
	regions.region_of("RU-MOW", {"RU-MOW", "RU"}) == "RU"
}

test_is_known_cases if {
	regions.is_known("CN", set())
	regions.is_known("cn", set())
	regions.is_known("RU-MOW", set())
	regions.is_known("gb-eng", set())
	regions.is_known("xk", {"XK"})
	not regions.is_known("XK", set())
	not regions.is_known("XX", set())
	not regions.is_known("QQ-123", set())
	not regions.is_known(" CN", set())
	not regions.is_known("", set())
	not regions.is_known(7, {"7"})
	not regions.is_known(null, set())

	# Only ASCII letters change case: upper("ſg") is "SG" in OPA, and "ß" is "SS" in Python.
	not regions.is_known("ſg", set())
	not regions.is_known("ß", set())
	regions.region_of("ır", {"IR"}) == null
	regions.region_of("ſu", {"SU"}) == null
}

test_known_classification_every_known_code if {
	c := regions.known_classification({"CN", "RU-MOW", "RU", "UA-43", "XK"}, {"XK", "ZZ"})
	count(c) == count(data.stakegate.iso3166.codes) + 2
	c.CN == "CN"
	c["CN-BJ"] == "CN"
	c.RU == "RU"
	c["RU-MOW"] == "RU" # the country, as region_of
	c["UA-43"] == "UA-43"
	c.UA == null
	c["UA-14"] == null
	c.SG == null
	c.XK == "XK"
	c.ZZ == null
	not "XX" in object.keys(c)

	# Exactly region_of for every code.
	every code, region in c {
		regions.region_of(code, {"CN", "RU-MOW", "RU", "UA-43", "XK"}) == region
	}
}

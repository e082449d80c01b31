package stakegate.jurisdiction_test

import data.stakegate.jurisdiction

_restricted := {"CN", "RU", "KP", "IR"}

test_restricted_jurisdiction_country if {
	r := jurisdiction.restricted_jurisdiction({"id": "acme-cn", "jurisdiction": "CN"}, _restricted)
	r == {"code": "restricted_jurisdiction", "severity": "deny", "field": "jurisdiction", "value": "CN", "region": "CN"}
}

test_restricted_jurisdiction_subdivision if {
	r := jurisdiction.restricted_jurisdiction({"id": "mos", "jurisdiction": "RU-MOW"}, _restricted)
	r == {
		"code": "restricted_jurisdiction", "severity": "deny",
		"field": "jurisdiction", "value": "RU-MOW", "region": "RU",
	}
}

test_restricted_jurisdiction_lower_case if {
	r := jurisdiction.restricted_jurisdiction({"id": "p1", "jurisdiction": "ru"}, _restricted)
	r == {"code": "restricted_jurisdiction", "severity": "deny", "field": "jurisdiction", "value": "ru", "region": "RU"}
}

test_restricted_jurisdiction_clear if {
	not jurisdiction.restricted_jurisdiction({"id": "acme-sg", "jurisdiction": "SG"}, _restricted)
}

test_restricted_jurisdiction_missing if {
	not jurisdiction.restricted_jurisdiction({"id": "x"}, _restricted)
	not jurisdiction.restricted_jurisdiction({"id": "x", "jurisdiction": null}, _restricted)
}

test_restricted_headquarters_country if {
	r := jurisdiction.restricted_headquarters({"id": "acme-sg", "jurisdiction": "SG", "headquarters": "cn"}, _restricted)
	r == {"code": "restricted_headquarters", "severity": "deny", "field": "headquarters", "value": "cn", "region": "CN"}
}

test_restricted_headquarters_missing if {
	not jurisdiction.restricted_headquarters({"id": "acme-sg", "jurisdiction": "SG"}, _restricted)
}

test_unknown_jurisdiction_missing if {
	r := jurisdiction.unknown_jurisdiction({"id": "x"})
	r == {"code": "unknown_jurisdiction", "severity": "review", "field": "jurisdiction"}
}

test_unknown_jurisdiction_null_or_blank if {
	r := {"code": "unknown_jurisdiction", "severity": "review", "field": "jurisdiction"}
	jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": null}) == r
	jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": ""}) == r
	jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": "  "}) == r
	jurisdiction.unknown_jurisdiction("not facts") == r
}

test_unknown_jurisdiction_known if {
	not jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": "SG"})
}

test_reasons_order_jurisdiction_then_headquarters if {
	r := jurisdiction.reasons({"id": "x", "jurisdiction": "IR", "headquarters": "RU-MOW"}, _restricted)
	r == [
		{"code": "restricted_jurisdiction", "severity": "deny", "field": "jurisdiction", "value": "IR", "region": "IR"},
		{"code": "restricted_headquarters", "severity": "deny", "field": "headquarters", "value": "RU-MOW", "region": "RU"},
	]
}

test_reasons_unknown_jurisdiction_with_restricted_headquarters if {
	r := jurisdiction.reasons({"id": "x", "headquarters": "KP"}, _restricted)
	r == [
		{"code": "restricted_headquarters", "severity": "deny", "field": "headquarters", "value": "KP", "region": "KP"},
		{"code": "unknown_jurisdiction", "severity": "review", "field": "jurisdiction"},
	]
}

test_reasons_clear if {
	jurisdiction.reasons({"id": "x", "jurisdiction": "SG", "headquarters": "GB"}, _restricted) == []
}

test_is_restricted_cases if {
	jurisdiction.is_restricted({"jurisdiction": "CN"}, _restricted)
	jurisdiction.is_restricted({"jurisdiction": "SG", "headquarters": "ir-07"}, _restricted)
	not jurisdiction.is_restricted({"jurisdiction": "SG", "headquarters": "GB"}, _restricted)
	not jurisdiction.is_restricted({}, _restricted)
	not jurisdiction.is_restricted({"jurisdiction": "UA-43"}, _restricted)
	jurisdiction.is_restricted({"jurisdiction": "UA-43"}, {"UA-43"})
}

test_clear_jurisdictions_cases if {
	codes := {"SG", "sg", "cn", "RU-MOW", "UA-43", "", " ", null, 7}
	jurisdiction.clear_jurisdictions(codes, _restricted) == {"SG": true, "sg": true, "UA-43": true}
	jurisdiction.clear_jurisdictions(set(), _restricted) == {}
}

test_clear_headquarters_cases if {
	codes := {"SG", "kp", "IR-01", "", " ", null, 7}
	jurisdiction.clear_headquarters(codes, _restricted) == {"SG": true, "": true, " ": true}
}

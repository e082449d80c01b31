package stakegate.jurisdiction_test

import data.stakegate.jurisdiction

_restricted := {"CN", "RU", "KP", "IR"}

_policy := {"regions": _restricted, "user_assigned_codes": set()}

_with_kosovo := {"regions": _restricted, "user_assigned_codes": {"XK"}}

_location(code, field, value, region) := {
	"code": code, "severity": "deny",
	"field": field, "value": value, "region": region,
}

_unknown(field, value) := {"code": "unknown_jurisdiction", "severity": "review", "field": field, "value": value}

_missing := {"code": "unknown_jurisdiction", "severity": "review", "field": "jurisdiction"}

test_restricted_jurisdiction_country if {
	r := jurisdiction.restricted_jurisdiction({"id": "acme-cn", "jurisdiction": "CN"}, _restricted)
	r == _location("restricted_jurisdiction", "jurisdiction", "CN", "CN")
}

test_restricted_jurisdiction_subdivision if {
	r := jurisdiction.restricted_jurisdiction({"id": "mos", "jurisdiction": "RU-MOW"}, _restricted)
	r == _location("restricted_jurisdiction", "jurisdiction", "RU-MOW", "RU")
}

test_restricted_jurisdiction_lower_case if {
	r := jurisdiction.restricted_jurisdiction({"id": "p1", "jurisdiction": "ru"}, _restricted)
	r == _location("restricted_jurisdiction", "jurisdiction", "ru", "RU")
}

test_restricted_jurisdiction_clear if {
	not jurisdiction.restricted_jurisdiction({"id": "acme-sg", "jurisdiction": "SG"}, _restricted)
}

test_restricted_jurisdiction_unknown_subdivision_of_restricted_country if {
	# Not an ISO 3166-2 code: unknown (review), never matched by its prefix.
	not jurisdiction.restricted_jurisdiction({"id": "x", "jurisdiction": "CN-ZZZ"}, _restricted)
	not jurisdiction.restricted_jurisdiction({"id": "x", "jurisdiction": " CN"}, _restricted)
}

test_restricted_jurisdiction_missing if {
	not jurisdiction.restricted_jurisdiction({"id": "x"}, _restricted)
	not jurisdiction.restricted_jurisdiction({"id": "x", "jurisdiction": null}, _restricted)
}

test_restricted_headquarters_country if {
	r := jurisdiction.restricted_headquarters({"id": "acme-sg", "jurisdiction": "SG", "headquarters": "cn"}, _restricted)
	r == _location("restricted_headquarters", "headquarters", "cn", "CN")
}

test_restricted_headquarters_missing if {
	not jurisdiction.restricted_headquarters({"id": "acme-sg", "jurisdiction": "SG"}, _restricted)
}

test_unknown_jurisdiction_missing if {
	jurisdiction.unknown_jurisdiction({"id": "x"}, "jurisdiction", set()) == _missing
}

test_unknown_jurisdiction_null_or_blank if {
	jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": null}, "jurisdiction", set()) == _missing
	jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": ""}, "jurisdiction", set()) == _missing
	jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": "  "}, "jurisdiction", set()) == _missing
	jurisdiction.unknown_jurisdiction("not facts", "jurisdiction", set()) == _missing
}

test_unknown_jurisdiction_known if {
	not jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": "SG"}, "jurisdiction", set())
	not jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": "gb-eng"}, "jurisdiction", set())
	not jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": "xk"}, "jurisdiction", {"XK"})
}

test_unknown_jurisdiction_unassigned_codes if {
	every code in ["XX", "ZZ", "AA", "QQ-123", "xk", "CN-ZZZ", " CN", "Singapore", "SGP"] {
		r := jurisdiction.unknown_jurisdiction({"id": "x", "jurisdiction": code}, "jurisdiction", set())
		r == _unknown("jurisdiction", code)
	}
}

test_unknown_jurisdiction_headquarters if {
	r := jurisdiction.unknown_jurisdiction({"id": "x", "headquarters": "XX"}, "headquarters", set())
	r == _unknown("headquarters", "XX")
	not jurisdiction.unknown_jurisdiction({"id": "x"}, "headquarters", set())
	not jurisdiction.unknown_jurisdiction({"id": "x", "headquarters": " "}, "headquarters", set())
	not jurisdiction.unknown_jurisdiction({"id": "x", "headquarters": "SG"}, "headquarters", set())
}

test_reasons_order_jurisdiction_then_headquarters if {
	r := jurisdiction.reasons({"id": "x", "jurisdiction": "IR", "headquarters": "RU-MOW"}, _policy)
	r == [
		_location("restricted_jurisdiction", "jurisdiction", "IR", "IR"),
		_location("restricted_headquarters", "headquarters", "RU-MOW", "RU"),
	]
}

test_reasons_unknown_jurisdiction_with_restricted_headquarters if {
	r := jurisdiction.reasons({"id": "x", "headquarters": "KP"}, _policy)
	r == [_location("restricted_headquarters", "headquarters", "KP", "KP"), _missing]
}

test_reasons_unknown_codes if {
	jurisdiction.reasons({"id": "x", "jurisdiction": "XX"}, _policy) == [_unknown("jurisdiction", "XX")]
	jurisdiction.reasons({"id": "x", "jurisdiction": "SG", "headquarters": "QQ-123"}, _policy) == [
		_unknown("headquarters", "QQ-123"),
	]
	jurisdiction.reasons({"id": "x", "jurisdiction": "ZZ", "headquarters": "cn"}, _policy) == [
		_location("restricted_headquarters", "headquarters", "cn", "CN"),
		_unknown("jurisdiction", "ZZ"),
	]
}

test_reasons_user_assigned_code if {
	jurisdiction.reasons({"id": "x", "jurisdiction": "XK"}, _policy) == [_unknown("jurisdiction", "XK")]
	jurisdiction.reasons({"id": "x", "jurisdiction": "XK"}, _with_kosovo) == []
	jurisdiction.reasons({"id": "x", "jurisdiction": "SG", "headquarters": "xk"}, _with_kosovo) == []
}

test_reasons_clear if {
	jurisdiction.reasons({"id": "x", "jurisdiction": "SG", "headquarters": "GB"}, _policy) == []
	jurisdiction.reasons({"id": "x", "jurisdiction": "sg", "headquarters": ""}, _policy) == []
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
	codes := {"SG", "sg", "cn", "RU-MOW", "UA-43", "", " ", null, 7, "XX", "XK", "CN-ZZZ"}
	jurisdiction.clear_jurisdictions(codes, _policy) == {"SG": true, "sg": true, "UA-43": true}
	jurisdiction.clear_jurisdictions(codes, _with_kosovo) == {"SG": true, "sg": true, "UA-43": true, "XK": true}
	jurisdiction.clear_jurisdictions(set(), _policy) == {}
}

test_clear_headquarters_cases if {
	codes := {"SG", "kp", "IR-01", "", " ", null, 7, "ZZ", "QQ-123"}
	jurisdiction.clear_headquarters(codes, _policy) == {"SG": true, "": true, " ": true}
}

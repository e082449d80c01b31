package stakegate.designations_test

import data.stakegate.designations

_lists := {"us_ofac_sdn"}

_facts(ds) := {"id": "x", "type": "company", "designations": ds}

test_reasons_live_on_the_lists if {
	ds := [
		{"list": "us_ofac_sdn", "program": "RUSSIA-EO14024", "since": "2023-05-19"},
		{"list": "eu_fsf"},
		{"list": "us_ofac_sdn", "since": "2027-01-01"},
		{"list": "us_ofac_sdn", "until": "2026-11-30"},
		{"list": "us_ofac_sdn", "since": "2026-11-30", "until": "2026-12-01"},
	]
	designations.reasons(_facts(ds), _lists, "2026-11-30") == [
		{"code": "designated", "severity": "deny", "list": "us_ofac_sdn", "program": "RUSSIA-EO14024", "since": "2023-05-19"},
		{"code": "designated", "severity": "deny", "list": "us_ofac_sdn", "since": "2026-11-30", "until": "2026-12-01"},
	]
	designations.reasons({"id": "x"}, _lists, "2026-11-30") == []
}

# FAQ 402: a delisted owner no longer counts from the day it was delisted.
test_delisted_before_and_after_as_of if {
	d := {"list": "us_ofac_sdn", "since": "2020-01-01", "until": "2026-06-01"}
	designations.is_live(d, _lists, "2026-05-31")
	not designations.is_live(d, _lists, "2026-06-01")
	not designations.is_live(d, _lists, "2019-12-31")
}

test_well_formed if {
	designations.is_well_formed({"id": "x"})
	designations.is_well_formed(_facts([]))
	designations.is_well_formed(_facts([{"list": "a", "program": "p", "since": "2020-01-01", "until": "2021-01-01"}]))
	every ds in [
		"a", [7], [{"list": " "}], [{"list": "a", "since": "2020"}], [{"list": "a", "note": 1}],
		[{"list": "a", "program": 7}], [{"list": "a", "until": 20210101}],
	] {
		not designations.is_well_formed(_facts(ds))
	}
}

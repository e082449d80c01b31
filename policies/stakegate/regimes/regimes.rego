# METADATA
# title: Regime presets
# description: |
#   The ownership regimes stakegate ships, as policy data: each preset is one rule of `presets`
#   whose METADATA cites what it is based on, and each period a regime is in force is one rule of
#   `windows` whose METADATA cites the instrument that set it. A regime without windows is always
#   in force. Authors add or replace regimes in config `regimes` (config/README.md), validated by
#   stakegate.params; `restricted-regions` (the shipped rule) is built there from the top-level
#   parameters. Facts were checked against public sources on 2026-11-30; where a date could not
#   be confirmed from a primary source the METADATA says so (see docs/regimes.md).
#   List ids follow OpenSanctions' dataset names where one exists: us_ofac_sdn, eu_fsf,
#   gb_fcdo_sanctions. OpenSanctions has no dataset of its own for the BIS Entity List or the MEU
#   List (they are programs US-BIS-EL and US-BIS-MEU of its us_trade_csl dataset), so those ids
#   are stakegate's own: us_bis_entity_list and us_bis_meu_list.
package stakegate.regimes

# METADATA
# title: OFAC 50 Percent Rule
# description: |
#   An entity owned 50 percent or more, directly or indirectly, individually or in the aggregate,
#   by one or more blocked persons (SDN List) is itself blocked. Aggregation across blocked owners
#   (FAQ 399) and across programs; indirect ownership counts through entities that are themselves
#   50 percent or more owned by blocked persons (FAQ 401), i.e. the control fixpoint. Ownership
#   only, not control (FAQ 398). A divested (delisted) owner no longer counts (FAQ 402).
# custom:
#   sources:
#     - "OFAC, Revised Guidance on Entities Owned by Persons Whose Property and Interests in Property Are Blocked, 13 August 2014"
#     - "OFAC FAQs 398, 399, 400, 401, 402 (ofac.treasury.gov/faqs/398 to /402)"
#     - "31 CFR, 50 Percent Rule interpretive sections, final rule 87 FR 78470 (21 December 2022)"
presets["us-ofac-50"] := {
	"title": "OFAC 50 Percent Rule (SDN List)",
	"restricted_regions": [],
	"designation_lists": ["us_ofac_sdn"],
	"ownership_threshold": 50,
	"threshold_comparison": ">=",
	"aggregation": "combined",
	"method": "control",
}

# METADATA
# title: EU ownership test
# description: |
#   Funds of an entity owned by listed persons are frozen. Since the Council's update of the EU
#   Best Practices of 3 July 2024 the ownership criterion is possession of 50% or more of the
#   proprietary rights (before: more than 50%). The Commission's FAQ on Regulation 269/2014
#   ("Aggregate ownership", updated 8 April 2022) aggregates the holdings of several listed
#   persons (30% + 25% makes the entity owned). Indirect ownership through owned entities: the
#   control fixpoint.
# custom:
#   sources:
#     - "Council of the EU, Update of the EU Best Practices for the effective implementation of restrictive measures, 3 July 2024 (Council document number not confirmed here)"
#     - "European Commission, FAQ on Council Regulation (EU) No 269/2014, Aggregate ownership, last update 8 April 2022"
presets["eu-ownership"] := {
	"title": "EU ownership test (EU financial sanctions list)",
	"restricted_regions": [],
	"designation_lists": ["eu_fsf"],
	"ownership_threshold": 50,
	"threshold_comparison": ">=",
	"aggregation": "combined",
	"method": "control",
}

# METADATA
# title: UK ownership test
# description: |
#   An entity is owned or controlled by a designated person who holds, directly or indirectly,
#   more than 50% of its shares or voting rights. OFSI would not simply aggregate different
#   designated persons' holdings unless they are subject to a joint arrangement or one controls
#   the rights of another (General guidance, paragraph added March 2022): per_owner, each
#   designated person on their own. Joint arrangements are not in the data; model them as one
#   owner. No in-force window: the date the UK's autonomous regimes took over (end of the
#   Brexit transition period) was not confirmed from a primary source here.
# custom:
#   sources:
#     - "OFSI, UK financial sanctions general guidance, chapter 4 (ownership and control), aggregation paragraph added March 2022"
#     - "OFSI, Ownership and Control: Public Officials and Control guidance, 17 November 2023, updated 20 August 2024"
#     - "Sanctions and Anti-Money Laundering Act 2018 regulations, e.g. the Russia (Sanctions) (EU Exit) Regulations 2019"
presets["uk-ownership"] := {
	"title": "UK ownership test (UK Sanctions List)",
	"restricted_regions": [],
	"designation_lists": ["gb_fcdo_sanctions"],
	"ownership_threshold": 50,
	"threshold_comparison": ">",
	"aggregation": "per_owner",
	"method": "control",
}

# METADATA
# title: BIS Affiliates Rule
# description: |
#   Entity List and Military End-User List restrictions extend to foreign entities at least 50
#   percent owned, directly or indirectly, individually or in the aggregate, by listed parties
#   (modelled on OFAC's 50 Percent Rule: the control fixpoint). The rule also reaches affiliates
#   of certain SDNs (15 CFR 744.8(a)(1)); that part is not modelled here. Suspended for one year;
#   see `windows`.
# custom:
#   sources:
#     - "BIS, Expansion of End-User Controls To Cover Affiliates of Certain Listed Entities, interim final rule, 90 FR 47201 (30 September 2025), effective 29 September 2025"
presets["us-bis-affiliates"] := {
	"title": "BIS Affiliates Rule (Entity List, MEU List)",
	"restricted_regions": [],
	"designation_lists": ["us_bis_entity_list", "us_bis_meu_list"],
	"ownership_threshold": 50,
	"threshold_comparison": ">=",
	"aggregation": "combined",
	"method": "control",
}

# METADATA
# title: OFAC aggregation guidance in force
# description: |
#   From the revised guidance of 13 August 2014, which aggregates the holdings of several blocked
#   persons. The 2008 guidance before it (one blocked person alone) is not modelled.
# custom:
#   source: "OFAC, Revised Guidance on Entities Owned by Persons Whose Property and Interests in Property Are Blocked, 13 August 2014"
windows contains _window("us-ofac-50", "2014-08-13", null, rego.metadata.rule())

# METADATA
# title: EU 50% or more criterion in force
# description: |
#   From the Council's update of the Best Practices, 3 July 2024 (the "50% or more" wording).
#   Before it the criterion was "more than 50%": add a regime of your own for earlier dates.
# custom:
#   source: "Council of the EU, Update of the EU Best Practices for the effective implementation of restrictive measures, 3 July 2024"
windows contains _window("eu-ownership", "2024-07-03", null, rego.metadata.rule())

# METADATA
# title: BIS Affiliates Rule, first period
# description: |
#   Effective 29 September 2025 until the one-year suspension took effect on 10 November 2025.
# custom:
#   source: "BIS, interim final rule 90 FR 47201 (30 September 2025), effective 29 September 2025; suspension final rule effective 10 November 2025, Federal Register vol. 90 no. 216 (12 November 2025; page not confirmed here)"
windows contains _window("us-bis-affiliates", "2025-09-29", "2025-11-10", rego.metadata.rule())

# METADATA
# title: BIS Affiliates Rule, after the suspension
# description: |
#   The suspension ran from 10 November 2025 through 9 November 2026; the suspended provisions
#   are reimposed on 10 November 2026 unless BIS acts again (none found on 2026-11-30).
# custom:
#   source: "BIS, final rule suspending the Affiliates Rule, effective 10 November 2025 through 9 November 2026, Federal Register vol. 90 no. 216 (12 November 2025; page not confirmed here)"
windows contains _window("us-bis-affiliates", "2026-11-10", null, rego.metadata.rule())

# A window [from, until) of `regime` (until null: open), with the source and title from the
# annotations of the rule that states it.
_window(regime, from, until, annotations) := {
	"regime": regime,
	"from": from,
	"until": until,
	"title": annotations.title,
	"source": annotations.custom.source,
}

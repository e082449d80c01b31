# METADATA
# title: Policy parameters (data only)
# description: |
#   data.stakegate.config is config/data.json: restricted_regions, user_assigned_codes,
#   ownership_threshold, threshold_comparison, method, percent_tolerance, consolidation_share and
#   exceptions, each documented in config/README.md and each required. This package holds no
#   rules; read the validated view, data.stakegate.params (or data.stakegate.view.policy).
# custom:
#   parameters:
#     restricted_regions: Restricted ISO 3166 country codes (matching their subdivisions) or subdivision codes.
#     user_assigned_codes: User-assigned alpha-2 codes (AA, QM-QZ, XA-XZ, ZZ) accepted as known, e.g. XK.
#     ownership_threshold: Percent in [0, 100] that restricted owners must exceed (or reach, with >=).
#     threshold_comparison: '">" (more than the threshold) or ">=" (at least the threshold).'
#     method: control, look_through or either (deny if either method denies).
#     percent_tolerance: Non-negative; shares this close to the threshold count as equal to it.
#     consolidation_share: Share band that a consolidation holding without a percent counts as.
#     exceptions: Allowlist entries {entity, reason, approver, expires YYYY-MM-DD}.
package stakegate.config

# METADATA
# title: Policy parameters (data only)
# description: |
#   data.stakegate.config is config/data.json: restricted_regions, ownership_threshold,
#   threshold_comparison, method, percent_tolerance, consolidation_share and exceptions, each documented in
#   config/README.md. This package holds no rules; read the validated view, data.stakegate.params.
# custom:
#   parameters:
#     restricted_regions: Restricted country codes (matching their subdivisions) or subdivision codes.
#     ownership_threshold: Percent in [0, 100] that restricted owners must exceed (or reach, with >=).
#     threshold_comparison: '">" (more than the threshold) or ">=" (at least the threshold).'
#     method: control, look_through or either (deny if either method denies).
#     percent_tolerance: Non-negative; shares this close to the threshold count as equal to it.
#     consolidation_share: Share band that a consolidation holding without a percent counts as.
#     exceptions: Allowlist entries {entity, reason, approver, expires YYYY-MM-DD}.
package stakegate.config

"""Versioned, signed policy bundles: building them (``build``) and checking signatures,
manifests and approvals before OPA ever loads one (``signing``)."""

"""Versioned, signed policy bundles: the build gate (``gate``), building (``build``), bounded
reading (``archive``), signature and content checks (``signing``), signed reviewer approvals
(``approvals``), the trust decision the engine loads a policy under (``trust``), and the release
review's config check (``release``). See docs/bundles.md."""

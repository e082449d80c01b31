"""The one trust decision: which policy the engine may evaluate, checked before OPA starts.

A ``Trust`` says what is trusted, and nothing is by default: the public key bundles must be
signed for, whether reviewer approvals are required, whose (reviewer keys), and how many.
``verify_for_loading`` applies it to a ``--policy`` as of a decision date; ``check_sources``
and ``check_remote_revision`` apply it to an OPA the engine did not start (``--opa-url``), which
is trusted only as far as it reports serving the revision of a bundle that passed here. Such a
remote OPA must verify bundle signatures itself (its ``signing`` config, see docs/DEPLOYMENT.md):
stakegate sees only the revision it reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from stakegate import settings
from stakegate.bundles.approvals import load_reviewer_keys, valid_approvals
from stakegate.bundles.signing import VerifiedBundle, verify_bundle
from stakegate.errors import BundleVerificationError, InputError
from stakegate.logs import get_logger

__all__ = ["Trust", "check_remote_revision", "check_sources", "verify_for_loading"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Trust:
    """What a run trusts: configured explicitly (options or ``STAKEGATE_*``), never implied."""

    public_key: Path | None = None  # PEM (RSA) every bundle must be signed for
    require_approval: bool = False  # only bundles with enough valid reviewer approvals
    reviewer_keys: Path | None = None  # PEM file of public keys, or a directory of *.pem
    min_approvals: int = 1

    def __post_init__(self) -> None:
        if self.min_approvals < 1:
            raise InputError(f"{self.min_approvals}: at least 1", param="min_approvals")

    @classmethod
    def from_settings(cls) -> Trust:
        """``STAKEGATE_BUNDLE_PUBLIC_KEY``, ``_REQUIRE_APPROVAL``, ``_REVIEWER_KEYS``; no key
        when they are unset."""
        return cls(
            public_key=settings.BUNDLE_PUBLIC_KEY,
            require_approval=settings.REQUIRE_APPROVAL,
            reviewer_keys=settings.REVIEWER_KEYS,
        )


def _is_bundle(policy: Path) -> bool:
    return policy.name.endswith((".tar.gz", ".tgz")) and not policy.is_dir()


def verify_bundle_with(bundle: Path, trust: Trust) -> VerifiedBundle:
    """Signature, content and manifest against the configured key; no key, no bundle."""
    if trust.public_key is None:
        raise InputError(
            f"{bundle}: no public key to verify the bundle against: configure the bundle "
            "public key (setting STAKEGATE_BUNDLE_PUBLIC_KEY); no key is trusted by default",
            param="key",
        )
    return verify_bundle(bundle, trust.public_key)


def verify_for_loading(policy: Path, trust: Trust, as_of: date | None) -> VerifiedBundle | None:
    """The verified bundle the engine may load for decisions ``as_of``, or None for a policy
    directory (unsigned, development only, refused when approval is required).

    ``as_of=None`` is a preview (``bundle diff``): a bundle not yet in force is accepted.
    """
    if not _is_bundle(policy):
        if trust.require_approval:
            raise BundleVerificationError(
                f"{policy}: refused: only approved bundles may be loaded (approval is "
                "required), and a policy directory is unsigned; give a signed, approved bundle"
            )
        return None
    bundle = verify_bundle_with(policy, trust)
    if as_of is not None and date.fromisoformat(bundle.effective_date) > as_of:
        raise BundleVerificationError(
            f"{policy}: refused: version {bundle.version} takes effect on "
            f"{bundle.effective_date}, after the decision date {as_of.isoformat()}; "
            "preview it with `stakegate bundle diff`"
        )
    if trust.require_approval:
        approvals = valid_approvals(
            bundle, load_reviewer_keys(trust.reviewer_keys), trust.min_approvals
        )
        log.info(
            "Bundle approved",
            bundle=str(policy),
            revision=bundle.revision,
            reviewers=[a["reviewer"] for a in approvals],
        )
    return bundle


def check_sources(policy: Path | None, opa_url: str | None, trust: Trust) -> None:
    """With ``--opa-url``, ``--policy`` may only name the bundle the remote OPA must serve;
    with approval required it has to."""
    if not opa_url:
        return
    if policy is not None and not _is_bundle(policy):
        raise InputError(
            f"{policy}: with an OPA URL, the policy names the signed bundle (.tar.gz) the "
            "remote OPA must be serving, not a policy directory",
            param="policy",
        )
    if trust.require_approval and policy is None:
        raise InputError(
            "with approval required, a remote OPA needs the approved bundle (a .tar.gz) whose "
            "revision it must report",
            param="policy",
        )


def check_remote_revision(url: str, reported: str | None, expected: VerifiedBundle) -> None:
    """Refuse a remote OPA unless it reports exactly the revision of ``expected``."""
    if reported != expected.revision:
        raise BundleVerificationError(
            f"OPA at {url} reports policy revision {reported or 'none'!r}, not "
            f"{expected.revision!r} of {expected.path}: refused (the remote OPA must serve "
            "that signed bundle alone, and verify its signature itself)"
        )

"""The release review's config check: are the shipped parameters the approved ones?

Rego tests set the parameters they rely on, so ``make lint-rego`` passes whatever
``config/data.json`` says; that is what lets authors edit it. Whether the shipped values are
the ones legal approved is a separate question, asked here and only in the release review
(``stakegate bundle check-config``, ``make release-check``): the parameters in the policy
directory are compared with those inside the latest (highest version) bundle in the bundle
directory that verifies with the configured key and carries enough valid reviewer approvals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stakegate import settings
from stakegate.bundles.approvals import load_reviewer_keys, valid_approvals
from stakegate.bundles.signing import VerifiedBundle
from stakegate.bundles.trust import Trust, verify_bundle_with
from stakegate.errors import BundleVerificationError, InputError

__all__ = ["ConfigCheck", "check_config"]

CONFIG = Path("stakegate") / "config" / "data.json"


@dataclass(slots=True)
class ConfigCheck:
    """The outcome: which release, and every parameter whose shipped value differs."""

    config: Path
    release: str
    version: str
    revision: str
    approved_by: list[str]
    differences: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "config": str(self.config),
            "release": self.release,
            "version": self.version,
            "revision": self.revision,
            "approved_by": self.approved_by,
            "matches": not self.differences,
            "differences": self.differences,
        }


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"duplicate key {dup!r}")
    return dict(pairs)


def _shipped(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
    except OSError as err:
        raise InputError(f"{path}: cannot read the config ({err.strerror or err})") from None
    except ValueError as err:
        raise InputError(f"{path}: not a JSON config ({err})") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: the config is not a JSON object")
    return config


def _approved(bundle: VerifiedBundle) -> dict[str, Any]:
    data = json.loads(bundle.files.get("data.json", b"{}"))
    config = data.get("stakegate", {}).get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise BundleVerificationError(f"{bundle.path}: holds no data.stakegate.config")
    return config


def _same(a: object, b: object) -> bool:
    """JSON equality: numbers by value (50 == 50.0), but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    numbers = isinstance(a, int | float) and isinstance(b, int | float)
    return (numbers or type(a) is type(b)) and a == b


def _version_key(bundle: VerifiedBundle) -> tuple[int, ...]:
    return tuple(int(part) for part in bundle.version.split("."))


def check_config(
    trust: Trust, *, policy: Path | None = None, bundle_dir: Path | None = None
) -> ConfigCheck:
    """Compare ``policy``'s config with the latest approved release in ``bundle_dir``."""
    config_path = (policy or settings.DEFAULT_POLICY) / CONFIG
    directory = bundle_dir or settings.BUNDLE_DIR
    shipped = _shipped(config_path)
    reviewers = load_reviewer_keys(trust.reviewer_keys)
    notes: list[str] = []
    releases: list[tuple[VerifiedBundle, list[dict[str, Any]]]] = []
    for path in sorted(directory.glob("stakegate-*.tar.gz")):
        try:
            bundle = verify_bundle_with(path, trust)
            approvals = valid_approvals(bundle, reviewers, trust.min_approvals)
        except BundleVerificationError as err:
            notes.append(f"not an approved release: {str(err).splitlines()[0]}")
            continue
        releases.append((bundle, approvals))
    if not releases:
        raise BundleVerificationError(
            f"{directory}: no approved release (a bundle signed for the bundle key with "
            f"{trust.min_approvals} valid approval(s) from trusted reviewer keys) to compare with"
        )
    bundle, approvals = max(releases, key=lambda item: _version_key(item[0]))
    approved = _approved(bundle)
    differences = [
        {"name": name, "approved": approved.get(name), "shipped": shipped.get(name)}
        for name in sorted(set(approved) | set(shipped))
        if name not in approved or name not in shipped or not _same(approved[name], shipped[name])
    ]
    return ConfigCheck(
        config=config_path,
        release=bundle.path.name,
        version=bundle.version,
        revision=bundle.revision,
        approved_by=[str(a["reviewer"]) for a in approvals],
        differences=differences,
        notes=notes,
    )

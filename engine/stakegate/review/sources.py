"""The two policies a review compares, read once: a signed bundle or a policy directory.

OLD is normally a released, signed bundle; NEW may be a policy directory, so an author can see
what a change does before building it (the report then says it is an unsigned preview). Both are
read into the same shape: the rule files a bundle would carry (no tests), and the data tree with
the parameters at ``stakegate.config``. That shape is what the cause analysis recombines: OLD
with one parameter of NEW, or OLD's parameters with NEW's rules, written as a policy directory
(``write_policy``) and screened by the real engine.

A bundle is read only through ``verify_bundle`` (signature, every file, manifest); a directory
through ``bundle_sources``, the same selection ``bundle build`` signs.
"""

from __future__ import annotations

import copy
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stakegate.bundles.build import bundle_sources
from stakegate.bundles.signing import VerifiedBundle
from stakegate.bundles.trust import Trust, verify_bundle_with
from stakegate.errors import InputError, PolicyEvaluationError
from stakegate.opa_binary import find_opa_binary
from stakegate.policy.runtime import policy_revision

__all__ = ["RULES", "PolicySource", "load_source", "rule_annotations", "write_policy"]

# The change name that stands for the rule text (and any data outside the parameters).
RULES = "rego"
_INSPECT_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class PolicySource:
    """A policy as a review sees it; ``bundle`` is ``None`` for an (unsigned) directory."""

    path: Path
    rego: dict[str, bytes]
    data: dict[str, Any]
    bundle: VerifiedBundle | None
    revision: str

    @property
    def config(self) -> dict[str, Any]:
        config = self.data.get("stakegate", {}).get("config", {})
        return config if isinstance(config, dict) else {}

    @property
    def version(self) -> str:
        return self.bundle.version if self.bundle else f"{self.path.name} (unsigned preview)"

    def rest(self) -> dict[str, Any]:
        """The data tree without the parameters: with the rules, what ``RULES`` stands for."""
        data = copy.deepcopy(self.data)
        data.get("stakegate", {}).pop("config", None)
        return data

    def info(self) -> dict[str, Any]:
        """The header of the report for this side."""
        if self.bundle is None:
            return {
                "file": str(self.path),
                "kind": "directory",
                "version": self.version,
                "revision": self.revision,
                "sha256": None,
                "effective_date": None,
                "author": None,
                "changelog": None,
                "source_commit": None,
                "signing_key": None,
            }
        meta = self.bundle.metadata
        return {
            "file": self.bundle.path.name,
            "kind": "bundle",
            "version": self.bundle.version,
            "revision": self.bundle.revision,
            "sha256": self.bundle.sha256,
            "effective_date": meta.get("effective_date"),
            "author": meta.get("author"),
            "changelog": meta.get("changelog"),
            "source_commit": meta.get("source_commit"),
            "signing_key": self.bundle.key_id,
        }

    def with_config(self, config: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, Any]]:
        """This policy's rules and data, with ``config`` as its parameters."""
        data = copy.deepcopy(self.data)
        data.setdefault("stakegate", {})["config"] = copy.deepcopy(config)
        return dict(self.rego), data


def _merge(tree: dict[str, Any], parts: list[str], doc: Any, origin: str) -> None:
    node = tree
    for part in parts:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InputError(f"{origin}: data at {'.'.join(parts)} conflicts with another file")
        node = child
    if not isinstance(doc, dict):
        raise InputError(f"{origin}: a data.json must hold a JSON object")
    for key, value in doc.items():
        if key in node:
            raise InputError(f"{origin}: data key {'.'.join([*parts, key])} is set twice")
        node[key] = value


def _split(files: dict[str, bytes], origin: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    rego: dict[str, bytes] = {}
    data: dict[str, Any] = {}
    for name, content in sorted(files.items()):
        if name.endswith(".rego") and not name.endswith("_test.rego"):
            rego[name] = content
        elif name == "data.json" or name.endswith("/data.json"):
            where = f"{origin}: {name}"
            try:
                doc = json.loads(content)
            except ValueError as err:
                raise InputError(f"{where}: not JSON ({err})") from None
            _merge(data, name.split("/")[:-1], doc, where)
    return rego, data


def load_source(path: Path, public_key: Path | None) -> PolicySource:
    """Read a bundle (verified against ``public_key``) or a policy directory."""
    if path.is_dir():
        rego, data = _split(bundle_sources(path), path)
        return PolicySource(path, rego, data, None, policy_revision(path))
    if not path.exists():
        raise InputError(f"{path}: bundle or policy directory not found")
    if not path.name.endswith((".tar.gz", ".tgz")):
        raise InputError(f"{path}: expected a bundle .tar.gz or a policy directory")
    bundle = verify_bundle_with(path, Trust(public_key=public_key))
    rego, data = _split(bundle.files, path)
    return PolicySource(path, rego, data, bundle, bundle.revision)


def write_policy(target: Path, rego: dict[str, bytes], data: dict[str, Any]) -> Path:
    """A policy directory at ``target``: the rule files and one root ``data.json``."""
    for name, content in rego.items():
        file = target / name
        if not file.resolve().is_relative_to(target.resolve()):
            raise InputError(f"policy file {name!r} would be written outside {target}")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(content)
    target.mkdir(parents=True, exist_ok=True)
    (target / "data.json").write_text(json.dumps(data, sort_keys=True))
    return target


def rule_annotations(source: PolicySource) -> dict[str, dict[str, Any]]:
    """METADATA annotations of the rules and packages, keyed by ``path (scope)``."""
    with tempfile.TemporaryDirectory(prefix="stakegate-inspect-") as tmp:
        policy = write_policy(Path(tmp) / "policy", source.rego, source.data)
        cmd = [find_opa_binary(), "inspect", "--annotations", "--format", "json", str(policy)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=_INSPECT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise PolicyEvaluationError(
                f"opa inspect {source.path} did not finish within {_INSPECT_TIMEOUT_S}s"
            ) from None
    if done.returncode != 0:
        raise PolicyEvaluationError(f"opa inspect {source.path} failed: {done.stderr.strip()}")
    docs: dict[str, dict[str, Any]] = {}
    for item in json.loads(done.stdout).get("annotations") or []:
        notes = item.get("annotations", {})
        path = ".".join(str(part["value"]) for part in item.get("path", []))
        entry = {
            "path": path,
            "scope": notes.get("scope", ""),
            "title": notes.get("title", ""),
            "description": str(notes.get("description", "")).strip(),
            "entrypoint": bool(notes.get("entrypoint", False)),
            "custom": notes.get("custom", {}),
        }
        key = f"{path} ({entry['scope']})"
        while key in docs:
            key += "'"
        docs[key] = entry
    return dict(sorted(docs.items()))

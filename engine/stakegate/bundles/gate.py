"""The build gate: what a policy directory must pass before a bundle of it is signed.

One implementation for two callers: ``stakegate bundle build`` (which refuses to sign, and
writes nothing, when any step fails) and ``make lint-rego`` (``scripts/check_rego.sh`` runs
``stakegate bundle gate``), so the check authors run is exactly the check the build enforces:

1. ``opa fmt --list --fail``: every file formatted;
2. ``opa check --strict --capabilities <pinned>``: compiles against the pinned OPA;
3. ``opa check --strict --schema schemas/``: type-checks input and data against the contract;
4. ``opa test``: every test passes (and at least one runs; ``todo_`` tests are not counted);
5. ``opa test --coverage``: coverage at or above ``REGO_MIN_COVERAGE``;
6. parameters: the policy view (``data.stakegate.view.policy``) finds every parameter valid.

The report (test count, coverage) goes into the signed manifest. Results are memoized per
process by the content of everything the gate reads, so tests that build one policy several
times run it once.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stakegate import settings
from stakegate.errors import OpaUnavailableError, PolicyGateError
from stakegate.opa_binary import find_opa_binary

__all__ = ["GateReport", "run_gate"]

_TIMEOUT_S = 300
_SHOWN_LINES = 40

Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class GateReport:
    """What the gate measured on a policy directory that passed it."""

    tests: int
    coverage: float


_MEMO: dict[str, GateReport] = {}


def _fingerprint(policy: Path, schemas: Path, capabilities: Path, minimum: float) -> str:
    digest = hashlib.sha256(f"{find_opa_binary()}\0{minimum}\0".encode())
    for root in (policy, schemas):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes() + b"\0")
    digest.update(capabilities.read_bytes())
    return digest.hexdigest()


def _opa(step: str, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [find_opa_binary(), *args], capture_output=True, text=True, timeout=_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise PolicyGateError(step, f"did not finish within {_TIMEOUT_S}s") from None
    except OSError as err:
        raise OpaUnavailableError(f"cannot run OPA for {step}: {err}") from err


def _shown(text: str) -> str:
    lines = text.strip().splitlines()
    more = len(lines) - _SHOWN_LINES
    return "\n".join(lines[:_SHOWN_LINES] + ([f"... ({more} more lines)"] if more > 0 else []))


def _require(step: str, done: subprocess.CompletedProcess[str]) -> None:
    if done.returncode != 0:
        raise PolicyGateError(step, _shown(done.stderr or done.stdout))


def _tests(policy: Path) -> int:
    step = "opa test"
    done = _opa(step, "test", str(policy), "--format", "json", "--timeout", "60s")
    try:
        results: list[dict[str, Any]] = json.loads(done.stdout)
    except ValueError:
        raise PolicyGateError(step, _shown(done.stderr or done.stdout)) from None
    failed = [r for r in results if r.get("fail") or r.get("error")]
    ran = [r for r in results if not r.get("skip")]  # todo_ tests are reported, not run
    if failed:
        names = [
            f"{r.get('package', '?')}.{r.get('name', '?')}: "
            f"{'error ' + str(r['error'].get('message', '')) if r.get('error') else 'FAIL'}"
            for r in failed
        ]
        raise PolicyGateError(
            step, f"{len(failed)} of {len(results)} failed:\n" + _shown("\n".join(names))
        )
    _require(step, done)
    if not ran:
        raise PolicyGateError(step, "no tests found")
    return len(ran)


def _coverage(policy: Path, minimum: float) -> float:
    step = "opa test --coverage"
    done = _opa(step, "test", str(policy), "--coverage", "--timeout", "60s")
    try:
        report = json.loads(done.stdout)
        coverage = float(report["coverage"])
    except (ValueError, KeyError, TypeError):
        raise PolicyGateError(step, _shown(done.stderr or done.stdout)) from None
    _require(step, done)
    if coverage < minimum:
        uncovered = [
            f"{name}: lines {span['start']['row']}-{span['end']['row']}"
            for name, info in sorted(report.get("files", {}).items())
            for span in (info or {}).get("not_covered", [])
        ]
        raise PolicyGateError(
            step,
            f"coverage {coverage:.2f}% is below {minimum:g}%; not covered:\n"
            + _shown("\n".join(uncovered)),
        )
    return coverage


def _parameters(policy: Path) -> None:
    step = "parameters (data.stakegate.view.policy)"
    query = "view := data.stakegate.view.policy"
    done = _opa(step, "eval", "--format", "json", "--data", str(policy), query)
    _require(step, done)
    try:
        view = json.loads(done.stdout)["result"][0]["bindings"]["view"]
        valid, problems = view["valid"], view["problems"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise PolicyGateError(
            step, "undefined: the policy has no data.stakegate.view.policy"
        ) from None
    if valid is not True or problems:
        messages = [
            str(p.get("message")) if isinstance(p, dict) else str(p) for p in problems or []
        ]
        raise PolicyGateError(
            step,
            "invalid: "
            + "; ".join(messages or ["the policy says its parameters are invalid"])
            + " (see policies/stakegate/config/README.md)",
        )


def run_gate(policy: Path, echo: Echo | None = None) -> GateReport:
    """Run every step on ``policy``; raise ``PolicyGateError`` naming the first that fails."""
    say = echo or (lambda _line: None)
    schemas, capabilities = settings.SCHEMA_DIR, settings.OPA_CAPABILITIES
    minimum = settings.REGO_MIN_COVERAGE
    if not policy.is_dir():
        raise PolicyGateError("policy", f"{policy} is not a policy directory")
    if not capabilities.is_file():
        raise PolicyGateError(
            "opa check",
            f"pinned capabilities {capabilities} are missing; generate them deliberately with "
            f"`{find_opa_binary()} capabilities --current > {capabilities}`",
        )
    key = _fingerprint(policy, schemas, capabilities, minimum)
    if key in _MEMO:
        say(f"gate: {policy} unchanged since it passed in this process")
        return _MEMO[key]
    say("== opa fmt")
    _require("opa fmt", _opa("opa fmt", "fmt", "--list", "--fail", str(policy)))
    say(f"== opa check --strict --capabilities {capabilities}")
    step = "opa check --capabilities"
    pinned = ("--capabilities", str(capabilities))
    _require(step, _opa(step, "check", "--strict", *pinned, str(policy)))
    say(f"== opa check --strict --schema {schemas}")
    step = "opa check --schema"
    _require(step, _opa(step, "check", "--strict", "--schema", str(schemas), str(policy)))
    say("== opa test")
    tests = _tests(policy)
    say(f"   {tests} tests passed")
    say(f"== opa test --coverage (minimum {minimum:g}%)")
    coverage = _coverage(policy, minimum)
    say(f"   coverage {coverage:.2f}%")
    say("== parameters: data.stakegate.view.policy")
    _parameters(policy)
    say("   none")
    report = GateReport(tests=tests, coverage=round(coverage, 2))
    _MEMO[key] = report
    return report

"""The Rego unit tests do not depend on the shipped parameter values.

A policy author edits ``config/data.json`` and runs ``make lint-rego``; every test must still
pass, because each test sets the parameters it relies on. This runs ``scripts/check_rego.sh``
(format, strict checks, ``opa test`` and the coverage gate) on a copy of the repository's policy
whose config differs from the shipped one in every parameter a test could pin.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stakegate.opa_binary import find_opa_binary

REPO = Path(__file__).resolve().parents[1]

EDITED = {
    "ownership_threshold": 25,
    "threshold_comparison": ">=",
    "method": "either",
    "exceptions": [
        {"entity": "acme-sg", "reason": "licence", "approver": "legal", "expires": "2030-01-01"}
    ],
}


@pytest.mark.integration
@pytest.mark.slow
def test_rego_tests_pass_under_an_edited_config(tmp_path: Path) -> None:
    """``make lint-rego`` (the build gate: fmt, check --strict, opa test with coverage, valid
    parameters) passes on the policy a author edited."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    config_path = tmp_path / "policies" / "stakegate" / "config" / "data.json"
    config = json.loads(config_path.read_text())
    assert all(config[key] != value for key, value in EDITED.items()), "not an edit"
    config.update(EDITED)
    config["restricted_regions"] = [*config["restricted_regions"], "BY"]
    config_path.write_text(json.dumps(config, indent=2))

    stakegate = Path(sys.executable).with_name("stakegate")
    done = subprocess.run(
        [str(stakegate), "bundle", "gate", "--policy", str(tmp_path / "policies")],
        env={**os.environ, "STAKEGATE_OPA_BINARY": find_opa_binary()},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]

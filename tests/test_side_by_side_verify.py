"""The engine's checks of a side-by-side answer: anything but the shape asked is an error.

No OPA here: the answers are written by hand, as a broken or hostile OPA could send them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stakegate.errors import PolicyEvaluationError
from stakegate.policy.side_by_side import verify_side_by_side

REGIMES = ["a", "b"]
ZERO = {"control": {"min": 0.0, "max": 0.0}, "look_through": {"min": 0.0, "max": 0.0}}


def _policy(name: str) -> dict[str, Any]:
    return {"method": "control", "threshold": 50, "comparison": ">", "regime": name}


def _answer() -> dict[str, Any]:
    lean = {"decision": "allow", "reasons": [], "ownership": ZERO}
    return {
        "policies": {name: _policy(name) for name in REGIMES},
        "decisions": [
            {
                "entity": "x",
                "decision": "allow",
                "reasons": [],
                "ownership": ZERO,
                "policy": _policy("a"),
                "regimes": {"a": dict(lean), "b": dict(lean)},
            }
        ],
    }


def _verify(answer: Any) -> list[Any]:
    return verify_side_by_side(answer, ["x"], REGIMES, "rev", "2026-11-30", {"x": "X Ltd"})


def test_a_good_answer_is_completed() -> None:
    (decision,) = _verify(_answer())
    assert decision["as_of"] == "2026-11-30" and decision["name"] == "X Ltd"
    assert decision["policy"]["revision"] == "rev"
    assert decision["regimes"]["b"] == {
        "entity": "x",
        "decision": "allow",
        "reasons": [],
        "ownership": ZERO,
        "policy": {**_policy("b"), "revision": "rev"},
        "as_of": "2026-11-30",
        "name": "X Ltd",
    }
    # Each decision has its own policy object: a caller changing one changes no other.
    decision["regimes"]["a"]["policy"]["regime"] = "changed"
    assert decision["regimes"]["b"]["policy"]["regime"] == "b"


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    answer = copy.deepcopy(_answer())
    target: Any = answer
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return answer


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([], "malformed"),
        (_broken(["decisions"], {}), "malformed"),
        (_broken(["policies"], KeyError), "does not name the regimes"),
        (_broken(["policies", "b"], KeyError), "does not name the regimes"),
        (_broken(["policies", "b", "regime"], "a"), "names another regime"),
        (_broken(["policies", "b", "threshold"], 500), "fails schema"),
        (_broken(["decisions"], []), "0 decisions for 1 entities"),
        (_broken(["decisions", 0, "entity"], "y"), "expected entity 'x'"),
        (_broken(["decisions", 0, "regimes", "b"], KeyError), "does not have the regimes"),
        (_broken(["decisions", 0, "regimes", "c"], {}), "does not have the regimes"),
        (_broken(["decisions", 0, "regimes", "b", "entity"], "x"), "malformed"),
        (_broken(["decisions", 0, "regimes", "b", "decision"], "maybe"), "fails schema"),
        (_broken(["decisions", 0, "regimes", "b", "reasons"], [{"code": "x"}]), "fails schema"),
        (_broken(["decisions", 0, "as_of"], "2020-01-01"), "engine-only"),
        (_broken(["decisions", 0, "decision"], "allowed"), "fails schema"),
    ],
)
def test_broken_answers_are_errors(answer: Any, message: str) -> None:
    with pytest.raises(PolicyEvaluationError, match=message):
        _verify(answer)

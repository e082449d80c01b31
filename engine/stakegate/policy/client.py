"""Typed access to the three policy queries the engine needs, over OPA's REST API.

Every transport failure becomes ``OpaUnavailableError`` and every answer that is not a complete
result becomes ``PolicyEvaluationError``: the caller either gets a verified policy answer or an
exception, never a default. Bodies are encoded and decoded with orjson: for a screening, JSON
was a third of the Python time with the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
import requests

from stakegate import settings
from stakegate.errors import InputError, OpaUnavailableError, PolicyEvaluationError
from stakegate.ownership.interval import Comparison, Interval, Threshold

__all__ = ["PolicyClient", "PolicyParams"]

_METHODS = frozenset({"control", "look_through", "either"})
# consolidation_share of a policy from before that parameter: majority control.
_MAJORITY = {"min": 50, "max": 100, "min_exclusive": True}


@dataclass(frozen=True, slots=True)
class PolicyParams:
    """The policy parameters the Python side needs before it can compute facts."""

    restricted_regions: tuple[str, ...]
    threshold: float
    comparison: Comparison
    method: str
    percent_tolerance: float
    # Share of a consolidation holding without a percent (policy parameter consolidation_share).
    consolidation_share: Interval = Interval(50.0, 100.0, min_exclusive=True)

    @property
    def ownership_threshold(self) -> Threshold:
        return Threshold(self.threshold, self.comparison, self.percent_tolerance)

    @classmethod
    def from_json(cls, doc: object) -> PolicyParams:
        """Parse ``data.stakegate.params.effective``; anything unexpected is a policy error."""
        if not isinstance(doc, dict):
            raise PolicyEvaluationError(f"policy parameters are not an object: {doc!r}")
        try:
            regions = doc["restricted_regions"]
            threshold = doc["threshold"]
            comparison = doc["comparison"]
            method = doc["method"]
            tolerance = doc["percent_tolerance"]
        except KeyError as missing:
            raise PolicyEvaluationError(f"policy parameters lack {missing}") from None
        if (
            not isinstance(regions, list)
            or not all(isinstance(r, str) for r in regions)
            or isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or comparison not in (">", ">=")
            or method not in _METHODS
            or isinstance(tolerance, bool)
            or not isinstance(tolerance, int | float)
        ):
            raise PolicyEvaluationError(f"policy parameters are invalid: {doc!r}")
        return cls(
            tuple(regions),
            float(threshold),
            cast(Comparison, comparison),
            str(method),
            float(tolerance),
            _band(doc.get("consolidation_share", _MAJORITY)),
        )


def _band(doc: object) -> Interval:
    """The ``consolidation_share`` band; anything malformed is a policy error."""
    if not isinstance(doc, dict):
        raise PolicyEvaluationError(f"consolidation_share is not a band: {doc!r}")
    lo, hi = doc.get("min"), doc.get("max")
    lo_x, hi_x = doc.get("min_exclusive", False), doc.get("max_exclusive", False)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lo, hi))
    if not (numbers and isinstance(lo_x, bool) and isinstance(hi_x, bool)):
        raise PolicyEvaluationError(f"consolidation_share is not a band: {doc!r}")
    assert isinstance(lo, int | float) and isinstance(hi, int | float)
    if not 0 <= lo <= hi <= 100:
        raise PolicyEvaluationError(f"consolidation_share is not a band in [0, 100]: {doc!r}")
    return Interval(float(lo), float(hi), lo_x, hi_x)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--opa-url {url!r}: expected http://HOST:PORT or https://HOST:PORT")
    if parts.path not in ("", "/"):
        raise InputError(f"--opa-url {url!r}: give the server root, without a path")
    try:
        _ = parts.port
    except ValueError as err:
        raise InputError(f"--opa-url {url!r}: {err}") from err


class PolicyClient:
    """One OPA server; ``revision`` names the policy version its decisions come from."""

    __slots__ = ("_fallback_revision", "_session", "_timeout", "revision", "url")

    def __init__(
        self, url: str, *, fallback_revision: str = "unknown", timeout: float | None = None
    ) -> None:
        _check_url(url)
        self.url = url.rstrip("/")
        self._session = requests.Session()
        self._session.headers["Content-Type"] = "application/json"
        self._timeout = settings.OPA_TIMEOUT if timeout is None else timeout
        # Filled from OPA's provenance on the first answer; the fallback (a content hash of the
        # policy the engine started OPA on) is used when the bundle declares no revision.
        self.revision: str | None = None
        self._fallback_revision = fallback_revision

    def __repr__(self) -> str:
        return f"<PolicyClient url={self.url!r} revision={self.revision!r}>"

    def close(self) -> None:
        self._session.close()

    def _query(self, path: str, input_doc: Mapping[str, Any] | None) -> Any:
        """POST ``/v1/data/<path>``; return ``result`` or raise. Records the bundle revision."""
        url = f"{self.url}/v1/data/{path.replace('.', '/')}?provenance=true"
        try:
            payload = orjson.dumps({"input": input_doc or {}})
        except TypeError as err:
            raise PolicyEvaluationError(f"the input of data.{path} is not JSON: {err}") from err
        try:
            response = self._session.post(url, data=payload, timeout=self._timeout)
            response.raise_for_status()
            body = orjson.loads(response.content)
        except requests.HTTPError as err:
            detail = err.response.text[:500] if err.response is not None else str(err)
            raise PolicyEvaluationError(f"OPA rejected the query data.{path}: {detail}") from err
        except (requests.ConnectionError, requests.Timeout) as err:
            raise OpaUnavailableError(
                f"OPA at {self.url} did not answer the query data.{path}: {err}"
            ) from err
        except requests.RequestException as err:
            raise OpaUnavailableError(f"OPA at {self.url} failed: {err}") from err
        except ValueError as err:  # body is not JSON
            raise PolicyEvaluationError(f"OPA answered data.{path} with non-JSON: {err}") from err
        if not isinstance(body, dict) or "result" not in body:
            raise PolicyEvaluationError(
                f"policy query data.{path} is undefined at {self.url}; is the stakegate "
                "policy loaded? (a policy that returns undefined is an error, never an allow)"
            )
        if self.revision is None:
            self.revision = (
                _revision_from_provenance(body.get("provenance")) or self._fallback_revision
            )
        return body["result"]

    def params(self) -> PolicyParams:
        return PolicyParams.from_json(self._query("stakegate.params.effective", None))

    def classify(self, codes: Iterable[str]) -> dict[str, str]:
        """Restricted codes among ``codes``, each mapped to the configured region it matched."""
        result = self._query("stakegate.regions.classification", {"codes": sorted(set(codes))})
        if not isinstance(result, dict):
            raise PolicyEvaluationError(f"region classification is not an object: {result!r}")
        return {str(k): str(v) for k, v in result.items()}

    def decisions(self, input_doc: Mapping[str, Any]) -> Sequence[dict[str, Any]]:
        """Raw decisions for ``input_doc["entities"]``, in order; the caller verifies them."""
        result = self._query("stakegate.main.decisions", input_doc)
        if not isinstance(result, list):
            raise PolicyEvaluationError(f"decisions are not an array: {str(result)[:200]}")
        return cast(list[dict[str, Any]], result)


def _revision_from_provenance(provenance: object) -> str | None:
    """Bundle revision(s) OPA reports, or None when no loaded bundle declares one."""
    if isinstance(provenance, dict):
        bundles = provenance.get("bundles")
        if isinstance(bundles, dict):
            revisions = sorted(
                f"{name}@{info['revision']}" if len(bundles) > 1 else str(info["revision"])
                for name, info in bundles.items()
                if isinstance(info, dict) and info.get("revision")
            )
            if revisions:
                return ",".join(revisions)
        legacy = provenance.get("revision")
        if isinstance(legacy, str) and legacy:
            return legacy
    return None

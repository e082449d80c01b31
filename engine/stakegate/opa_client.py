"""Typed access to the three policy queries the engine needs, over OPA's REST API.

Wraps ``opa-python-client`` so that every transport failure becomes ``OpaUnavailableError``
and every answer that is not a complete result becomes ``PolicyEvaluationError``: the caller
either gets a verified policy answer or an exception, never a default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from opa_client.opa import OpaClient as _RestClient

from stakegate import settings
from stakegate.exc import InputError, OpaUnavailableError, PolicyEvaluationError
from stakegate.interval import Comparison, Interval, Threshold

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


def _split_url(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--opa-url {url!r}: expected http://HOST:PORT or https://HOST:PORT")
    if parts.path not in ("", "/"):
        raise InputError(f"--opa-url {url!r}: give the server root, without a path")
    ssl = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if ssl else 80), ssl


class PolicyClient:
    """One OPA server; ``revision`` names the policy version its decisions come from."""

    __slots__ = ("_fallback_revision", "_rest", "revision", "url")

    def __init__(
        self, url: str, *, fallback_revision: str = "unknown", timeout: float | None = None
    ) -> None:
        host, port, ssl = _split_url(url)
        self.url = url.rstrip("/")
        self._rest = _RestClient(
            host=host,
            port=port,
            ssl=ssl,
            retries=0,
            timeout=settings.OPA_TIMEOUT if timeout is None else timeout,
        )
        # Filled from OPA's provenance on the first answer; the fallback (a content hash of the
        # policy the engine started OPA on) is used when the bundle declares no revision.
        self.revision: str | None = None
        self._fallback_revision = fallback_revision

    def __repr__(self) -> str:
        return f"<PolicyClient url={self.url!r} revision={self.revision!r}>"

    def close(self) -> None:
        self._rest.close_connection()

    def _query(self, path: str, input_doc: Mapping[str, Any] | None) -> Any:
        """POST ``/v1/data/<path>``; return ``result`` or raise. Records the bundle revision."""
        package, _, rule = path.rpartition(".")
        try:
            body = self._rest.query_rule(
                dict(input_doc or {}), package, rule, query_params={"provenance": "true"}
            )
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

"""Prometheus metrics for the decision service, in the text exposition format, by hand.

A dependency-free registry of a few counters and histograms is enough here, and it keeps the
hot path to a dict update; labels are bounded (known routes, status codes, outcomes) so the
series count cannot grow with traffic. ``MetricsMiddleware`` is pure ASGI, which costs less
per request than Starlette's ``BaseHTTPMiddleware``.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Histogram", "Metrics", "MetricsMiddleware"]

# Seconds; chosen around the 3 ms / 15 ms latency targets.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1.0)
ROUTES = frozenset({"/v1/decisions", "/v1/admin/reload", "/health", "/metrics"})


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    inner = ",".join(
        f'{n}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for n, v in zip(names, values, strict=True)
    )
    return "{" + inner + "}"


class Histogram:
    """Cumulative-bucket histogram per label set."""

    __slots__ = ("buckets", "series")

    def __init__(self, buckets: Iterable[float]) -> None:
        self.buckets = tuple(buckets)
        self.series: dict[tuple[str, ...], list[float]] = {}

    def observe(self, value: float, labels: tuple[str, ...] = ()) -> None:
        counts = self.series.get(labels)
        if counts is None:
            # one count per bucket, then +Inf, sum
            counts = self.series[labels] = [0.0] * (len(self.buckets) + 2)
        counts[bisect.bisect_left(self.buckets, value)] += 1
        counts[-1] += value

    def render(self, name: str, label_names: tuple[str, ...]) -> list[str]:
        out = []
        for labels, counts in sorted(self.series.items()):
            running = 0.0
            for bound, count in zip((*self.buckets, float("inf")), counts, strict=False):
                running += count
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                extra = _labels((*label_names, "le"), (*labels, le))
                out.append(f"{name}_bucket{extra} {running:g}")
            base = _labels(label_names, labels)
            out.append(f"{name}_sum{base} {counts[-1]:.9g}")
            out.append(f"{name}_count{base} {running:g}")
        return out


class Metrics:
    """Every metric the service exports; ``render`` produces the /metrics body."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], float] = {}
        self.latency = Histogram(LATENCY_BUCKETS)
        self.opa_latency = Histogram(LATENCY_BUCKETS)
        self.decisions: dict[tuple[str], float] = {}
        self.reloads: dict[tuple[str], float] = {}
        # name -> (type, help, read): values owned elsewhere (audit writer, snapshot), read live
        self.live: dict[str, tuple[str, str, Callable[[], float]]] = {}
        self.info: Callable[[], dict[str, str]] = dict

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        self.requests[key] = self.requests.get(key, 0) + 1
        self.latency.observe(seconds, (route,))

    def decided(self, outcomes: Iterable[str]) -> None:
        for outcome in outcomes:
            self.decisions[(outcome,)] = self.decisions.get((outcome,), 0) + 1

    def reloaded(self, result: str) -> None:
        self.reloads[(result,)] = self.reloads.get((result,), 0) + 1

    def render(self) -> str:
        lines: list[str] = []

        def counter(name: str, help_: str, names: tuple[str, ...], data: dict[Any, float]) -> None:
            lines.extend([f"# HELP {name} {help_}", f"# TYPE {name} counter"])
            lines.extend(f"{name}{_labels(names, k)} {v:g}" for k, v in sorted(data.items()))

        def histogram(name: str, help_: str, names: tuple[str, ...], hist: Histogram) -> None:
            lines.extend([f"# HELP {name} {help_}", f"# TYPE {name} histogram"])
            lines.extend(hist.render(name, names))

        counter(
            "stakegate_http_requests_total",
            "HTTP requests by method, route and status code.",
            ("method", "route", "status"),
            self.requests,
        )
        histogram(
            "stakegate_http_request_duration_seconds",
            "Time from request received to response sent.",
            ("route",),
            self.latency,
        )
        counter(
            "stakegate_decisions_total",
            "Decisions answered, by outcome.",
            ("outcome",),
            self.decisions,
        )
        histogram(
            "stakegate_opa_query_duration_seconds",
            "Time of one decision query to OPA.",
            (),
            self.opa_latency,
        )
        counter("stakegate_reloads_total", "Reloads by result.", ("result",), self.reloads)
        for name, (kind, help_, read) in sorted(self.live.items()):
            lines.extend([f"# HELP {name} {help_}", f"# TYPE {name} {kind}", f"{name} {read():g}"])
        info = self.info()
        if info:
            names = tuple(sorted(info))
            lines.append("# TYPE stakegate_policy_info gauge")
            lines.append(f"stakegate_policy_info{_labels(names, tuple(info[n] for n in names))} 1")
        return "\n".join(lines) + "\n"


ASGIApp = Callable[..., Any]


class MetricsMiddleware:
    """Counts and times every HTTP request by route (unknown paths are one ``other`` route)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: ASGIApp, send: ASGIApp) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = scope["path"]
            route = path if path in ROUTES else "other"
            self.metrics.request(scope["method"], route, status, time.perf_counter() - started)

"""Prometheus metrics of the decision service, through ``prometheus_client``.

Each app has its own ``CollectorRegistry`` (so two services in one process, as in the tests, do
not share counters), with the process and platform collectors added: memory, CPU, open file
descriptors, which is how an operator sees a connection flood. Labels are bounded (known routes,
status codes, outcomes), so the series count cannot grow with traffic. ``MetricsMiddleware`` is
pure ASGI, which costs less per request than Starlette's ``BaseHTTPMiddleware``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "Metrics", "MetricsMiddleware"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; chosen around the 3 ms / 15 ms latency targets.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1.0)
ROUTES = frozenset({"/v1/decisions", "/v1/changes", "/v1/admin/reload", "/health", "/metrics"})


class _Live(Collector):
    """Values owned elsewhere (audit writer, snapshot), read when /metrics is scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        for name, (kind, help_, read) in sorted(self.metrics.live.items()):
            family = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield family(name.removesuffix("_total"), help_, value=read())
        info = self.metrics.info()
        if info:
            yield InfoMetricFamily("stakegate_policy", "The policy being served.", value=info)


class Metrics:
    """Every metric the service exports; ``render`` produces the /metrics body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._requests = Counter(
            "stakegate_http_requests",
            "HTTP requests by method, route and status code.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "stakegate_http_request_duration_seconds",
            "Time from request received to response sent.",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._decisions = Counter(
            "stakegate_decisions",
            "Decisions answered, by outcome.",
            ("outcome",),
            registry=self.registry,
        )
        self.opa_latency = Histogram(
            "stakegate_opa_query_duration_seconds",
            "Time of one decision query to OPA.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._reloads = Counter(
            "stakegate_reloads", "Reloads by result.", ("result",), registry=self.registry
        )
        self._flips = Counter(
            "stakegate_flips",
            "Decisions that changed on reloads, by transition (none: not in the registry).",
            ("transition",),
            registry=self.registry,
        )
        self.flip_screening = Histogram(
            "stakegate_flip_screening_seconds",
            "Time to decide the entities a reload may have flipped (all of them at start-up).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
            registry=self.registry,
        )
        self._notifications = Counter(
            "stakegate_notifications",
            "Flip notifications: documents delivered or given up, and failed attempts.",
            ("result",),
            registry=self.registry,
        )
        # name -> (type, help, read): values owned elsewhere, read live at each scrape.
        self.live: dict[str, tuple[str, str, Callable[[], float]]] = {}
        self.info: Callable[[], dict[str, str]] = dict
        self.registry.register(_Live(self))

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(route).observe(seconds)

    def decided(self, outcomes: Iterable[str]) -> None:
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome] = counts.get(outcome, 0) + 1
        for outcome, count in counts.items():
            self._decisions.labels(outcome).inc(count)

    def reloaded(self, result: str) -> None:
        self._reloads.labels(result).inc()

    def flipped(self, transitions: Iterable[tuple[str | None, str | None]]) -> None:
        counts: dict[str, int] = {}
        for before, after in transitions:
            key = f"{before or 'none'}->{after or 'none'}"
            counts[key] = counts.get(key, 0) + 1
        for key, count in counts.items():
            self._flips.labels(key).inc(count)

    def notified(self, result: str) -> None:
        self._notifications.labels(result).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


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

"""GET /metrics: Prometheus metrics read from the hub at scrape time.

A custom collector, not counters kept in process memory: every worker and CLI run writes its runs to
the hub, so any `partnersync serve` reports the same numbers for the whole deployment. Counts are
those of each stream's latest run (gauges); Prometheus keeps the history.
"""

from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config import Settings
from sync import alerts, health
from sync.store import Store

STATES = {health.GREEN: 0, health.AMBER: 1, health.RED: 2}
STREAM = ["system", "entity"]


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"partnersync_{name}", doc, labels=labels if labels is not None else STREAM)


class HubCollector(Collector):
    """Stream health, API usage and alerts, as one consistent read of the hub per scrape."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        streams = health.streams(self.store, self.settings)
        yield from _streams(streams)
        with self.store.session() as session:
            usage = health.api_usage(session)
        yield from _api(usage.values())
        firing = _gauge("alerts_firing", "Alerts firing now, by rule.", ["rule"])
        for rule, count in sorted(alerts.counts(self.store).items()):
            firing.add_metric([rule], count)
        yield firing


def _streams(streams: list[health.StreamStatus]) -> Iterator[GaugeMetricFamily]:
    state = _gauge("stream_state", "Stream state: 0 green, 1 amber, 2 red.")
    records_in = _gauge("records_in", "Records pulled by the stream's latest run.")
    records_out = _gauge("records_out", "Records pushed by the stream's latest run.")
    errors = _gauge("errors", "Errors of the stream's latest run, by category.", [*STREAM, "category"])
    api_calls = _gauge("run_api_calls", "API calls made by the stream's latest run.")
    duration = _gauge("run_duration_seconds", "Duration of the stream's latest run.")
    lag = _gauge("lag_seconds", "Age of the newest change the hub is known to hold for the stream.")
    success = _gauge("last_success_timestamp_seconds", "When the stream's latest successful run finished.")
    failing = _gauge("failing_runs", "Runs failed in a row on the stream.")
    backlog = _gauge("outbox_backlog", "Outbox rows waiting to be pushed.")
    quarantined = _gauge("quarantined", "Open quarantined records.")
    dead = _gauge("dead_letters", "Worker messages out of retries since the stream's last success.")
    for s in streams:
        key = [s.system, s.entity]
        state.add_metric(key, STATES[s.state])
        records_in.add_metric(key, s.records_in)
        records_out.add_metric(key, s.records_out)
        for category, count in sorted(s.errors.items()):
            errors.add_metric([*key, category], count)
        api_calls.add_metric(key, s.api_calls)
        if s.duration_ms is not None:
            duration.add_metric(key, s.duration_ms / 1000)
        if s.lag_seconds is not None:
            lag.add_metric(key, s.lag_seconds)
        if s.last_success_at is not None:
            success.add_metric(key, s.last_success_at.timestamp())
        failing.add_metric(key, s.failing_runs)
        backlog.add_metric(key, s.outbox_backlog)
        quarantined.add_metric(key, s.quarantined)
        dead.add_metric(key, s.dead_letters)
    yield from (state, records_in, records_out, errors, api_calls, duration, lag, success, failing, backlog,
                quarantined, dead)


def _api(usage: Iterable[health.ApiStatus]) -> Iterator[GaugeMetricFamily]:
    used = _gauge("api_calls_used", "API calls used in the platform's window, as the platform reports.", ["system"])
    limit = _gauge("api_calls_limit", "The platform's API call limit for its window.", ["system"])
    remaining = _gauge("api_calls_remaining", "API calls left in the platform's window.", ["system"])
    for api in usage:
        if api.used is not None:
            used.add_metric([api.system], api.used)
        if api.limit is not None:
            limit.add_metric([api.system], api.limit)
        if api.remaining is not None:
            remaining.add_metric([api.system], api.remaining)
    yield from (used, limit, remaining)


def registry(store: Store, settings: Settings) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(HubCollector(store, settings))
    return reg


def metrics(request: Request) -> Response:
    """Sync endpoint: Starlette runs it in its thread pool, so database reads never block the event loop."""
    state = request.app.state
    if not hasattr(state, "metrics_registry"):
        state.metrics_registry = registry(state.store, state.settings)
    return Response(generate_latest(state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


routes = [Route("/metrics", metrics)]

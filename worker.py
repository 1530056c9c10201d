"""The distributed runtime: the dramatiq broker (Redis, from PARTNERSYNC_REDIS_URL) and its actors.

Run `dramatiq worker` (any number of processes, on any hosts) and one `periodiq worker` for the
schedule. Every stream runs under a Redis mutex (never pulled twice at once); HubSpot calls share a
window limiter (190 requests / 10 s) and searches a bucket limiter (4 / s) across all processes.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.rate_limits import BucketRateLimiter, ConcurrentRateLimiter, RateLimiter, WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend
from periodiq import PeriodiqMiddleware, cron

from config import load_settings
from connectors.base import ApiUsage, Connector, Cursor, Page, PushResult, RateLimited, Record
from sync import alerts
from sync.engine import Engine, RunReport
from sync.health import record_dead_letter
from sync.store import Store
from sync.systems import System, build_all
from sync.webhooks import Event, deleted

settings = load_settings()
broker = RedisBroker(url=settings.redis_url)
broker.add_middleware(PeriodiqMiddleware(skip_delay=30))
dramatiq.set_broker(broker)
backend = RedisBackend(url=settings.redis_url)

HUBSPOT_WINDOW = WindowRateLimiter(backend, "partnersync:hubspot:window", limit=190, window=10)
HUBSPOT_SEARCH = BucketRateLimiter(backend, "partnersync:hubspot:search", limit=4, bucket=1000)
STREAM_TTL_MS = 30 * 60 * 1000
RETRY_DELAY_MS = 10_000
WAIT_SECONDS = 10.0


class Throttled(Connector):
    """A connector whose calls first take a token from the shared Redis limiters."""

    def __init__(self, inner: Connector, limiters: Sequence[RateLimiter], pull_limiters: Sequence[RateLimiter]):
        super().__init__()
        self.inner, self.limiters, self.pull_limiters = inner, limiters, pull_limiters
        self.system, self.entities = inner.system, inner.entities
        self.usage = inner.usage

    def _take(self, limiters: Sequence[RateLimiter]) -> None:
        """Wait up to WAIT_SECONDS for a token of every limiter, else stop the run cleanly."""
        for limiter in limiters:
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                with limiter.acquire(raise_on_failure=False) as acquired:
                    if acquired:
                        break
                if time.monotonic() > deadline:
                    raise RateLimited(f"{self.system}: shared rate limit {limiter.key} reached", WAIT_SECONDS)
                time.sleep(0.05)

    def pull(self, entity: str, cursor: Cursor, *, full: bool = False) -> Iterator[Page]:
        pages = self.inner.pull(entity, cursor, full=full)
        while True:
            self._take([*self.limiters, *self.pull_limiters])
            page = next(pages, None)
            if page is None:
                return
            yield page

    def push(self, entity: str, records: Sequence[Record]) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(records), 100):
            self._take(self.limiters)
            results += self.inner.push(entity, records[start:start + 100])
        return results

    def archive(self, entity: str, ids: Sequence[str]) -> list[PushResult]:
        self._take(self.limiters)
        return self.inner.archive(entity, ids)

    def check_schema(self) -> list[str]:
        return self.inner.check_schema()

    def api_usage(self) -> ApiUsage:
        return self.inner.api_usage()


def throttled(system: System) -> System:
    """HubSpot's connector behind the shared window (all calls) and search bucket (pulls) limiters."""
    if system.name != "hubspot":
        return system
    return System(system.name, Throttled(system.connector, [HUBSPOT_WINDOW], [HUBSPOT_SEARCH]), system.maps)


@cache
def hub() -> Store:
    """One connection pool to the hub per worker process."""
    return Store(settings.database_url)


@cache
def engine() -> Engine:
    """One engine per worker process (connectors keep their sessions between messages)."""
    systems = {name: throttled(system) for name, system in build_all(settings).items()}
    return Engine(hub(), settings, systems)


def guarded(system: str, entity: str, work: Callable[[], RunReport]) -> str:
    """Run `work` on a stream under the stream's Redis mutex; a rate limit becomes a retry."""
    mutex = ConcurrentRateLimiter(backend, f"partnersync:stream:{system}:{entity}", limit=1, ttl=STREAM_TTL_MS)
    with mutex.acquire(raise_on_failure=False) as acquired:
        if not acquired:
            return "busy"  # another worker runs this stream now; the schedule comes back
        report = work()
    if report.status == "rate_limited":
        raise dramatiq.Retry(report.message or "rate limited", delay=RETRY_DELAY_MS)
    return report.status


def guarded_run(eng: Engine, system: str, entity: str, *, full: bool = False, pull: bool = True) -> str:
    """Run a stream under its Redis mutex: pull, then push its outbox."""

    def run() -> RunReport:
        report = eng.pull(system, entity, full=full) if pull else None
        return eng.push(system, entity, report) if report is None or report.status == "success" else report

    return guarded(system, entity, run)


@dramatiq.actor(queue_name="sync", max_retries=10, on_retry_exhausted="dead_letter", time_limit=STREAM_TTL_MS)
def sync_stream(system: str, entity: str, full: bool = False) -> None:
    """Pull then push one system x entity stream (the outcome is its `sync_runs` row)."""
    guarded_run(engine(), system, entity, full=full)


@dramatiq.actor(queue_name="push", max_retries=10, on_retry_exhausted="dead_letter", time_limit=STREAM_TTL_MS)
def push_stream(system: str, entity: str) -> None:
    """Drain one stream's outbox (after `errors retry` or rules that queued write-backs)."""
    guarded_run(engine(), system, entity, pull=False)


@dramatiq.actor(queue_name="sync")
def dead_letter(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """A message out of retries: recorded as a `dead_letter` run so `status` shows it."""
    args = message.get("args") or ["?", "?"]
    record_dead_letter(hub(), str(args[0]), str(args[1]), message.get("actor_name", "?"),
                       f"retries exhausted after {retry_info.get('retries')} attempts")


def request_pull(system: str, entity: str) -> None:
    """Pull that stream soon (webhooks, operators)."""
    sync_stream.send(system, entity)


@dramatiq.actor(queue_name="sync", max_retries=10, on_retry_exhausted="dead_letter", time_limit=STREAM_TTL_MS)
def take_deletions(system: str, entity: str, external_ids: list[str]) -> None:
    """Deletions a webhook announced, taken under the stream's mutex (busy: retried shortly)."""
    if guarded(system, entity, lambda: engine().take_deletions(system, entity, external_ids)) == "busy":
        raise dramatiq.Retry("stream busy", delay=RETRY_DELAY_MS)


def on_hubspot_events(events: list[Event]) -> None:
    """What the HubSpot webhook calls (`app.state.on_hubspot_events`): deletions taken, one pull per entity."""
    for entity, ids in deleted(events).items():
        take_deletions.send("hubspot", entity, ids)
    for entity in sorted({entity for entity, _, _ in events}):
        request_pull("hubspot", entity)


def enqueue_all(*, full: bool) -> int:
    streams = engine().streams()
    for system, entity in streams:
        sync_stream.send(system, entity, full)
    return len(streams)


@dramatiq.actor(queue_name="schedule", periodic=cron("*/5 * * * *"))
def incremental() -> None:
    """Every five minutes: an incremental run of every stream."""
    enqueue_all(full=False)


@dramatiq.actor(queue_name="schedule", periodic=cron("* * * * *"))
def evaluate_alerts() -> None:
    """Every minute: fire and resolve alerts (lag grows and SLAs pass even when no run finishes)."""
    alerts.evaluate(hub(), settings)


@dramatiq.actor(queue_name="schedule", periodic=cron("30 2 * * *"))
def nightly_reconcile() -> None:
    """Every night: a full re-read of every stream (catches what incremental cursors missed)."""
    enqueue_all(full=True)

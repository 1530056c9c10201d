"""worker.py on real Redis: the stream mutex, RateLimited as a dramatiq retry, the shared limiter."""

import importlib
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from types import ModuleType

import dramatiq
import pytest
from dramatiq.rate_limits import ConcurrentRateLimiter, WindowRateLimiter
from sqlalchemy import select

from connectors.base import Cursor, Page, PushResult, RateLimited, Record
from sync.alerts import firing
from sync.store import Store
from sync.store.tables import SyncRunRow
from tests.engine_helpers import engine_for
from tests.memsystem import MemorySystem


class Limited(MemorySystem):
    def pull(self, entity: str, cursor: Cursor, *, full: bool = False) -> Iterator[Page]:
        raise RateLimited("REQUEST_LIMIT_EXCEEDED: daily limit", retry_after=3)


@pytest.fixture
def worker(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("PARTNERSYNC_REDIS_URL", redis_url)
    import worker as module

    return importlib.reload(module)


def test_a_rate_limited_run_ends_cleanly_and_becomes_a_retry(worker: ModuleType, store: Store) -> None:
    eng = engine_for(store, Limited("salesforce"), MemorySystem("hubspot"))
    with pytest.raises(dramatiq.Retry) as raised:
        worker.guarded_run(eng, "salesforce", "partner")
    assert raised.value.delay == worker.RETRY_DELAY_MS
    with store.session() as s:
        [run] = s.scalars(select(SyncRunRow))
    assert run.status == "rate_limited"


def test_a_busy_stream_is_not_run_twice(worker: ModuleType, store: Store) -> None:
    sf = MemorySystem("salesforce")
    sf.add("partner", Name="Acme")
    eng = engine_for(store, sf, MemorySystem("hubspot"))
    mutex = ConcurrentRateLimiter(worker.backend, "partnersync:stream:salesforce:partner", limit=1,
                                  ttl=worker.STREAM_TTL_MS)
    with mutex.acquire():
        assert worker.guarded_run(eng, "salesforce", "partner") == "busy"
    assert worker.guarded_run(eng, "salesforce", "partner") == "success"


class Timed(MemorySystem):
    def __init__(self, system: str) -> None:
        super().__init__(system)
        self.seconds: list[int] = []

    def push(self, entity: str, records: Sequence[Record]) -> list[PushResult]:
        self.seconds.append(int(time.time()))
        return super().push(entity, records)


def test_throttled_calls_never_pass_the_shared_window(worker: ModuleType) -> None:
    limiter = WindowRateLimiter(worker.backend, "test:throttle", limit=2, window=1)
    inner = Timed("hubspot")
    throttled = worker.Throttled(inner, [limiter], [])
    results = throttled.push("partner", [{"HubId": f"h{i}", "Name": f"P{i}"} for i in range(500)])
    assert len(results) == 500 and len(inner.seconds) == 5  # 100 a call
    assert max(Counter(inner.seconds).values()) <= 2


def test_a_dead_letter_raises_its_alert_on_the_schedule(redis_url: str, store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNERSYNC_REDIS_URL", redis_url)
    monkeypatch.setenv("PARTNERSYNC_DATABASE_URL", store.url)
    import worker as module

    worker = importlib.reload(module)
    worker.dead_letter({"args": ["hubspot", "deal"], "actor_name": "sync_stream"}, {"retries": 10})
    worker.evaluate_alerts()
    [alert] = firing(store)
    assert (alert.rule, alert.subject, alert.value) == ("dead_letter", "hubspot.deal", 1)
    worker.hub().dispose()

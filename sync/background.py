"""Pulls asked for by webhooks, run on one thread of this process: the broker-less stand-in for the worker.

A webhook must be answered within seconds, so it only names the streams to pull; this thread pulls
them one at a time (never two pulls of one stream at once) and pushes what they queued. Requests for
a stream already waiting are folded into it.
"""

import queue
import threading

import structlog

from sync.engine import Engine
from sync.webhooks import Event, deleted

log = structlog.get_logger("partnersync.sync")


class BackgroundPulls:
    def __init__(self, engine: Engine, system: str) -> None:
        self.engine = engine
        self.system = system
        self._waiting: set[str] = set()
        self._deleted: dict[str, list[str]] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"pulls-{system}", daemon=True)
        self._thread.start()

    def __call__(self, events: list[Event]) -> None:
        """`app.state.on_hubspot_events`: deletions are taken, then one pull per entity."""
        gone = deleted(events)
        for entity in sorted({entity for entity, _, _ in events}):
            with self._lock:
                self._deleted.setdefault(entity, []).extend(gone.get(entity, []))
                if entity in self._waiting:
                    continue
                self._waiting.add(entity)
            self._queue.put(entity)

    def join(self) -> None:
        """Wait until every requested pull has run (tests)."""
        self._queue.join()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while (entity := self._queue.get()) is not None:
            with self._lock:
                self._waiting.discard(entity)
                gone = self._deleted.pop(entity, [])
            try:
                if gone:
                    self.engine.take_deletions(self.system, entity, gone)
                report = self.engine.pull(self.system, entity)
                self.engine.push_all([report], entity)
                log.info("webhook pull done", system=self.system, entity=entity, records_in=report.records_in,
                         records_out=report.records_out, status=report.status)
            except Exception as exc:  # the thread outlives one bad pull; the error is logged, polling catches up
                log.error("webhook pull failed", system=self.system, entity=entity, error=str(exc))
            finally:
                self._queue.task_done()
        self._queue.task_done()

"""The memory system kept in a JSON file under a lock, so several processes share one 'remote' system.

It logs every call's second and every pushed record, so tests can check limits and duplicate pushes.
"""

import fcntl
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.base import Cursor, Page, PushResult, Record
from tests.memsystem import EPOCH, MemorySystem


class FileSystem(MemorySystem):
    def __init__(self, system: str, path: Path, page_size: int = 3, delay: float = 0.0) -> None:
        super().__init__(system, page_size)
        self.path, self.delay = path, delay
        self.state: dict[str, Any] = {}

    @contextmanager
    def locked(self, save: bool = True) -> Iterator[None]:
        with open(f"{self.path}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.state = json.loads(self.path.read_text()) if self.path.exists() else {
                "clock": 0, "ids": 0, "data": {"partner": {}, "deal": {}}, "deleted": {"partner": {}, "deal": {}},
                "calls": [], "pushes": []}
            self.data = {e: {k: _load(r) for k, r in rows.items()} for e, rows in self.state["data"].items()}
            self.deleted = {e: {k: datetime.fromisoformat(v) for k, v in rows.items()}
                            for e, rows in self.state["deleted"].items()}
            yield
            if save:
                self.state["data"] = self.data
                self.state["deleted"] = self.deleted
                self.path.write_text(json.dumps(self.state, default=_dump))

    def tick(self) -> datetime:
        self.state["clock"] += 1
        return EPOCH + timedelta(seconds=self.state["clock"])

    def add(self, entity: str, **fields: Any) -> str:
        self.state["ids"] += 1
        record_id = f"{self.system[:2]}-{entity[0]}{self.state['ids']}"
        self.data[entity][record_id] = {**fields, "Id": record_id, "Modified": self.tick()}
        return record_id

    def seed(self, entity: str, count: int) -> None:
        with self.locked():
            for i in range(count):
                self.add(entity, Name=f"{self.system} partner {i}", Web=f"{self.system}-{i}.example")

    def _call(self) -> None:
        self.state["calls"].append(time.time())
        self.usage.calls += 1

    def pull(self, entity: str, cursor: Cursor, *, full: bool = False) -> Iterator[Page]:
        with self.locked():
            self._call()
            pages = list(MemorySystem.pull(self, entity, cursor, full=full))
        for page in pages:
            time.sleep(self.delay)
            yield page

    def push(self, entity: str, records: Sequence[Record]) -> list[PushResult]:
        time.sleep(self.delay)
        with self.locked():
            self._call()
            self.state["pushes"] += [json.dumps(r, sort_keys=True, default=str) for r in records]
            return MemorySystem.push(self, entity, records)

    def archive(self, entity: str, ids: Sequence[str]) -> list[PushResult]:
        with self.locked():
            self._call()
            return MemorySystem.archive(self, entity, ids)

    def snapshot(self) -> dict[str, Any]:
        with self.locked(save=False):
            return {"data": self.data, "calls": list(self.state["calls"]), "pushes": list(self.state["pushes"])}


def _load(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "Modified": datetime.fromisoformat(record["Modified"])}


def _dump(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)

"""A small in-memory external system (a test double of a CRM, not of our code) and its field maps.

It behaves like the real ones where the engine cares: ids it assigns, a modified stamp it bumps on
every write, upsert by the external id field, pages ordered by (modified, id), tombstones.
"""

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Connector, Cursor, Page, PushResult, Record, RecordError
from mapping.base import FieldMap, FieldSpec
from mapping.model import Deal, Money, Partner

_clock = itertools.count(1)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def tick() -> datetime:
    """A strictly increasing stamp shared by every memory system (so 'newest' is well defined)."""
    return EPOCH + timedelta(seconds=next(_clock))


class MemorySystem(Connector):
    entities = ("partner", "deal")

    def __init__(self, system: str, page_size: int = 3) -> None:
        super().__init__()
        self.system, self.page_size = system, page_size
        self.data: dict[str, dict[str, Record]] = {"partner": {}, "deal": {}}
        self.deleted: dict[str, dict[str, datetime]] = {"partner": {}, "deal": {}}
        self.writes = 0
        self._ids = itertools.count(1)

    def add(self, entity: str, **fields: Any) -> str:
        record_id = f"{self.system[:2]}-{entity[0]}{next(self._ids)}"
        self.data[entity][record_id] = {**fields, "Id": record_id, "Modified": self.tick()}
        return record_id

    def edit(self, entity: str, record_id: str, **fields: Any) -> None:
        self.data[entity][record_id].update(fields, Modified=self.tick())

    def remove(self, entity: str, record_id: str) -> None:
        del self.data[entity][record_id]
        self.deleted[entity][record_id] = self.tick()

    def tick(self) -> datetime:
        return tick()

    def by_hub_id(self, entity: str) -> dict[str, Record]:
        return {r["HubId"]: r for r in self.data[entity].values() if r.get("HubId")}

    def pull(self, entity: str, cursor: Cursor, *, full: bool = False) -> Iterator[Page]:
        self.usage.calls += 1
        after = (cursor.modified_at, cursor.last_id or "") if cursor.modified_at and not full else None
        rows = sorted([(r["Modified"], r["Id"], r) for r in self.data[entity].values()]
                      + [(at, rid, None) for rid, at in self.deleted[entity].items()], key=lambda t: (t[0], t[1]))
        rows = [t for t in rows if after is None or (t[0], t[1]) > after]
        for start in range(0, len(rows), self.page_size):
            chunk = rows[start:start + self.page_size]
            if start:
                self.usage.calls += 1
            yield Page([dict(r) for _, _, r in chunk if r is not None],
                       [rid for _, rid, r in chunk if r is None], Cursor(chunk[-1][0], chunk[-1][1]))

    def push(self, entity: str, records: Sequence[Record]) -> list[PushResult]:
        self.usage.calls += 1
        results = []
        existing = self.by_hub_id(entity)
        for record in records:
            key = str(record["HubId"])
            if record.get("Name") == "REJECT":
                results.append(PushResult(key, False, error=RecordError("INVALID", "rejected name", ("Name",))))
                continue
            self.writes += 1
            if record.get("Id") in self.data[entity]:
                self.edit(entity, str(record["Id"]), **record)
                results.append(PushResult(key, True, str(record["Id"])))
            elif key in existing:
                self.edit(entity, existing[key]["Id"], **record)
                results.append(PushResult(key, True, existing[key]["Id"]))
            else:
                results.append(PushResult(key, True, self.add(entity, **record), created=True))
        return results

    def archive(self, entity: str, ids: Sequence[str]) -> list[PushResult]:
        self.usage.calls += 1
        for record_id in ids:
            self.writes += 1
            self.remove(entity, record_id)
        return [PushResult(i, True, i) for i in ids]

    def check_schema(self) -> list[str]:
        return []


def _money(value: Money | None) -> str | None:
    return None if value is None else f"{value.amount} {value.currency}"


def _amount(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    amount, currency = str(text).split()
    return {"amount": amount, "currency": currency}


def maps(system: str) -> dict[str, FieldMap[Any]]:
    partner = FieldMap(system, "partner", Partner, "Id", "HubId", "Modified", (
        FieldSpec("name", "Name"), FieldSpec("website", "Web"), FieldSpec("tax_id", "Tax"),
        FieldSpec("country", "Country"), FieldSpec("phone", "Phone"), FieldSpec("tier", "Tier")))
    deal = FieldMap(system, "deal", Deal, "Id", "HubId", "Modified", (
        FieldSpec("name", "Name"), FieldSpec("partner_id", "Partner"), FieldSpec("stage", "Stage"),
        FieldSpec("amount", "Amount", to_hub=_amount, to_system=_money)), references={"partner_id": "partner"})
    return {"partner": partner, "deal": deal}

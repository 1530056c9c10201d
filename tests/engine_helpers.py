"""Build an engine over memory systems (and, where given, real connectors) on a test database."""

from typing import Any

from config import Settings
from connectors.base import Connector
from mapping.base import FieldMap
from sync.engine import Engine
from sync.store import Store
from sync.systems import Stream
from tests.memsystem import MemorySystem, maps


def engine_for(store: Store, *systems: MemorySystem, settings: Settings | None = None,
               extra: list[tuple[Connector, dict[str, FieldMap[Any]]]] | None = None) -> Engine:
    streams = [Stream(s, fmap) for s in systems for fmap in maps(s.system).values()]
    for connector, fmaps in extra or []:
        streams += [Stream(connector, fmap) for fmap in fmaps.values()]
    order = ("partner", "deal")
    streams.sort(key=lambda s: (order.index(s.entity), s.system))
    return Engine(store, settings or Settings(), streams)


def rules(**field_rules: dict[str, str]) -> Settings:
    return Settings.model_validate({"program": {"field_rules": field_rules}})

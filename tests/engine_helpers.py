"""Build the engine over memory systems (test doubles of external systems) on a test database."""

from config import Settings
from sync.engine import Engine
from sync.store import Store
from sync.systems import System
from tests.memsystem import MemorySystem, maps


def engine_for(store: Store, *systems: MemorySystem, settings: Settings | None = None) -> Engine:
    return Engine(store, settings or Settings(), {s.system: System(s.system, s, maps(s.system)) for s in systems})


def rules(**field_rules: dict[str, str]) -> Settings:
    return Settings.model_validate({"program": {"field_rules": field_rules}})

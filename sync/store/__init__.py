"""The only package that touches the database: engine, sessions, tables and migrations."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError as StoreError  # any hub database failure, for callers outside sync
from sqlalchemy.orm import Session, sessionmaker

from sync.store.tables import Base


def batches(ids: Sequence[str], size: int = 5000) -> Iterator[Sequence[str]]:
    """`ids` in slices small enough for one `IN (...)` list on every backend."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout so workers can share it."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    engine = create_engine(url, future=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Store:
    """Holds the engine and hands out sessions; each `session()` block is one transaction."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def analyze(self) -> None:
        """Refresh PostgreSQL's planner statistics after a bulk change (a first sync). SQLite needs none:
        its lookups are written to be planned from the indexes alone."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["Base", "Store", "StoreError", "batches", "make_engine"]

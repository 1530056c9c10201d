"""Shared fixtures: a real database (SQLite and PostgreSQL) and real Redis.

With CI=true a missing PostgreSQL or Redis fails the test; locally it skips with the reason.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sync.store import Store
from sync.store.migrate import upgrade
from sync.store.tables import Base

PG_ADMIN_URL = os.environ.get("PARTNERSYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Each pytest-xdist worker gets its own Redis database below PARTNERSYNC_TEST_REDIS_DB (default 15),
# so parallel workers never flush each other's keys.
REDIS_BASE = os.environ.get("PARTNERSYNC_TEST_REDIS_BASE", "redis://127.0.0.1:6379")
REDIS_DB = int(os.environ.get("PARTNERSYNC_TEST_REDIS_DB", "15")) - int(
    os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0
)
REDIS_URL = f"{REDIS_BASE}/{REDIS_DB}"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(service: str, reason: object) -> None:
    """Fail in CI, skip locally: tests that need a service never pass silently in CI."""
    message = f"{service} is not reachable ({reason})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test process, dropped at the end."""
    name = f"partnersync_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        unavailable("PostgreSQL", exc.orig)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of a migrated hub database, once per backend."""
    url: str = request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}_database_url")
    upgrade(url)
    return url


def _emptied(url: str) -> Iterator[Store]:
    s = Store(url)
    yield s
    with s.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    s.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A store on an empty migrated database (every table emptied after the test)."""
    yield from _emptied(database_url)


@pytest.fixture
def pg_store(pg_database_url: str) -> Iterator[Store]:
    """The same on PostgreSQL alone, for what only PostgreSQL has."""
    upgrade(pg_database_url)
    yield from _emptied(pg_database_url)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Real Redis on a test database, flushed before and after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        unavailable("Redis", exc)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory with no PARTNERSYNC_* variables leaking in from the shell."""
    for key in list(os.environ):
        if key.startswith("PARTNERSYNC_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path

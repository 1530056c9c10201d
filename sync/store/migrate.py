"""Run alembic programmatically, and compare the tables with the migrations (drift check)."""

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

import migrations
from sync.store import Store, make_engine
from sync.store.tables import Base

SCRIPTS = Path(migrations.__file__).parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creates every table on a new database)."""
    command.upgrade(alembic_config(url), revision)


def behind(store: Store) -> str | None:
    """Why the store's database cannot be used as it is (unreachable, or not at the newest schema); None when ready."""
    head = ScriptDirectory.from_config(alembic_config(store.url)).get_current_head()
    try:
        with store.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"cannot connect: {exc.__class__.__name__}: {reason}"
    if current == head:
        return None
    where = f"at revision {current}" if current else "empty (no schema yet)"
    return f"the hub is {where}, this version needs {head}: run `partnersync db upgrade`"


def revision(url: str, message: str) -> None:
    """Autogenerate a new revision from the difference between the tables and `url` (developers)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)


def drift(url: str) -> list[Any]:
    """Differences between the SQLAlchemy tables and the migrated database at `url`; empty when in step."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()

"""Reachability of the services the hub runs on, for `/healthz`: None when fine, else what failed."""

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from sync.store import Store


def database(store: Store) -> str | None:
    try:
        with store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"unreachable ({type(exc).__name__})"
    return None


def redis(url: str, timeout: float = 2.0) -> str | None:
    import redis as client
    from redis.exceptions import RedisError

    try:
        connection = client.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            connection.ping()
        finally:
            connection.close()
    except (RedisError, ValueError) as exc:
        return f"unreachable ({type(exc).__name__})"
    return None

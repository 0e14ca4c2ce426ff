"""The database engine, made from the settings' URL and bound to every table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import TransactionType
from piccolo.querystring import QueryString

from portal.core.sqlite import PooledSQLiteEngine
from portal.settings import Settings

# One engine per SQLite file in a process: its connections (core.sqlite) are shared.
_SQLITE: dict[str, PooledSQLiteEngine] = {}


def make_engine(settings: Settings) -> Engine:
    url = settings.database.url
    if url.startswith("sqlite:///"):
        path = settings.sqlite_path
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        key = str(path)
        if key not in _SQLITE:
            # timeout: how long a writer waits for another process's lock.
            _SQLITE[key] = PooledSQLiteEngine(path=key, timeout=30)
        return _SQLITE[key]
    if url.startswith(("postgres://", "postgresql://")):
        u = urlparse(url)
        config = {
            "host": u.hostname or "localhost",
            "port": u.port or 5432,
            "user": unquote(u.username or ""),
            "password": unquote(u.password or ""),
            "database": u.path.lstrip("/"),
        }
        return PostgresEngine(config={k: v for k, v in config.items() if v != ""})
    raise ValueError(f"database.url: unsupported scheme in {url!r} (sqlite:/// or postgresql://)")


def bind(engine: Engine) -> None:
    """Point every table at `engine` (Piccolo otherwise looks for piccolo_conf)."""
    from portal.tables import ALL_TABLES

    for table in ALL_TABLES:
        table._meta.db = engine


def is_postgres(engine: Engine) -> bool:
    return engine.engine_type == "postgres"


async def open_pool(engine: Engine, *, max_size: int = 10) -> None:
    """Open the engine's connections: PostgreSQL's pool, or SQLite's (WAL mode set on the file)."""
    if is_postgres(engine):
        await engine.start_connection_pool(min_size=1, max_size=max_size)
    else:
        await engine.pool()


async def close_pool(engine: Engine) -> None:
    if is_postgres(engine):
        await engine.close_connection_pool()
    else:
        await engine.close_pool()


async def is_migrated(engine: Engine) -> bool:
    """Whether the schema exists (the first migration has run)."""
    if engine.engine_type == "sqlite":
        rows = await engine.run_querystring(
            QueryString("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'practice'")
        )
    else:
        rows = await engine.run_querystring(
            QueryString("SELECT to_regclass('public.practice') AS name")
        )
        rows = [r for r in rows if r["name"]]
    return bool(rows)


@asynccontextmanager
async def write_transaction(*, lock_client: int | None = None) -> AsyncIterator[None]:
    """The one transaction for code that writes: IMMEDIATE on SQLite, plain on PostgreSQL.

    SQLite's default (DEFERRED) transaction starts as a reader; in WAL mode, if
    another connection commits a write before it upgrades, its first write fails
    at once with "database is locked" (a stale snapshot: waiting cannot help).
    Taking the write lock up front makes such transactions queue instead.

    `lock_client`: a client whose records change one writer at a time. On
    PostgreSQL that client's row is locked (FOR UPDATE) until commit; on SQLite
    the IMMEDIATE transaction already admits one writer at a time.

    Nested inside another transaction, it joins that one.
    """
    from portal.tables import Client

    engine = Client._meta.db
    if engine.engine_type == "sqlite":
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
        return
    async with engine.transaction():
        if lock_client is not None:
            await Client.select(Client.id).where(Client.id == lock_client).lock_rows()
        yield

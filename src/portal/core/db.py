"""The database engine, made from the settings' URL and bound to every table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import TransactionType
from piccolo.querystring import QueryString
from piccolo.table import Table

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


ID_MAX = 2**31 - 1  # ids are SERIAL: 32-bit on PostgreSQL


def parse_id(value: str) -> int | None:
    """An id typed into a URL or a form: ASCII digits within the ids' range, else None.

    (`"²".isdigit()` is true, and `int("²")` fails: digits are checked as ASCII.)
    """
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 0 < number <= ID_MAX else None


class _Slot:
    """Stands in for a parameter while a prepared query is compiled."""

    def __init__(self, index: int) -> None:
        self.index = index


class Prepared:
    """A Piccolo select whose SQL is built once; each run only binds its values.

    Piccolo builds a query's SQL string again on every call, and on a hot page
    that was a fifth of the CPU. `Prepared(Appointment, lambda client, now:
    Appointment.select(...).where(Appointment.client == client, ...))` builds the
    query once per engine with stand-ins for the parameters, keeps the compiled
    SQL, and `run(client_id, now)` puts the real values in the stand-ins' places.
    For plain selects (no `.output()` options); values go to the driver as given.
    """

    def __init__(self, table: type[Table], build: Callable[..., Any]) -> None:
        self.table = table
        self._build = build
        self._compiled: dict[str, tuple[str, list[Any], list[tuple[int, int]]]] = {}

    def _compile(self, engine_type: str) -> tuple[str, list[Any], list[tuple[int, int]]]:
        count = self._build.__code__.co_argcount
        query = self._build(*(_Slot(i) for i in range(count)))
        sql, args = query.querystrings[0].compile_string(engine_type=engine_type)
        slots = [(at, a.index) for at, a in enumerate(args) if isinstance(a, _Slot)]
        if sorted({index for _, index in slots}) != list(range(count)):
            raise ValueError("every parameter of a prepared query must be used in it")
        return sql, args, slots

    async def run(self, *values: Any) -> list[dict]:
        engine = self.table._meta.db
        compiled = self._compiled.get(engine.engine_type)
        if compiled is None:
            compiled = self._compiled[engine.engine_type] = self._compile(engine.engine_type)
        sql, template_args, slots = compiled
        args = list(template_args)
        for at, index in slots:
            args[at] = values[index]
        querystring = QueryString(sql, table=self.table)
        querystring._frozen_compiled_strings = (sql, args)
        rows = await engine.run_querystring(querystring)
        # asyncpg answers Records; Piccolo's own queries turn them into dicts, and so do we.
        return rows if engine.engine_type == "sqlite" else [dict(r) for r in rows]

"""SQLite with connections that stay open: a few readers and one writer per process.

Piccolo's `SQLiteEngine` opens a new aiosqlite connection, with a new thread, for
every query outside a transaction, and every new SQLite connection parses the
whole schema again; under load most of the time went there. This engine keeps
them open instead:

- **Reads on the event loop.** A query outside a transaction that reads
  (`SELECT`, `WITH`) first runs on one more connection, in the event loop's own
  thread, as a plain `sqlite3` call: most reads take microseconds, and a trip to
  a connection's thread costs the loop more than that (a future, a wake-up, two
  hand-overs of the GIL; a third of a dashboard's CPU). A progress handler stops
  it once it has run `INLINE_BUDGET_S`; it is then run again on a reader (reads
  change nothing, so running one again is safe) and that statement goes straight
  to the readers for its next `HEAVY_SKIP` runs. Its `busy_timeout` is 0: a read
  that would wait for a lock waits on a reader instead, never on the loop.
- **Readers**: a small pool of connections, each with its thread, for the reads
  that take longer.
- **The writer**: one connection behind an `asyncio.Lock`. Every transaction
  (IMMEDIATE ones from `core.db.write_transaction()`, and Piccolo's own) and
  every write outside a transaction runs on it, one at a time in this process,
  so writers in one process never fight over SQLite's lock. Other processes on
  the same file queue on that lock for up to `busy_timeout`.
- Pragmas are set once per connection: `journal_mode=WAL`, `foreign_keys=ON`,
  `busy_timeout`, `synchronous=NORMAL` (durable at every checkpoint; a power cut
  may lose the last transactions, never corrupt the file).
- A query on a reader or the writer is one trip to its connection's thread
  (execute and fetch together),
  where Piccolo takes three or four (it also re-sends `PRAGMA foreign_keys`
  before every query in a transaction).

Each event loop gets its own pool, opened on first use: a command that runs
several `asyncio.run()` gets a new pool in each, and the pools of closed loops
are stopped.
aiosqlite's private `_execute` and `_thread` are used for the one-trip query and
for daemon threads; `tests/unit/test_sqlite_engine.py` pins what this relies on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

READS = ("SELECT", "WITH")
INLINE_BUDGET_S = 0.002  # how long a read may hold the event loop before it moves to a reader
HEAVY_SKIP = 64  # runs of a statement that went over the budget sent straight to a reader
PROGRESS_STEPS = 1000  # SQLite virtual-machine steps between looks at the clock


def is_read(sql: str) -> bool:
    """Whether a statement outside a transaction may run on a reader connection."""
    return sql.lstrip()[:6].upper().startswith(READS)


def _fetch(conn: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[dict]:
    """In the connection's thread: run one statement and read all its rows."""
    cursor = conn.execute(sql, args)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


def _rollback(conn: sqlite3.Connection) -> None:
    """In the connection's thread: roll back if a transaction is still open."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _set_up(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    conn.row_factory = dict_factory
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        f"busy_timeout={int(busy_timeout_ms)}",
        "synchronous=NORMAL",
    ):
        conn.execute(f"PRAGMA {pragma}").close()


async def run_on(connection: aiosqlite.Connection, sql: str, args: Sequence[Any] = ()) -> list:
    return await connection._execute(_fetch, connection._conn, sql, list(args))


class InlineReader:
    """A connection used from the event loop's thread, for reads short enough to run there."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.deadline = 0.0
        self.stopped = False
        self.heavy: dict[str, int] = {}  # statement -> runs left to send to a reader
        conn.set_progress_handler(self._over_budget, PROGRESS_STEPS)

    def _over_budget(self) -> int:
        if time.perf_counter() > self.deadline:
            self.stopped = True
            return 1  # SQLite stops the statement: "interrupted"
        return 0

    def read(self, sql: str, args: Sequence[Any]) -> list | None:
        """The rows, or None when the statement is to run on a reader instead."""
        left = self.heavy.get(sql)
        if left:
            self.heavy[sql] = left - 1
            return None
        self.stopped = False
        self.deadline = time.perf_counter() + INLINE_BUDGET_S
        try:
            return _fetch(self.conn, sql, args)
        except sqlite3.OperationalError as exc:
            if not (self.stopped or "locked" in str(exc) or "busy" in str(exc)):
                raise
        if len(self.heavy) >= 1024:  # statements come from the code, but keep it bounded
            self.heavy.clear()
        self.heavy[sql] = HEAVY_SKIP
        return None

    def close(self) -> None:
        self.conn.close()


class _Pool:
    def __init__(
        self,
        readers: list[aiosqlite.Connection],
        writer: aiosqlite.Connection,
        inline: InlineReader | None = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.readers = readers
        self.writer = writer
        self.inline = inline
        self.free: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self.free.put_nowait(reader)
        self.write_lock = asyncio.Lock()

    @property
    def connections(self) -> list[aiosqlite.Connection]:
        return [*self.readers, self.writer]

    async def read(self, sql: str, args: Sequence[Any]) -> list:
        if self.inline is not None:
            rows = self.inline.read(sql, args)
            if rows is not None:
                return rows
        conn = await self.free.get()
        try:
            return await run_on(conn, sql, args)
        finally:
            self.free.put_nowait(conn)

    async def write(self, sql: str, args: Sequence[Any]) -> list:
        async with self.write_lock:
            return await run_on(self.writer, sql, args)


class PooledTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction, on the pool's writer instead of a new connection."""

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        pool = await self.engine.pool()
        await pool.write_lock.acquire()
        self._pool = pool
        self.connection = pool.writer
        try:
            await self.begin()
        except BaseException:
            pool.write_lock.release()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:  # noqa: ANN001
        if self._parent:
            return exception is None
        try:
            if exception is None and not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            # Whatever happened (an error, a failed commit), the writer leaves clean.
            try:
                await self.connection._execute(_rollback, self.connection._conn)
            finally:
                self._pool.write_lock.release()
                self.engine.current_transaction.reset(self.context)
        return exception is None


class PooledSQLiteEngine(SQLiteEngine):
    """`SQLiteEngine` whose connections stay open (see the module's docstring)."""

    def __init__(
        self,
        path: str,
        *,
        readers: int = 3,
        busy_timeout_ms: int = 30_000,
        inline_reads: bool = True,
        **connection_kwargs,
    ) -> None:
        super().__init__(path=path, **{"cached_statements": 256, **connection_kwargs})
        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError("SQLite 3.35 or newer is needed (RETURNING)")
        self.readers = readers
        self.inline_reads = inline_reads
        self.busy_timeout_ms = busy_timeout_ms
        self._pools: dict[asyncio.AbstractEventLoop, asyncio.Task[_Pool]] = {}

    async def _connect(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        # A forgotten pool must not keep the process alive at exit.
        connection._thread.daemon = True
        await connection
        await connection._execute(_set_up, connection._conn, self.busy_timeout_ms)
        return connection

    async def _open(self) -> _Pool:
        writer = await self._connect()  # first: it may have to switch the file to WAL
        readers = [await self._connect() for _ in range(self.readers)]
        inline = None
        if self.inline_reads:
            conn = sqlite3.connect(**{**self.connection_kwargs, "check_same_thread": False})
            _set_up(conn, busy_timeout_ms=0)
            inline = InlineReader(conn)
        return _Pool(readers, writer, inline)

    async def pool(self) -> _Pool:
        """This event loop's pool, opened on first use."""
        loop = asyncio.get_running_loop()
        task = self._pools.get(loop)
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            self._forget_closed_loops()
            task = self._pools[loop] = loop.create_task(self._open())
        return await asyncio.shield(task)

    def _forget_closed_loops(self) -> None:
        for loop, task in list(self._pools.items()):
            if loop.is_closed():
                del self._pools[loop]
                if task.done() and not task.cancelled() and not task.exception():
                    pool = task.result()
                    for conn in pool.connections:
                        conn.stop()  # its thread closes the connection and ends
                    if pool.inline is not None:
                        pool.inline.close()

    async def close_pool(self) -> None:
        """Close this event loop's connections (the app's shutdown; a command's end)."""
        task = self._pools.pop(asyncio.get_running_loop(), None)
        if task is None:
            return
        pool = await task
        for conn in pool.connections:
            await conn.close()
        if pool.inline is not None:
            pool.inline.close()

    # --- Piccolo's hooks -----------------------------------------------------------------------

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table=None
    ) -> list:  # noqa: ANN001
        pool = await self.pool()
        if query_type != "insert" and is_read(query):
            return await pool.read(query, args or [])
        return await pool.write(query, args or [])

    async def _run_in_existing_connection(
        self, connection, query: str, args: list[Any] | None = None, query_type: str = "generic",
        table=None,
    ) -> list:  # noqa: ANN001  # fmt: skip
        return await run_on(connection, query, args or [])

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return PooledTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

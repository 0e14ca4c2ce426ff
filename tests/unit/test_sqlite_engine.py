"""The SQLite engine keeps its connections open: a few readers, one writer, pragmas set once.

These run on their own database file (whatever engine the suite runs on), so they pin
what `portal.core.sqlite` relies on in Piccolo and aiosqlite.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from piccolo.columns import Integer, Varchar
from piccolo.engine.sqlite import TransactionType
from piccolo.table import Table

from portal.core.sqlite import PooledSQLiteEngine, is_read


class Note(Table, tablename="note"):
    body = Varchar(length=50)
    n = Integer(default=0)


@pytest.fixture
async def engine(tmp_path):
    engine = PooledSQLiteEngine(path=str(tmp_path / "pool.db"), readers=2, timeout=5)
    Note._meta.db = engine
    await Note.create_table().run()
    yield engine
    await engine.close_pool()


def test_reads_and_writes_are_told_apart():
    assert is_read("SELECT 1") and is_read("  with x as (select 1) select * from x")
    assert not is_read('INSERT INTO "note" VALUES (1)')
    assert not is_read("UPDATE note SET n = 1") and not is_read("PRAGMA journal_mode")


async def test_connections_stay_open_whatever_the_number_of_queries(engine):
    threads_before = threading.active_count()
    for i in range(50):
        await Note.insert(Note(body=f"n{i}"))
        assert await Note.count() == i + 1
    pool = await engine.pool()
    assert len(pool.connections) == 3  # two readers and the writer, the same all along
    assert threading.active_count() == threads_before


async def test_every_connection_has_its_pragmas(engine):
    pool = await engine.pool()
    for conn in pool.connections:
        rows = await conn.execute_fetchall(
            "SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_synchronous,"
            " pragma_busy_timeout"
        )
        assert dict(rows[0]) == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "synchronous": 1,  # NORMAL
            "timeout": 30_000,
        }


async def test_writers_take_turns_and_a_failed_transaction_leaves_the_writer_clean(engine):
    await Note.insert(Note(body="counter", n=0))

    async def bump() -> None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            row = await Note.select(Note.n).where(Note.body == "counter").first()
            await asyncio.sleep(0)  # let the others try to start meanwhile
            await Note.update({Note.n: row["n"] + 1}).where(Note.body == "counter")

    await asyncio.gather(*(bump() for _ in range(20)))
    assert (await Note.select(Note.n).first())["n"] == 20  # no lost update, no "locked"

    with pytest.raises(RuntimeError):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            await Note.insert(Note(body="rolled back"))
            raise RuntimeError("boom")
    assert not await Note.exists().where(Note.body == "rolled back")
    async with engine.transaction(transaction_type=TransactionType.immediate):
        await Note.insert(Note(body="after"))
    assert await Note.exists().where(Note.body == "after")


async def test_a_nested_transaction_joins_the_outer_one(engine):
    with pytest.raises(RuntimeError):
        async with engine.transaction():
            await Note.insert(Note(body="outer"))
            async with engine.transaction():
                await Note.insert(Note(body="inner"))
            raise RuntimeError("undo both")
    assert await Note.count() == 0


def test_each_event_loop_gets_its_own_pool_and_closed_ones_are_stopped(tmp_path):
    engine = PooledSQLiteEngine(path=str(tmp_path / "loops.db"), readers=1)

    async def use() -> object:
        await engine.run_ddl("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        await engine._run_in_new_connection("INSERT INTO t VALUES (1)")
        return await engine.pool()

    async def use_and_close() -> object:
        pool = await use()
        assert len(engine._pools) == 1  # the first loop's pool was forgotten
        await engine.close_pool()
        return pool

    first = asyncio.run(use())
    second = asyncio.run(use_and_close())  # a command's second asyncio.run()
    assert first is not second
    for conn in [*first.connections, *second.connections]:
        conn._thread.join(timeout=5)
        assert not conn._thread.is_alive()


async def test_a_short_read_runs_on_the_event_loop_without_a_trip_to_a_thread(engine):
    await Note.insert(Note(body="hello"))
    pool = await engine.pool()
    sent_to_readers = []
    original = pool.free.get

    async def counted_get():
        sent_to_readers.append(True)
        return await original()

    pool.free.get = counted_get
    assert await Note.select(Note.body).where(Note.body == "hello") == [{"body": "hello"}]
    assert sent_to_readers == []  # answered by the inline connection
    rows = pool.inline.conn.execute("SELECT * FROM pragma_busy_timeout").fetchall()
    assert rows == [{"timeout": 0}]  # it never waits for a lock on the loop


async def test_a_long_read_is_stopped_on_the_loop_and_answered_by_a_reader(engine, monkeypatch):
    import portal.core.sqlite as sqlite_module

    await Note.insert(*[Note(body=f"n{i}", n=i) for i in range(200)])
    monkeypatch.setattr(sqlite_module, "INLINE_BUDGET_S", 0.0)  # every read is over budget
    pool = await engine.pool()
    on_the_loop = []
    original = sqlite_module._fetch

    def watched(conn, sql, args):  # noqa: ANN001, ANN202
        on_the_loop.append(threading.current_thread() is threading.main_thread())
        return original(conn, sql, args)

    monkeypatch.setattr(sqlite_module, "_fetch", watched)
    heavy = "SELECT count(*) AS c FROM note a, note b WHERE a.n < b.n"
    assert await engine._run_in_new_connection(heavy) == [{"c": 200 * 199 // 2}]
    assert on_the_loop == [True, False]  # stopped on the loop, answered in a reader's thread
    assert pool.inline.heavy[heavy] == sqlite_module.HEAVY_SKIP
    on_the_loop.clear()
    assert await engine._run_in_new_connection(heavy) == [{"c": 200 * 199 // 2}]
    assert on_the_loop == [False]  # straight to a reader, for the next runs
    assert pool.inline.heavy[heavy] == sqlite_module.HEAVY_SKIP - 1


async def test_a_read_that_would_wait_for_a_lock_waits_on_a_reader_not_on_the_loop(tmp_path):
    """Another process holds the file exclusively: the read waits in a reader's thread while
    the event loop goes on, and answers once the lock is gone."""
    import sqlite3

    path = tmp_path / "locked.db"
    engine = PooledSQLiteEngine(path=str(path), readers=1, busy_timeout_ms=10_000)
    Note._meta.db = engine
    await Note.create_table().run()
    await Note.insert(Note(body="kept"))
    await engine.close_pool()  # start again after the lock is taken
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("PRAGMA locking_mode=EXCLUSIVE")
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        read = asyncio.create_task(Note.select(Note.body).run())
        ticks = 0
        while ticks < 20:  # the loop keeps turning while the read waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert not read.done()
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    assert await asyncio.wait_for(read, 10) == [{"body": "kept"}]
    await engine.close_pool()

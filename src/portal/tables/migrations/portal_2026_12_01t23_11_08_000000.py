"""No double booking, enforced by the database itself (hand-written, per engine).

Runs after the initial schema: Piccolo runs a migration's raw steps *before*
its generated operations, so these cannot live in the generated migration.

PostgreSQL: an exclusion constraint (btree_gist) over each provider's
[starts_at, ends_at) ranges of appointments that are not cancelled.
SQLite has no exclusion constraints: triggers refuse an insert or update that
would overlap such an appointment. Writers book inside an immediate
transaction, which SQLite serialises, so the check and the write are atomic.

Plain uniqueness lives on the tables (`unique=True`, e.g. ledger_entry.external_id).
A composite unique, should one be needed, belongs here too, as
`CREATE UNIQUE INDEX ... ON table (a, b)` for both engines: Piccolo's composite
`Unique` emits `ALTER TABLE ... ADD CONSTRAINT`, which SQLite rejects.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T23:11:08:000000"
VERSION = "1.38.0"
DESCRIPTION = "no_double_booking"

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """ALTER TABLE appointment ADD CONSTRAINT appointment_no_double_booking
       EXCLUDE USING gist (provider WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
       WHERE (status <> 'cancelled')""",
]
POSTGRES_BACK = ["ALTER TABLE appointment DROP CONSTRAINT appointment_no_double_booking"]

_OVERLAP = """
    SELECT RAISE(ABORT, 'appointment_no_double_booking')
    WHERE NEW.status <> 'cancelled' AND EXISTS (
        SELECT 1 FROM appointment a
        WHERE a.provider = NEW.provider AND a.status <> 'cancelled' AND a.id <> NEW.id
          AND a.starts_at < NEW.ends_at AND NEW.starts_at < a.ends_at)"""
SQLITE = [
    f"CREATE TRIGGER appointment_no_double_booking_insert BEFORE INSERT ON appointment "
    f"BEGIN {_OVERLAP}; END",
    f"CREATE TRIGGER appointment_no_double_booking_update "
    f"BEFORE UPDATE OF provider, starts_at, ends_at, status ON appointment "
    f"BEGIN {_OVERLAP}; END",
]
SQLITE_BACK = [
    "DROP TRIGGER appointment_no_double_booking_insert",
    "DROP TRIGGER appointment_no_double_booking_update",
]

STATEMENTS = {"postgres": POSTGRES, "sqlite": SQLITE}
STATEMENTS_BACK = {"postgres": POSTGRES_BACK, "sqlite": SQLITE_BACK}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run(statements_by_engine):
        engine = engine_finder()
        for statement in statements_by_engine[engine.engine_type]:
            await engine.run_ddl(statement)

    async def up():
        await run(STATEMENTS)

    async def down():
        await run(STATEMENTS_BACK)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager

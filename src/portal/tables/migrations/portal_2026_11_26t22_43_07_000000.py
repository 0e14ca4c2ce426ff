"""A payment is written to the ledger once: ledger_entry.external_id is unique.

SQLite cannot ALTER TABLE ... ADD COLUMN ... UNIQUE, so the uniqueness is a
unique index, the same on both engines (NULLs, i.e. non-card entries, repeat).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T22:43:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger_external_id_unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def up():
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX ledger_entry_external_id_unique ON ledger_entry (external_id)"
        )

    async def down():
        await engine_finder().run_ddl("DROP INDEX ledger_entry_external_id_unique")

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager

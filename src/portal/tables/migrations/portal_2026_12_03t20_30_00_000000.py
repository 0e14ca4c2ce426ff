"""An index for "has this staff member read this thread since its client's last message?"
(the inbox's unread count, on every staff page for the menu's badge): thread_read by thread
and user together. With the user's index alone, SQLite scanned every thread a biller had
ever read for each message of each desk thread: 458 ms a page at the bench's 7,592 threads
(bench/results/2026-12-03-2010.md, the staff ledger row), 9 ms with this one. Hand-written,
the same SQL on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T20:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "thread_read (thread, user) index"

FORWARDS = ['CREATE INDEX thread_read_thread_user ON thread_read (thread, "user", last_read_at)']
BACKWARDS = ["DROP INDEX thread_read_thread_user"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def up():
        for statement in FORWARDS:
            await engine_finder().run_ddl(statement)

    async def down():
        for statement in BACKWARDS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(up)
    manager.add_raw_backwards(down)
    return manager

"""Indexes the staff side needs (hand-written, the same SQL on both engines).

- client_provider_pair: one row per client and provider (unique; Piccolo's composite
  Unique fails on SQLite).
- client_practice_name: the staff client list, ordered by last name, first name and id,
  pages through 5,000 clients without sorting the table.
- login_attempt_user: "has this client signed in yet?" on the client list, and the login
  history, look attempts up by user.

Runs after the generated migration that creates client_provider (Piccolo runs raw steps
before generated operations, so this cannot live there).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T13:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff_indexes"

FORWARDS = [
    "CREATE UNIQUE INDEX client_provider_pair ON client_provider (client, provider)",
    "CREATE INDEX client_practice_name ON client (practice, last_name, first_name, id)",
    'CREATE INDEX login_attempt_user ON login_attempt ("user")',
]
BACKWARDS = [
    "DROP INDEX client_provider_pair",
    "DROP INDEX client_practice_name",
    "DROP INDEX login_attempt_user",
]


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

"""service.new_clients_only: a service offered online only to new clients (columns only).

NOT NULL with a default (false), which SQLite's ALTER TABLE ... ADD COLUMN accepts as
PostgreSQL does: existing services stay offered to every client.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T14:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "service_new_clients_only"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Service",
        tablename="service",
        column_name="new_clients_only",
        db_column_name="new_clients_only",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager

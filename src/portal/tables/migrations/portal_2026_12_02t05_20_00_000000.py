"""The client's postal address, printed on superbills (columns only).

- client.address_line1, address_line2, city, region, postal_code: where the client
  lives, as an insurer asks for it on a claim (the superbill prints it with the
  client's name and date of birth). Staff keep it, like the other demographics.

Every column is NOT NULL with a default (""), which SQLite's ALTER TABLE ... ADD COLUMN
accepts as PostgreSQL does: existing rows take the default.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T05:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "client_postal_address"

COLUMNS = (
    ("address_line1", 200),
    ("address_line2", 200),
    ("city", 100),
    ("region", 100),
    ("postal_code", 20),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    for name, length in COLUMNS:
        manager.add_column(
            table_class_name="Client",
            tablename="client",
            column_name=name,
            db_column_name=name,
            column_class_name="Varchar",
            column_class=Varchar,
            params={
                "length": length,
                "default": "",
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

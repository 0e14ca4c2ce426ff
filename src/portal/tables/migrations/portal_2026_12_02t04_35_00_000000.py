"""Limits and bookkeeping found missing in an attack on the portal (columns only).

- practice.max_upcoming_online_bookings: how many upcoming appointments a client may
  hold from online booking before it says "call the practice" (3 unless staff change it).
- appointment.booked_online: the client booked it through self-scheduling (what that
  limit counts); appointments booked by staff, and every existing one, are not.
- stripe_event.error: why a verified webhook event could not be processed (an unknown
  client, an amount that is not a number); its outcome is then "unprocessable".

Every column is NOT NULL with a default, which SQLite's ALTER TABLE ... ADD COLUMN
accepts as PostgreSQL does: existing rows take the default.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T04:35:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "booking_limit_and_webhook_errors"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Practice",
        tablename="practice",
        column_name="max_upcoming_online_bookings",
        db_column_name="max_upcoming_online_bookings",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 3,
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

    manager.add_column(
        table_class_name="Appointment",
        tablename="appointment",
        column_name="booked_online",
        db_column_name="booked_online",
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

    manager.add_column(
        table_class_name="StripeEvent",
        tablename="stripe_event",
        column_name="error",
        db_column_name="error",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 300,
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

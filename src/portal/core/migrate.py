"""Applying the Piccolo migrations (used by `portal db migrate` and the test suite)."""

from __future__ import annotations

import os

from portal.core import db
from portal.settings import Settings


async def migrate(settings: Settings) -> None:
    # Piccolo's migration runner finds its engine through PICCOLO_CONF, which
    # reads the same settings; bind the tables to the very same URL as well.
    os.environ["PICCOLO_CONF"] = "portal.core.piccolo_conf"
    os.environ["PORTAL_DATABASE_URL"] = settings.database.url
    from piccolo.apps.migrations.commands.forwards import run_forwards

    import portal.core.piccolo_conf as conf

    conf.DB = db.make_engine(settings)
    result = await run_forwards(app_name="portal", migration_id="all", fake=False)
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")

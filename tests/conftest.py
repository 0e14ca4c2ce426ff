"""Fixtures on real parts: a real database (SQLite or PostgreSQL), the real app.

`PORTAL_TEST_DATABASE` picks the engine: `sqlite` (default) or a PostgreSQL
URL of a server where this suite may create a database (scripts/test.sh starts
a throwaway cluster and passes its URL). Every test starts from empty tables.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from portal import db
from portal.app import create_app
from portal.migrate import migrate
from portal.settings import Settings, load
from portal.tables import ALL_TABLES

TARGET = os.environ.get("PORTAL_TEST_DATABASE", "sqlite")
IS_POSTGRES = TARGET.startswith("postgres")
CI = os.environ.get("CI") == "true"


def pytest_report_header(config: pytest.Config) -> str:
    engine = "PostgreSQL" if IS_POSTGRES else "SQLite"
    return f"portal: database engine {engine}"


async def _create_pg_database(url: str) -> str:
    import asyncpg

    name = f"portal_test_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return re.sub(r"/[^/]*$", f"/{name}", url)


@pytest.fixture(scope="session")
async def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("portal")
    url = await _create_pg_database(TARGET) if IS_POSTGRES else f"sqlite:///{root}/portal.db"
    environ = {
        "PORTAL_ROOT": str(root),
        "PORTAL_DATABASE_URL": url,
        "PORTAL_SECURITY_SECRET_KEY": secrets.token_urlsafe(32),
        "PORTAL_SERVER_PUBLIC_URL": "http://testserver.local",
    }
    s = load(environ=environ)
    await migrate(s)
    db.bind(db.make_engine(s))
    return s


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture(autouse=True)
async def empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test starts with empty tables (faster than a database per test)."""
    settings = request.getfixturevalue("settings")
    yield
    engine = db.make_engine(settings)
    names = [t._meta.tablename for t in reversed(ALL_TABLES)]
    if IS_POSTGRES:
        await engine.run_ddl(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    else:
        for name in names:
            await engine.run_ddl(f'DELETE FROM "{name}"')


@pytest.fixture
async def http(app: Litestar) -> AsyncIterator[AsyncTestClient]:
    """A browser-like client: keeps cookies, follows nothing by itself."""
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        client.follow_redirects = False
        yield client

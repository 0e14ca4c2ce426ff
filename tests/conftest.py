"""Fixtures on real parts: a real database (SQLite or PostgreSQL), the real app.

`PORTAL_TEST_DATABASE` picks the engine: `sqlite` (default) or a PostgreSQL
URL of a server where this suite may create a database (scripts/test.sh starts
a throwaway cluster and passes its URL). Every test starts from empty tables.
"""

from __future__ import annotations

import inspect
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from portal.app import create_app
from portal.core import db
from portal.core.migrate import migrate
from portal.practice import info as practice_info
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """A real localstripe server (a stateful fake Stripe) for the whole run: its base URL."""
    port = _free_port()
    exe = Path(sys.executable).with_name("localstripe")
    proc = subprocess.Popen(
        [str(exe), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{url}/js.stripe.com/v3/", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("localstripe did not start")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
async def settings(tmp_path_factory: pytest.TempPathFactory, localstripe: str) -> Settings:
    root = tmp_path_factory.mktemp("portal")
    url = await _create_pg_database(TARGET) if IS_POSTGRES else f"sqlite:///{root}/portal.db"
    environ = {
        "PORTAL_ROOT": str(root),
        "PORTAL_DATABASE_URL": url,
        "PORTAL_SECURITY_SECRET_KEY": secrets.token_urlsafe(32),
        "PORTAL_SERVER_PUBLIC_URL": "http://testserver.local",
        "PORTAL_PAYMENTS_STRIPE_API_URL": localstripe,
        "PORTAL_PAYMENTS_STRIPE_JS_URL": f"{localstripe}/js.stripe.com/v3/",
    }
    s = load(environ=environ)
    await migrate(s)
    db.bind(db.make_engine(s))
    return s


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app, its pool opened in the test loop (the lifespan would open it in another)."""
    app = create_app(settings)
    engine = app.state.engine
    if IS_POSTGRES:
        await engine.start_connection_pool(min_size=1, max_size=20)
    yield app
    if IS_POSTGRES:
        await engine.close_connection_pool()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Async tests touch the database: each leaves it empty for the next.
    # (An async autouse fixture would break plain synchronous tests.)
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.fixturenames.append("empty_tables")


async def empty_all_tables(settings: Settings) -> None:
    """Delete every row of every table (and forget the practice this process kept)."""
    practice_info.changed()
    engine = db.make_engine(settings)
    names = [t._meta.tablename for t in reversed(ALL_TABLES)]
    if IS_POSTGRES:
        await engine.run_ddl(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    else:
        # A refund points at the payment it gives back, in the same table.
        await engine.run_ddl('UPDATE "ledger_entry" SET "refund_of" = NULL')
        for name in names:
            await engine.run_ddl(f'DELETE FROM "{name}"')  # noqa: S608 - our table names


@pytest.fixture
async def empty_tables(settings: Settings) -> AsyncIterator[None]:
    """Every database test starts with empty tables (faster than a database per test)."""
    yield
    await empty_all_tables(settings)


def client_for(app: Litestar, base_url: str = "http://testserver.local") -> httpx.AsyncClient:
    """A browser-like client on the app, in this event loop: keeps cookies, follows nothing."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url, follow_redirects=False)


@pytest.fixture
async def http(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client

"""Several app processes on one database, as deployed: what they share goes through it.

Real processes: `portal run`, started by `tests/browser/harness.py`'s `start_server` on
free ports with the test database of `tests/conftest.py` (SQLite file or PostgreSQL, as
PORTAL_TEST_DATABASE says), each with its mail worker on and pointed at a real SMTP
server (aiosmtpd). The test process makes the records with the factories and reads the
outbox back; everything else is HTTP, one cookie jar for both processes as a browser
behind a load balancer has.

No app secret is configured: the processes start together in one fresh root and must
agree on the `var/secret.key` they generate, or a CSRF token from one is refused by the
other.

The SMTP server takes longer to accept a mail than a mail worker pauses between passes,
so while one process sends, the other one's worker looks at the outbox at least once:
a claim that did not hold across processes would send the mail twice.

Each test takes some seconds (two app start-ups, the slow SMTP server, and a wait for a
second copy that must not come).
"""

from __future__ import annotations

import asyncio
import inspect
import re
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from portal.core import mail
from portal.settings import Settings
from portal.tables import OutboxMail
from tests import factories
from tests.browser import harness
from tests.web import Inbox, csrf_from, sign_in, smtp_server

# How long a mail worker waits between passes over the outbox (`Worker.run_forever`).
WORKER_PAUSE = inspect.signature(mail.Worker.run_forever).parameters["interval"].default
SEND_SECONDS = WORKER_PAUSE + 1.0
# Start-up of an app process on a loaded two-core machine can take a while.
START_TIMEOUT = 120.0
WORKER_STARTED = re.compile(r"mail worker (\S+) started")
SERVER_STARTED = re.compile(r"Started server process \[(\d+)\]")
STARTUP_COMPLETE = re.compile(r"Application startup complete")


class SlowInbox(Inbox):
    """An SMTP server that takes SEND_SECONDS to accept each mail."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(SEND_SECONDS)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp() -> Iterator[SlowInbox]:
    with smtp_server(SlowInbox()) as inbox:
        yield inbox


@asynccontextmanager
async def serving(
    settings: Settings, root: Path, smtp: SlowInbox, *, processes: int = 1, workers: int = 1
) -> AsyncIterator[list[harness.LiveServer]]:
    """`processes` app processes started together (`portal run --workers N` each), on the
    test database, with their mail workers on; stopped, their logs printed, at the end."""
    env = {
        "PORTAL_SERVER_RUN_WORKER": "true",
        "PORTAL_MAIL_SMTP_HOST": "127.0.0.1",
        "PORTAL_MAIL_SMTP_PORT": str(smtp.port),
        "PORTAL_MAIL_FROM_ADDRESS": "portal@harbor.example",
    }

    def start() -> harness.LiveServer:
        return harness.start_server(
            root=str(root),
            database_url=settings.database.url,
            secret_key="",  # generated into root/var/secret.key, shared
            timeout=START_TIMEOUT,
            env=env,
            workers=workers,
        )

    started = await asyncio.gather(
        *(asyncio.to_thread(start) for _ in range(processes)), return_exceptions=True
    )
    servers = [s for s in started if isinstance(s, harness.LiveServer)]
    try:
        for failure in started:
            if isinstance(failure, BaseException):
                pytest.fail(str(failure), pytrace=False)
        yield servers
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)
            # Shown when the test fails.
            print(f"--- {server.base_url} ---\n{server.log()}")


async def in_log(server: harness.LiveServer, pattern: re.Pattern, count: int) -> list[str]:
    """What `pattern` finds in the server's output, once it finds `count` (or after a while:
    /healthz answers once one worker is up, and the app logs through a queue)."""
    for _ in range(int(START_TIMEOUT * 10)):
        found = pattern.findall(server.log())
        if len(found) >= count:
            break
        await asyncio.sleep(0.1)
    return found


async def outbox_sent() -> list[dict]:
    """Every outbox row, once none is left to send (or after a minute: the test says so)."""
    for _ in range(600):
        rows = await OutboxMail.select().order_by(OutboxMail.id)
        if rows and all(r["sent_at"] or r["failed_at"] for r in rows):
            return rows
        await asyncio.sleep(0.1)
    return rows


async def test_two_processes_share_sessions_the_secret_and_the_outbox(settings, smtp, tmp_path):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice")
    await factories.client(p, "bob")

    # Started together: they generate the app secret at the same moment.
    async with serving(settings, tmp_path, smtp, processes=2) as (a, b):
        assert stat.S_IMODE((tmp_path / "var/secret.key").stat().st_mode) == 0o600
        # Each process runs its mail worker.
        names = [await in_log(a, WORKER_STARTED, 1), await in_log(b, WORKER_STARTED, 1)]
        assert [len(n) for n in names] == [1, 1], names

        async with httpx.AsyncClient(base_url=a.base_url, follow_redirects=False) as browser:
            # Not signed in, B sends the browser to sign in.
            r = await browser.get(f"{b.base_url}/")
            assert r.status_code == 303 and r.headers["location"].startswith("/login")

            # A session made on A is valid on B: the same cookie, the dashboard.
            r = await sign_in(browser, "alice")
            assert r.status_code == 303, r.text
            r = await browser.get(f"{b.base_url}/")
            assert r.status_code == 200
            assert "Alice" in r.text

            # A CSRF token minted by B is accepted by A (the same secret): a reset request.
            page = await browser.get(f"{b.base_url}/password-reset")
            r = await browser.post(
                "/password-reset", data={"identifier": "bob", "_csrf_token": csrf_from(page.text)}
            )
            assert r.status_code == 200, r.text

            # Signing out on B ends the session on A too.
            token = browser.cookies["portal_session"]
            dashboard = await browser.get(f"{b.base_url}/")
            r = await browser.post(
                f"{b.base_url}/logout", data={"_csrf_token": csrf_from(dashboard.text)}
            )
            assert r.status_code == 303
        async with httpx.AsyncClient(base_url=a.base_url, cookies={"portal_session": token}) as old:
            r = await old.get("/")  # the signed-out session's cookie, replayed to A
            assert r.status_code == 303 and r.headers["location"].startswith("/login")

        # The reset mail (and any other, e.g. alice's new-device notice) was queued once
        # and is sent once, by one of the two workers, while the other one kept looking.
        rows = await outbox_sent()
        assert rows and all(r["sent_at"] is not None and r["attempts"] == 1 for r in rows), rows
        await asyncio.sleep(2 * WORKER_PAUSE + 1)  # time enough for a second copy
        assert len(smtp.messages) == len(rows)
        resets = [m for m in smtp.messages if m["To"] == "bob@mail.example"]
        assert len(resets) == 1
        assert "/password-reset/" in resets[0].get_payload(decode=True).decode()
        assert {r["claimed_by"] for r in rows} <= {n for ns in names for n in ns}
        assert (await OutboxMail.select().where(OutboxMail.sent_at.is_null())) == []


async def test_portal_run_workers_serve_one_app(settings, smtp, tmp_path):
    """`portal run --workers 2` (what `make run WORKERS=2` runs): two app processes, each
    with its mail worker, one secret generated before they start; a session made on one
    connection is valid on new ones, whichever worker takes them."""
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice")

    async with serving(settings, tmp_path, smtp, workers=2) as [server]:
        assert (tmp_path / "var/secret.key").exists()
        assert len(set(await in_log(server, SERVER_STARTED, 2))) == 2
        assert len(set(await in_log(server, WORKER_STARTED, 2))) == 2
        await in_log(server, STARTUP_COMPLETE, 2)

        # A new connection for every request, so the kernel hands them to either worker.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits) as browser:
            assert (await sign_in(browser, "alice")).status_code == 303
            for _ in range(10):
                assert (await browser.get("/")).status_code == 200

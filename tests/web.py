"""Helpers for driving the app over HTTP like a browser would.

One copy of each for every test file: reading a page as the user reads it (`Page`), the
page's CSRF token, signing in (`sign_in`, or a second browser already signed in,
`signed_in`), posting a form as the page would, with or without htmx (`post_form`,
`htmx_post`), the mails the app has written (`mails`), and a real SMTP server that keeps
what the mail worker sends (`Inbox`, served by `smtp_server`).
"""

from __future__ import annotations

import email
import html
import re
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiosmtpd.controller import Controller
from httpx import AsyncClient as AsyncTestClient
from litestar import Litestar

from portal.tables import OutboxMail
from tests.conftest import client_for
from tests.factories import PASSWORD

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Page:
    """A response with its text unescaped, as the user reads it (`raw` is the HTML as sent)."""

    def __init__(self, response):
        self.status_code = response.status_code
        self.headers = response.headers
        self.raw = response.text
        self.text = html.unescape(response.text)


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def csrf_token(http: AsyncTestClient, path: str = "/login") -> str:
    return csrf_from((await http.get(path, follow_redirects=True)).text)


async def sign_in(http: AsyncTestClient, username: str, password: str = PASSWORD, **extra):
    token = await csrf_token(http)
    return await http.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": token, **extra},
    )


@asynccontextmanager
async def signed_in(
    app: Litestar, username: str, password: str = PASSWORD
) -> AsyncIterator[AsyncTestClient]:
    """Another browser on the app, signed in as `username`, for the length of the block."""
    async with client_for(app) as client:
        await sign_in(client, username, password)
        yield client


async def post_form(
    http: AsyncTestClient,
    path: str,
    data: dict | None = None,
    *,
    page: str = "/",
    files=None,
    headers: dict | None = None,
    htmx: bool = False,
    token_header: bool = True,
):
    """POST a form the way the page would: with the CSRF token the page carries.

    htmx=True posts it as htmx does: with HX-Request and, unless token_header=False, the
    token in the x-csrftoken header too (the layout's hx-headers). `headers` are added as given.
    """
    token = await csrf_token(http, page)
    sent = {}
    if htmx:
        sent["HX-Request"] = "true"
        if token_header:
            sent["x-csrftoken"] = token
    sent.update(headers or {})
    return await http.post(
        path, data={**(data or {}), "_csrf_token": token}, files=files, headers=sent
    )


async def htmx_post(
    http: AsyncTestClient,
    path: str,
    data: dict | None = None,
    *,
    page: str = "/",
    current_url: str = "http://testserver.local/",
) -> Page:
    """POST as an hx-post button on `page` does: no form around it, so the CSRF token
    travels only in the x-csrftoken header; with HX-Request and HX-Current-URL."""
    token = await csrf_token(http, page)
    r = await http.post(
        path,
        data=data or {},
        headers={"HX-Request": "true", "x-csrftoken": token, "HX-Current-URL": current_url},
    )
    return Page(r)


async def mails(kind: str | None = None) -> list[dict]:
    """The mails in the outbox, oldest first; only those of `kind` when given."""
    query = OutboxMail.select().order_by(OutboxMail.id)
    if kind:
        query = query.where(OutboxMail.kind == kind)
    return await query


class Inbox:
    """An aiosmtpd handler that keeps what it receives; can refuse the first N."""

    port: int  # set by smtp_server

    def __init__(self, refuse: int = 0) -> None:
        self.messages: list[email.message.Message] = []
        self.refuse = refuse
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 Try again later"
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[Inbox]:
    """A real SMTP server for `inbox` on a free port of 127.0.0.1 (`inbox.port`), for the block."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    try:
        yield inbox
    finally:
        controller.stop()

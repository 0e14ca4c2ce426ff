"""Helpers for driving the app over HTTP like a browser would."""

from __future__ import annotations

import re

from httpx import AsyncClient as AsyncTestClient

from tests.factories import PASSWORD

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


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


async def post_form(http: AsyncTestClient, path: str, data: dict | None = None, *, page: str = "/"):
    """POST a form the way the page would: with the CSRF token the page carries."""
    token = await csrf_token(http, page)
    return await http.post(path, data={**(data or {}), "_csrf_token": token})

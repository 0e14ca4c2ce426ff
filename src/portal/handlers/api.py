"""`/api/`: what an internal system's server asks of the portal with a staff API token.

`POST /api/embed-sessions` (scope "embed"): a JSON body naming the client, the widgets,
whether actions are allowed, the host page's origin and an optional theme; the answer is
201 with the session's secret (single-use, minutes) for `embed.js`. Every answer is JSON:
401 for a token that is not valid, 403 for what its staff member may not see, 404 for a
client out of reach, 422 with `errors` by field. No cookie is read or set here, so there
is nothing for CSRF to forge: the token is the credential.
"""

from __future__ import annotations

import json

from litestar import Request, Response, post
from litestar.di import NamedDependency

from portal.core.errors import DomainError, Refused
from portal.embedding import origins, sessions, tokens
from portal.handlers.base import client_ip
from portal.handlers.errors import status_of
from portal.practice.info import PracticeInfo
from portal.settings import Settings

MAX_BODY = 4096


def _json(status: int, body: dict) -> Response:
    headers = {"cache-control": "no-store"}
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="portal"'
    return Response(body, status_code=status, media_type="application/json", headers=headers)


@post("/api/embed-sessions", status_code=201, request_max_body_size=MAX_BODY,
      opt={"exclude_from_csrf": True})  # fmt: skip
async def create_embed_session(
    request: Request, practice: NamedDependency[PracticeInfo], settings: NamedDependency[Settings]
) -> Response:
    try:
        use = await tokens.use(request.headers.get("authorization", ""), "embed",
                               what="POST /api/embed-sessions", ip=client_ip(request))  # fmt: skip
    except Refused as exc:
        return _json(401, {"error": exc.message})
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _json(422, {"error": "Send a JSON object.", "errors": {}})
    allowed = origins.allowed(settings.security.embed_origins, practice)
    try:
        made = await sessions.start(use, body, origins=list(allowed), ip=client_ip(request))
    except DomainError as exc:
        status = status_of(exc)
        return _json(status, {"error": exc.message or "Some fields are not right.",
                              "errors": exc.errors})  # fmt: skip
    base = settings.portal_url.rstrip("/")
    return _json(201, {
        "secret": made["secret"],
        "secret_expires_at": made["secret_expires_at"].isoformat(),
        "expires_at": made["expires_at"].isoformat(),
        "start_url": f"{base}/embed/start",
        "script_url": f"{base}/embed/embed.js",
    })  # fmt: skip


CONTROLLERS: list = [create_embed_session]

"""Limits on requests, enforced before anything parses them.

`RequestLimits` is the outermost middleware (it runs right after routing, before the
session lookup and before Litestar's CSRF middleware, which parses a whole form to find
its token). For the route's handler it knows:

- the body size the route accepts: Litestar's `request_max_body_size`, resolved over the
  layers (the app's `FORM_BYTES` for ordinary forms; `upload_bytes(n)` on the routes that
  take files). A route with guards, asked without a session cookie, gets `FORM_BYTES`:
  its guard will refuse the request, so a large body would only be read for nothing.
- the number of form fields it accepts: the handler's `opt[MAX_FIELDS_OPT]`, or
  `MAX_FIELDS`.

A `Content-Length` over the limit is refused at once (413). Otherwise the body is counted
as it streams in (chunked bodies too): bytes, and the fields of an urlencoded form (its
`&` separators) or a multipart form (its boundaries). Small bodies are read here in full
and handed on only once they passed; large ones (uploads) are handed on as they come and
refused (413, or 400 for too many fields) the moment they cross a limit. The refusal is
the usual error page, or the error fragment for htmx.

It also answers 404 for an integer path parameter that cannot be an id (negative, or
past the ids' column range), before any query tries to bind it.

`PortalRequest` turns a form that cannot be decoded (a text part that is not UTF-8, a
charset that does not exist) into a 400 instead of a server error.
"""

from __future__ import annotations

import math
from typing import Any

from litestar._multipart import parse_content_header
from litestar._parsers import parse_cookie_string
from litestar.datastructures import FormMultiDict
from litestar.exceptions import ClientException, HTTPException, NotFoundException
from litestar.plugins.htmx import HTMXRequest
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal.core import uploads
from portal.core.db import ID_MAX

KB = 1024
MB = 1024 * KB

# Ordinary forms: sign-in, profile sections, payments, settings. The largest (reminder
# recipients) is 27 fields and well under 4 KB.
FORM_BYTES = 64 * KB
MAX_FIELDS = 200
MAX_FIELDS_OPT = "max_form_fields"

# Bodies up to this size are read in full before the app sees them.
BUFFER_BYTES = 4 * MB

# The ids are SERIAL columns: 32-bit on PostgreSQL (SQLite's rowids count up the same way).


def upload_bytes(files: int) -> int:
    """The body size of a form taking `files` files of at most `uploads.MAX_BYTES` each,
    with room for its text fields and for a file a little too big to get its own message."""
    return files * uploads.MAX_BYTES + 4 * MB


def size_text(n: int) -> str:
    return f"{n // MB} MB" if n >= MB else f"{n // KB} KB"


class BodyTooLarge(HTTPException):
    status_code = HTTP_413_REQUEST_ENTITY_TOO_LARGE

    def __init__(self, limit: int) -> None:
        super().__init__(
            detail=f"At most {size_text(limit)} can be sent at once here. "
            "Send less, or choose fewer or smaller files."
        )


class TooManyFields(ClientException):
    def __init__(self, limit: int) -> None:
        super().__init__(detail=f"A form here has at most {limit:,} fields; this one had more.")


UNREADABLE_FORM = (
    "Part of the form could not be read (text that is not UTF-8, or a file sent without "
    "its name). Go back, choose any files again and send the form once more."
)


NUL_IN_FORM = (
    "The form holds a character that cannot be stored (a NUL character). "
    "Remove it and send the form again."
)


class PortalRequest(HTMXRequest):
    """The app's request class (htmx details included): a form that cannot be decoded is
    the client's mistake (400), not a server error."""

    async def form(self) -> FormMultiDict:
        try:
            form = await super().form()
        except (UnicodeDecodeError, LookupError):
            raise ClientException(UNREADABLE_FORM) from None
        # PostgreSQL cannot store a NUL character in text, and no one types one.
        if any(isinstance(v, str) and "\x00" in v for v in form.values()):
            raise ClientException(NUL_IN_FORM)
        return form


class _Separators:
    """Counts a separator across the chunks of a body (one split between chunks counts once)."""

    def __init__(self, separator: bytes) -> None:
        self.separator = separator
        self.keep = len(separator) - 1
        self.tail = b""
        self.count = 0

    def feed(self, chunk: bytes) -> int:
        if self.keep:
            data = self.tail + chunk
            self.tail = data[-self.keep :]
        else:
            data = chunk
        self.count += data.count(self.separator)
        return self.count


class _Meter:
    """Bytes and form fields of one body, refused the moment either crosses its limit."""

    def __init__(self, headers: dict[bytes, bytes], max_bytes: float, max_fields: int) -> None:
        self.max_bytes = max_bytes
        self.max_fields = max_fields
        self.seen = 0
        content_type, options = parse_content_header(
            headers.get(b"content-type", b"").decode("latin-1")
        )
        self.fields: _Separators | None = None
        self.first_field = 1  # fields = separators + first_field
        if content_type == "application/x-www-form-urlencoded":
            self.fields = _Separators(b"&")
        elif content_type == "multipart/form-data" and options.get("boundary"):
            # Every part starts with a delimiter; the closing one ends the last part.
            self.fields = _Separators(b"--" + options["boundary"].encode("latin-1"))
            self.first_field = -1

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.seen += len(chunk)
        if self.seen > self.max_bytes:
            raise BodyTooLarge(int(self.max_bytes))
        if self.fields is not None:
            if self.fields.feed(chunk) + self.first_field > self.max_fields:
                raise TooManyFields(self.max_fields)


def _check_path_ids(scope: Scope) -> None:
    for value in (scope.get("path_params") or {}).values():
        if type(value) is int and not 0 <= value <= ID_MAX:
            raise NotFoundException()


def _has_cookie(headers: dict[bytes, bytes], name: str) -> bool:
    raw = headers.get(b"cookie")
    return bool(raw) and bool(parse_cookie_string(raw.decode("latin-1")).get(name))


class RequestLimits:
    """Pure ASGI middleware: body size, form fields and path ids, checked before parsing."""

    def __init__(self, app: ASGIApp, *, session_cookie: str) -> None:
        self.app = app
        self.session_cookie = session_cookie

    def _limits(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[float, int]:
        handler = scope.get("route_handler")
        if handler is None:
            return FORM_BYTES, MAX_FIELDS
        max_bytes = handler.resolve_request_max_body_size() or math.inf
        max_fields = int(handler.opt.get(MAX_FIELDS_OPT, MAX_FIELDS))
        if (
            max_bytes > FORM_BYTES
            and handler.resolve_guards()
            and not _has_cookie(headers, self.session_cookie)
        ):
            max_bytes, max_fields = FORM_BYTES, min(max_fields, MAX_FIELDS)
        return max_bytes, max_fields

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        _check_path_ids(scope)
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.lower(), value)
        announced = headers.get(b"content-length")
        has_body = (announced is not None and announced.strip() not in (b"", b"0")) or (
            b"transfer-encoding" in headers
        )
        if not has_body:  # most requests (every GET): nothing to measure
            await self.app(scope, receive, send)
            return
        max_bytes, max_fields = self._limits(scope, headers)
        if announced is not None and announced.strip().isdigit() and int(announced) > max_bytes:
            raise BodyTooLarge(int(max_bytes))
        meter = _Meter(headers, max_bytes, max_fields)
        if max_bytes <= BUFFER_BYTES:
            body = await self._read_all(receive, meter)
            if body is None:
                return  # the client went away: nobody to answer
            await self.app(scope, _replay(body, receive), send)
            return
        await self.app(scope, _metered(receive, meter), send)

    @staticmethod
    async def _read_all(receive: Receive, meter: _Meter) -> bytes | None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            meter.feed(chunk)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, when it comes

    return replay


def _metered(receive: Receive, meter: _Meter) -> Receive:
    async def metered() -> Any:
        message = await receive()
        if message["type"] == "http.request":
            meter.feed(message.get("body", b""))
        return message

    return metered

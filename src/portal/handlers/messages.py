"""My Messages at /messages: threads with the practice, compose, reply, attachments.

The compose and reply forms are plain multipart forms: without JavaScript they
post, and the handler answers 303 (success) or the page re-rendered with the
typed text kept (422 for a draft that cannot be sent, 403 once the client's file
is closed). `static/upload.js` sends the same form with XMLHttpRequest (for its
upload progress; htmx 4's fetch has none) and the `HX-Request` header, so the
same handler answers with the fragment to swap: the thread after a reply, the
compose form with its errors, or `HX-Redirect` to a new thread.

The menu's unread badge is one of portal.core.menu's counts (registered in
portal.app from portal.messaging.threads): one query per full page for every
badge, none for fragments.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.core import uploads
from portal.core.actor import Actor
from portal.core.db import parse_id
from portal.core.errors import Invalid, Refused
from portal.handlers.base import done, provide_client, render, signed_in
from portal.handlers.errors import status_of
from portal.handlers.limits import upload_bytes
from portal.messaging import recipients, sending, threads
from portal.messaging.sending import MAX_ATTACHMENTS, MAX_BODY, MAX_SUBJECT, Upload
from portal.messaging.threads import ThreadView

# Redirects carry a key, never the text.
NOTICES = {"sent": "Your message was sent."}


async def read_message_form(request: Request) -> tuple[dict[str, str], list[Upload]]:
    """The text fields (as typed, bounded) and the attached files (at most 10 MB + 1 read)."""
    form = await request.form()
    text = {
        "to": str(form.get("to", "")).strip()[:20],
        "subject": str(form.get("subject", ""))[: MAX_SUBJECT * 2],
        "body": str(form.get("body", ""))[: MAX_BODY * 2],
    }
    files: list[Upload] = []
    for item in form.getall("attachments", []):
        if not isinstance(item, UploadFile):
            continue
        # One byte past the limit is enough to refuse it; the rest need not be read.
        data = await item.read(uploads.MAX_BYTES + 1)
        if not item.filename and not data:
            continue  # the file input left empty
        files.append(Upload(item.filename or "file", data))
    return text, files


class MessagesController(Controller):
    path = "/messages"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    @get("/")
    async def index(self, request: Request, client: NamedDependency[dict]) -> Template:
        return await render(
            request,
            "pages/messaging/index.html",
            {
                "threads": await threads.threads(client, request.user.id),
                "may_send": recipients.may_send(client),
            },
            fragment="partials/messaging/list.html",
        )

    async def _compose(
        self, request: Request, client: dict, draft: dict, *, errors: dict | None = None,
        status_code: int = 200,
    ) -> Template:  # fmt: skip
        return await render(
            request,
            "pages/messaging/new.html",
            {
                "recipients": await recipients.recipients(client),
                "may_send": recipients.may_send(client),
                "draft": draft,
                "errors": errors or {},
                **message_limits(),
            },
            fragment="partials/messaging/compose.html",
            status_code=status_code,
        )

    @get("/new")
    async def new(
        self, request: Request, client: NamedDependency[dict], to: FromQuery[str] = ""
    ) -> Template:
        draft = {"to": parse_id(to), "subject": "", "body": ""}
        return await self._compose(request, client, draft)

    @post("/", status_code=200, request_max_body_size=upload_bytes(MAX_ATTACHMENTS))
    async def create(
        self, request: Request, client: NamedDependency[dict], actor: NamedDependency[Actor]
    ) -> Response:
        text, files = await read_message_form(request)
        to = parse_id(text["to"])
        try:
            thread_id = await sending.start_thread(
                client, actor=actor, to=to, subject=text["subject"], body=text["body"], files=files
            )
        except (Invalid, Refused) as exc:
            draft = {"to": to, "subject": text["subject"], "body": text["body"]}
            return await self._compose(
                request, client, draft, errors=exc.errors, status_code=status_of(exc)
            )
        target = f"/messages/{thread_id}?done=sent"

        async def fragment() -> Response:
            return Response(b"", status_code=200, headers={"HX-Redirect": target})

        return await done(request, target, fragment)

    async def _thread(
        self, request: Request, client: dict, view: ThreadView, *, notice: str = "",
        errors: dict | None = None, body: str = "", status_code: int = 200,
    ) -> Template:  # fmt: skip
        return await render(
            request,
            "pages/messaging/thread.html",
            {
                "thread": view,
                "may_send": recipients.may_send(client),
                "notice": notice,
                "errors": errors or {},
                "draft": {"body": body},
                **message_limits(),
            },
            fragment="partials/messaging/thread.html",
            status_code=status_code,
        )

    @get("/{thread_id:int}")
    async def show(
        self, request: Request, thread_id: FromPath[int], client: NamedDependency[dict],
        done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        view = await threads.open_thread(thread_id, client, request.user.id)
        return await self._thread(request, client, view, notice=NOTICES.get(done, ""))

    @post(
        "/{thread_id:int}/reply",
        status_code=200,
        request_max_body_size=upload_bytes(MAX_ATTACHMENTS),
    )
    async def reply(
        self, request: Request, thread_id: FromPath[int], client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        text, files = await read_message_form(request)
        try:
            await sending.reply(thread_id, actor=actor, body=text["body"], files=files)
        except (Invalid, Refused) as exc:  # NotFound (not their thread) goes on: 404
            view = await threads.thread_view(thread_id, client, request.user.id)
            return await self._thread(
                request, client, view, errors=exc.errors, body=text["body"],
                status_code=status_of(exc),
            )  # fmt: skip

        async def fragment() -> Response:
            view = await threads.thread_view(thread_id, client, request.user.id)
            return await self._thread(request, client, view, notice=NOTICES["sent"])

        return await done(request, f"/messages/{thread_id}?done=sent#reply", fragment)

    @get("/attachments/{attachment_id:int}")
    async def download(
        self, attachment_id: FromPath[int], actor: NamedDependency[Actor]
    ) -> Response:
        """For the thread's two participants only (client or staff); anyone else: 404."""
        row = await threads.download(attachment_id, actor=actor)
        return Response(
            row["data"], media_type=row["content_type"], headers=uploads.download_headers(row)
        )


def message_limits() -> dict:
    """The attachment and length limits the compose and reply forms show (and check)."""
    return {
        "max_bytes": uploads.MAX_BYTES,
        "max_files": MAX_ATTACHMENTS,
        "max_body": MAX_BODY,
        "max_subject": MAX_SUBJECT,
        "kinds": ", ".join(uploads.DOCUMENT_TYPES.values()),
    }

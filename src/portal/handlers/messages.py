"""My Messages at /messages: threads with the practice, compose, reply, attachments.

The compose and reply forms are plain multipart forms: without JavaScript they
post, and the handler answers 303 (success) or 422 with the page re-rendered and
the typed text kept. `static/upload.js` sends the same form with XMLHttpRequest
(for its upload progress; htmx 4's fetch has none) and the `HX-Request` header,
so the same handler answers with the fragment to swap: the thread after a reply,
the compose form with its errors, or `HX-Redirect` to a new thread.

The menu's unread badge is one of portal.core.menu's counts (registered in
portal.messaging.threads): one query per full page for every badge, none for fragments.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.accounts.clients import provide_client
from portal.core import audit, uploads
from portal.handlers.base import client_ip, is_fragment_request, render, signed_in
from portal.messaging import threads as messaging
from portal.practice.info import PracticeInfo
from portal.settings import Settings

# Redirects carry a key, never the text.
NOTICES = {"sent": "Your message was sent."}
DAMAGED = (
    "This file is damaged and cannot be downloaded. Please tell the practice so they can "
    "send it again."
)


async def _read_form(request: Request) -> tuple[dict[str, str], list[messaging.Upload]]:
    """The text fields (as typed, bounded) and the attached files (at most 10 MB + 1 read)."""
    form = await request.form()
    text = {
        "to": str(form.get("to", "")).strip()[:20],
        "subject": str(form.get("subject", ""))[: messaging.MAX_SUBJECT * 2],
        "body": str(form.get("body", ""))[: messaging.MAX_BODY * 2],
    }
    files: list[messaging.Upload] = []
    for item in form.getall("attachments", []):
        if not isinstance(item, UploadFile):
            continue
        # One byte past the limit is enough to refuse it; the rest need not be read.
        data = await item.read(uploads.MAX_BYTES + 1)
        if not item.filename and not data:
            continue  # the file input left empty
        files.append(messaging.Upload(item.filename or "file", data))
    return text, files


def _portal_url(settings: Settings) -> str:
    return settings.server.public_url.rstrip("/")


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
                "threads": await messaging.threads(client, request.user.id),
                "may_send": messaging.may_send(client),
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
                "recipients": await messaging.recipients(client),
                "may_send": messaging.may_send(client),
                "draft": draft,
                "errors": errors or {},
                **_limits(),
            },
            fragment="partials/messaging/compose.html",
            status_code=status_code,
        )

    @get("/new")
    async def new(
        self, request: Request, client: NamedDependency[dict], to: FromQuery[str] = ""
    ) -> Template:
        draft = {"to": int(to) if to.isdigit() else None, "subject": "", "body": ""}
        return await self._compose(request, client, draft)

    @post("/", status_code=200)
    async def create(
        self, request: Request, client: NamedDependency[dict], practice: NamedDependency[PracticeInfo],
        settings: NamedDependency[Settings],
    ) -> Template | Redirect | Response:  # fmt: skip
        text, files = await _read_form(request)
        to = int(text["to"]) if text["to"].isdigit() else None
        try:
            thread_id = await messaging.start_thread(
                client, sender_id=request.user.id, to=to, subject=text["subject"], body=text["body"],
                files=files, ip=client_ip(request), practice_name=practice.name,
                portal_url=_portal_url(settings),
            )  # fmt: skip
        except messaging.DraftError as exc:
            draft = {"to": to, "subject": text["subject"], "body": text["body"]}
            return await self._compose(
                request, client, draft, errors=exc.errors, status_code=exc.status
            )
        target = f"/messages/{thread_id}?done=sent"
        if is_fragment_request(request):
            return Response(b"", status_code=200, headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)

    async def _thread(
        self, request: Request, client: dict, view: messaging.ThreadView, *, notice: str = "",
        errors: dict | None = None, body: str = "", status_code: int = 200,
    ) -> Template:  # fmt: skip
        return await render(
            request,
            "pages/messaging/thread.html",
            {
                "thread": view,
                "may_send": messaging.may_send(client),
                "notice": notice,
                "errors": errors or {},
                "draft": {"body": body},
                **_limits(),
            },
            fragment="partials/messaging/thread.html",
            status_code=status_code,
        )

    @get("/{thread_id:int}")
    async def show(
        self, request: Request, thread_id: FromPath[int], client: NamedDependency[dict],
        done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        view = await messaging.open_thread(thread_id, client, request.user.id)
        if view is None:
            raise NotFoundException("No such conversation.")
        return await self._thread(request, client, view, notice=NOTICES.get(done, ""))

    @post("/{thread_id:int}/reply", status_code=200)
    async def reply(
        self, request: Request, thread_id: FromPath[int], client: NamedDependency[dict],
        practice: NamedDependency[PracticeInfo], settings: NamedDependency[Settings],
    ) -> Template | Redirect:  # fmt: skip
        text, files = await _read_form(request)
        try:
            await messaging.reply(
                thread_id, sender_id=request.user.id, body=text["body"], files=files,
                ip=client_ip(request), practice_name=practice.name, portal_url=_portal_url(settings),
            )  # fmt: skip
        except LookupError as exc:  # another client's thread, or none
            raise NotFoundException("No such conversation.") from exc
        except messaging.DraftError as exc:
            view = await messaging.thread_view(thread_id, client, request.user.id)
            return await self._thread(
                request, client, view, errors=exc.errors, body=text["body"],
                status_code=exc.status,
            )  # fmt: skip
        if is_fragment_request(request):
            view = await messaging.thread_view(thread_id, client, request.user.id)
            return await self._thread(request, client, view, notice=NOTICES["sent"])
        return Redirect(f"/messages/{thread_id}?done=sent#reply", status_code=303)

    @get("/attachments/{attachment_id:int}")
    async def download(self, request: Request, attachment_id: FromPath[int]) -> Response:
        """For the thread's two participants only (client or staff); anyone else: 404."""
        try:
            row = await messaging.attachment_file(attachment_id, request.user.id)
        except uploads.IntegrityError as exc:
            await audit.record(
                "file.integrity_failed",
                actor_id=request.user.id,
                ip=client_ip(request),
                subject=f"message_attachment:{attachment_id}",
            )
            raise HTTPException(status_code=409, detail=DAMAGED) from exc
        if row is None:
            raise NotFoundException("No such file.")
        await audit.record(
            "message.attachment_downloaded",
            actor_id=request.user.id,
            ip=client_ip(request),
            subject=f"file:{row['id']}",
        )
        return Response(
            row["data"], media_type=row["content_type"], headers=uploads.download_headers(row)
        )


def _limits() -> dict:
    return {
        "max_bytes": uploads.MAX_BYTES,
        "max_files": messaging.MAX_ATTACHMENTS,
        "max_body": messaging.MAX_BODY,
        "max_subject": messaging.MAX_SUBJECT,
        "kinds": ", ".join(uploads.DOCUMENT_TYPES.values()),
    }

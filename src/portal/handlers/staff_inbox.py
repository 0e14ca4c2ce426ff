"""Staff › Inbox at /staff/inbox: the threads a staff member answers (portal.messaging.inbox),
one thread with its reply form, assigning and marking done (portal.messaging.staff_replies).

A thread outside the access policy's `thread_clause` is a 404 for every route here. The
reply form is the client's (a multipart form; `static/upload.js` sends it with
XMLHttpRequest and swaps `#inbox-thread`); assign and done are small forms that htmx posts
and swap `#handling`. Without JavaScript every form posts and the handler answers 303,
or the page again with the typed text kept (422).
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.core import uploads
from portal.core.actor import Actor
from portal.core.db import parse_id
from portal.core.errors import Invalid
from portal.handlers.base import done, form_text, render, staff_only
from portal.handlers.errors import status_of
from portal.handlers.messages import message_limits, read_message_form
from portal.messaging import inbox, staff_replies
from portal.messaging.staff_replies import StaffThread
from portal.staff.access import Staff

# Redirects carry a key, never text.
NOTICES = {
    "sent": "Your reply was sent. The client is told by mail, without its content.",
    "assigned": "The conversation was assigned.",
    "closed": "Marked done: it is out of the open inbox until the client writes again.",
    "reopened": "Reopened: it is back in the open inbox.",
}
LIST_NOTICES = {"assigned": "The conversation was assigned to someone else."}


def _thread_url(thread_id: int, key: str, anchor: str = "") -> str:
    return f"/staff/inbox/{thread_id}?done={key}{anchor}"


class InboxController(Controller):
    path = "/staff/inbox"
    guards = [staff_only]

    @get("/")
    async def index(
        self, request: Request, staff: NamedDependency[Staff], show: FromQuery[str] = "",
        page: FromQuery[str] = "1", done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        listing = await inbox.inbox(staff, show=show[:10], page=parse_id(page[:10]) or 1)
        return await render(
            request,
            "pages/staff/inbox/index.html",
            {
                "inbox": listing,
                "notice": LIST_NOTICES.get(done, ""),
                # The menu's badge is this count: not read twice (portal.handlers.menu).
                "menu_counts": {"inbox": listing.unread},
            },
            fragment="partials/staff/inbox/list.html",
        )

    async def _page(
        self, request: Request, thread: StaffThread, *, fragment: str, notice: str = "",
        handling_notice: str = "", errors: dict | None = None, body: str = "",
        handling_errors: dict | None = None, status_code: int = 200,
    ) -> Template:  # fmt: skip
        """The thread's page, or for htmx the fragment an action changed: the thread with
        its reply form (`notice`, `errors`), or the handling card (assign, done)."""
        return await render(
            request,
            "pages/staff/inbox/thread.html",
            {
                "thread": thread,
                "assignees": await inbox.assignable(
                    thread.client_id, thread.desk_key, thread.addressed_to
                ),
                "notice": notice,
                "handling_notice": handling_notice,
                "errors": errors or {},
                "handling_errors": handling_errors or {},
                "draft": {"body": body},
                **message_limits(),
            },
            fragment=fragment,
            status_code=status_code,
        )

    @get("/{thread_id:int}")
    async def show(
        self, request: Request, thread_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor], done: FromQuery[str] = "",
    ) -> Template:  # fmt: skip
        thread = await staff_replies.open_thread(staff, thread_id, actor)
        notice = NOTICES.get(done, "")
        return await self._page(
            request, thread, fragment="partials/staff/inbox/thread.html",
            notice=notice if done == "sent" else "",
            handling_notice="" if done == "sent" else notice,
        )  # fmt: skip

    @post("/{thread_id:int}/reply", status_code=200)
    async def reply(
        self, request: Request, thread_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        text, files = await read_message_form(request)
        fragment = "partials/staff/inbox/thread.html"
        try:
            await staff_replies.reply(staff, thread_id, actor=actor, body=text["body"], files=files)
        except Invalid as exc:  # NotFound (not theirs to read) goes on: 404
            thread = await staff_replies.view(staff, thread_id)
            return await self._page(
                request, thread, fragment=fragment, errors=exc.errors, body=text["body"],
                status_code=status_of(exc),
            )  # fmt: skip

        async def fragment_response() -> Response:
            thread = await staff_replies.view(staff, thread_id)
            return await self._page(request, thread, fragment=fragment, notice=NOTICES["sent"])

        return await done(request, _thread_url(thread_id, "sent", "#reply"), fragment_response)

    @post("/{thread_id:int}/assign", status_code=200)
    async def assign(
        self, request: Request, thread_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        form = await request.form()
        to = parse_id(form_text(form, "to", 20))
        fragment = "partials/staff/inbox/handling.html"
        try:
            still_mine = await staff_replies.assign(staff, thread_id, actor=actor, to=to)
        except Invalid as exc:
            thread = await staff_replies.view(staff, thread_id)
            return await self._page(
                request, thread, fragment=fragment, handling_errors=exc.errors,
                status_code=status_of(exc),
            )  # fmt: skip
        if not still_mine:  # handed on to someone else: this member may not read it now
            target = "/staff/inbox?done=assigned"

            async def gone() -> Response:
                return Response(b"", status_code=200, headers={"HX-Redirect": target})

            return await done(request, target, gone)

        async def fragment_response() -> Response:
            thread = await staff_replies.view(staff, thread_id)
            return await self._page(
                request, thread, fragment=fragment, handling_notice=NOTICES["assigned"]
            )

        return await done(request, _thread_url(thread_id, "assigned"), fragment_response)

    @post("/{thread_id:int}/done", status_code=200)
    async def mark_done(
        self, request: Request, thread_id: FromPath[int], staff: NamedDependency[Staff],
        actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        form = await request.form()
        closing = form_text(form, "state", 10) != "open"
        await staff_replies.set_done(staff, thread_id, actor=actor, done=closing)
        key = "closed" if closing else "reopened"

        async def fragment_response() -> Response:
            thread = await staff_replies.view(staff, thread_id)
            return await self._page(
                request, thread, fragment="partials/staff/inbox/handling.html",
                handling_notice=NOTICES[key],
            )  # fmt: skip

        return await done(request, _thread_url(thread_id, key), fragment_response)

    @get("/{thread_id:int}/attachments/{attachment_id:int}")
    async def download(
        self, thread_id: FromPath[int], attachment_id: FromPath[int],
        staff: NamedDependency[Staff], actor: NamedDependency[Actor],
    ) -> Response:  # fmt: skip
        row = await staff_replies.download(staff, thread_id, attachment_id, actor=actor)
        return Response(
            row["data"], media_type=row["content_type"], headers=uploads.download_headers(row)
        )

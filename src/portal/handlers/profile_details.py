"""My Profile's details: phone numbers, emails, reminder settings, contacts, photo ID.

Each section is a page of its own (`GET /profile/phones` ...: the whole page, or
for htmx the section area) and a fragment with its own forms. Every POST
answers the re-rendered section for htmx (422 with what was typed kept when
something is wrong), or without JavaScript a 303 to that section's page on
success and the section's page (422) with the message otherwise. The
rules are in `portal.profile` (one module per section); another client's rows
raise `NotFound`, which the app answers with a 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.core import uploads
from portal.core.actor import Actor
from portal.core.errors import Invalid
from portal.handlers.base import done, form_text, provide_client, signed_in
from portal.handlers.errors import status_of
from portal.handlers.limits import upload_bytes
from portal.handlers.profile import show_section
from portal.profile import contacts, emails, page, phones, photo_id, reminders

FRAGMENTS = {
    "phones": "partials/profile/phones.html",
    "emails": "partials/profile/emails.html",
    "reminders": "partials/profile/reminders.html",
    "contacts": "partials/profile/contacts.html",
    "photo_id": "partials/profile/photo_id.html",
}


async def _done(
    request: Request, client: dict, section: str, key: str, notice: str = ""
) -> Response:
    """Success: the section again for htmx (with its notice), a 303 to its page otherwise."""

    async def fragment() -> Template:
        context = await page.section_context(client["id"], section)
        text = notice or page.NOTICES[key][1]
        return Template(
            template_name=FRAGMENTS[section], context={**context, "detail_notice": {section: text}}
        )

    return await done(request, f"{page.DETAILS[section].url}?done={key}", fragment)


async def _invalid(
    request: Request, client: dict, section: str, exc: Invalid, form_state: dict[str, Any]
) -> Template:
    """Bad input: the section (or, without JavaScript, its page) with the messages, 422."""
    context = await page.section_context(client["id"], section)
    return await show_section(
        request,
        page.DETAILS[section],
        {**context, **form_state},
        fragment=FRAGMENTS[section],
        status_code=status_of(exc),
    )


async def _section(request: Request, client: dict, section: str, done: str) -> Template:
    """GET a section's page (or, for htmx, the section area): its own query only."""
    context = await page.section_context(client["id"], section)
    return await show_section(
        request, page.DETAILS[section], {**context, "detail_notice": page.notice_for(done)}
    )


class ProfileDetailsController(Controller):
    path = "/profile"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    # --- The section pages ------------------------------------------------------------------

    @get("/phones")
    async def phones_page(
        self, request: Request, client: NamedDependency[dict], done: FromQuery[str] = ""
    ) -> Template:
        return await _section(request, client, "phones", done)

    @get("/emails")
    async def emails_page(
        self, request: Request, client: NamedDependency[dict], done: FromQuery[str] = ""
    ) -> Template:
        return await _section(request, client, "emails", done)

    @get("/reminders")
    async def reminders_page(
        self, request: Request, client: NamedDependency[dict], done: FromQuery[str] = ""
    ) -> Template:
        return await _section(request, client, "reminders", done)

    @get("/contacts")
    async def contacts_page(
        self, request: Request, client: NamedDependency[dict], done: FromQuery[str] = ""
    ) -> Template:
        return await _section(request, client, "contacts", done)

    @get("/photo-id")
    async def photo_id_page(
        self, request: Request, client: NamedDependency[dict], done: FromQuery[str] = ""
    ) -> Template:
        return await _section(request, client, "photo_id", done)

    # --- Phones ---------------------------------------------------------------------------

    @post("/phones", status_code=200)
    async def add_phone(
        self, request: Request, client: NamedDependency[dict], actor: NamedDependency[Actor]
    ) -> Response:
        form = await request.form()
        kind, number = form_text(form, "kind", 10), form_text(form, "number", 40)
        try:
            await phones.add_phone(client["id"], kind, number, actor)
        except Invalid as exc:
            state = {"id": "new", "kind": kind, "number": number, "errors": exc.errors}
            return await _invalid(request, client, "phones", exc, {"phone_form": state})
        return await _done(request, client, "phones", "phone-added")

    @post("/phones/{phone_id:int}", status_code=200)
    async def change_phone(
        self,
        request: Request,
        phone_id: FromPath[int],
        client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Response:
        form = await request.form()
        kind, number = form_text(form, "kind", 10), form_text(form, "number", 40)
        try:
            await phones.change_phone(client["id"], phone_id, kind, number, actor)
        except Invalid as exc:
            state = {"id": phone_id, "kind": kind, "number": number, "errors": exc.errors}
            return await _invalid(request, client, "phones", exc, {"phone_form": state})
        return await _done(request, client, "phones", "phone-changed")

    @post("/phones/{phone_id:int}/delete", status_code=200)
    async def remove_phone(
        self,
        request: Request,
        phone_id: FromPath[int],
        client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Response:
        await phones.remove_phone(client["id"], phone_id, actor)
        return await _done(request, client, "phones", "phone-removed")

    # --- Emails ---------------------------------------------------------------------------

    @post("/emails", status_code=200)
    async def add_email(
        self, request: Request, client: NamedDependency[dict], actor: NamedDependency[Actor]
    ) -> Response:
        form = await request.form()
        address = form_text(form, "address", 300)
        primary = bool(form.get("primary"))
        try:
            await emails.add_email(client["id"], address, primary, actor)
        except Invalid as exc:
            state = {"address": address, "primary": primary, "errors": exc.errors}
            return await _invalid(request, client, "emails", exc, {"email_form": state})
        return await _done(request, client, "emails", "email-added")

    @post("/emails/{email_id:int}/primary", status_code=200)
    async def make_primary(
        self,
        request: Request,
        email_id: FromPath[int],
        client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Response:
        await emails.make_primary(client["id"], email_id, actor)
        return await _done(request, client, "emails", "email-primary")

    @post("/emails/{email_id:int}/delete", status_code=200)
    async def remove_email(
        self,
        request: Request,
        email_id: FromPath[int],
        client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Response:
        try:
            await emails.remove_email(client["id"], email_id, actor)
        except Invalid as exc:
            state = {"email_form": {"errors": exc.errors}}
            return await _invalid(request, client, "emails", exc, state)
        return await _done(request, client, "emails", "email-removed")

    # --- Reminder settings ----------------------------------------------------------------

    @post("/reminders", status_code=200)
    async def save_reminders(
        self, request: Request, client: NamedDependency[dict], actor: NamedDependency[Actor]
    ) -> Response:
        form = await request.form()
        channel = form_text(form, "channel", 10)
        days = form_text(form, "days_before", 3)
        rows = [
            {
                "name": form_text(form, f"r{i}_name", 200),
                "email": form_text(form, f"r{i}_email", 300),
                "phone": form_text(form, f"r{i}_phone", 40),
                "remove": form_text(form, f"r{i}_remove", 3),
            }
            for i in range(reminders.MAX_RECIPIENTS + 1)
        ]
        try:
            await reminders.save_reminders(client["id"], channel, days, rows, actor)
        except Invalid as exc:
            # What was typed comes back, row for row (errors name rows by their index),
            # less the blank rows at the end.
            typed = list(rows)
            while typed and not (typed[-1]["name"] or typed[-1]["email"] or typed[-1]["phone"]):
                typed.pop()
            state = {"channel": channel, "days_before": days, "rows": typed, "errors": exc.errors}
            return await _invalid(request, client, "reminders", exc, {"reminder_form": state})
        return await _done(request, client, "reminders", "reminders")

    # --- Contacts -------------------------------------------------------------------------

    @post("/contacts", status_code=200)
    async def add_contact(
        self, request: Request, client: NamedDependency[dict], actor: NamedDependency[Actor]
    ) -> Response:
        form = _contact_form(await request.form())
        try:
            replaced = await contacts.add_contact(client["id"], form, actor)
        except Invalid as exc:
            state = {"id": "new", **form, "errors": exc.errors}
            return await _invalid(request, client, "contacts", exc, {"contact_form": state})
        key = "contact-party" if replaced else "contact-added"
        notice = page.party_notice(form["name"], replaced)
        return await _done(request, client, "contacts", key, notice)

    @post("/contacts/{contact_id:int}", status_code=200)
    async def change_contact(
        self,
        request: Request,
        contact_id: FromPath[int],
        client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Response:
        form = _contact_form(await request.form())
        try:
            replaced = await contacts.change_contact(client["id"], contact_id, form, actor)
        except Invalid as exc:
            state = {"id": contact_id, **form, "errors": exc.errors}
            return await _invalid(request, client, "contacts", exc, {"contact_form": state})
        key = "contact-party" if replaced else "contact-changed"
        notice = page.party_notice(form["name"], replaced)
        return await _done(request, client, "contacts", key, notice)

    @post("/contacts/{contact_id:int}/delete", status_code=200)
    async def remove_contact(
        self,
        request: Request,
        contact_id: FromPath[int],
        client: NamedDependency[dict],
        actor: NamedDependency[Actor],
    ) -> Response:
        await contacts.remove_contact(client["id"], contact_id, actor)
        return await _done(request, client, "contacts", "contact-removed")

    # --- Photo ID -------------------------------------------------------------------------

    @post("/photo-id", status_code=200, request_max_body_size=upload_bytes(len(photo_id.SIDES)))
    async def replace_photo_id(
        self, request: Request, client: NamedDependency[dict], actor: NamedDependency[Actor]
    ) -> Response:
        form = await request.form()
        files: dict[str, tuple[str, bytes]] = {}
        for side in photo_id.SIDES:
            upload = form.get(side)
            if isinstance(upload, UploadFile) and upload.filename:
                files[side] = (upload.filename, await upload.read(uploads.MAX_BYTES + 1))
        try:
            await photo_id.replace_photo_id(client["id"], files, actor)
        except Invalid as exc:
            state = {"photo_id_errors": exc.errors}
            return await _invalid(request, client, "photo_id", exc, state)
        return await _done(request, client, "photo_id", "photo-id")

    @get("/photo-id/{side:str}")
    async def photo_id_image(
        self, side: FromPath[str], client: NamedDependency[dict]
    ) -> Response[bytes]:
        row = await photo_id.photo_id_image(client["id"], side)
        return Response(
            row["data"], media_type=row["content_type"], headers=uploads.download_headers(row)
        )


def _contact_form(form: Any) -> dict[str, Any]:
    return {
        "name": form_text(form, "name", 200),
        "relationship": form_text(form, "relationship", 100),
        "phone": form_text(form, "phone", 40),
        "email": form_text(form, "email", 300),
        "is_responsible_party": bool(form.get("is_responsible_party")),
        "responsible_for_payment": bool(form.get("responsible_for_payment")),
    }

"""My Profile's details: phone numbers, emails, reminder settings, contacts, photo ID.

Each section of the profile page is a fragment with its own forms. Every POST
answers the re-rendered section for htmx (422 with what was typed kept when
something is wrong), or without JavaScript a 303 to `/profile` on success and
the whole profile page (422) with the message in its section otherwise. The
rules are in `portal.profile.details`; another client's rows answer 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts import twofactor
from portal.accounts.clients import provide_client
from portal.core import uploads
from portal.handlers.base import client_ip, form_text, is_fragment_request, render, signed_in
from portal.profile import details as profile_details
from portal.profile.details import Invalid, NotFound
from portal.tables import User

FRAGMENTS = {
    "phones": "partials/profile/phones.html",
    "emails": "partials/profile/emails.html",
    "reminders": "partials/profile/reminders.html",
    "contacts": "partials/profile/contacts.html",
    "photo_id": "partials/profile/photo_id.html",
}
ANCHORS = {"photo_id": "photo-id"}


async def _page_context(request: Request, client: dict) -> dict:
    """The whole profile page, as `ProfileController.profile` shows it (no-JS error pages)."""
    account = (
        await User.select(User.username, User.email, User.totp_enabled_at)
        .where(User.id == request.user.id)
        .first()
    )
    return {
        "account": account,
        "client": client,
        "notice": "",
        "recovery_left": await twofactor.recovery_codes_left(request.user.id),
        **await profile_details.context_for(client),
    }


async def _done(request: Request, client: dict, section: str, key: str, notice: str = ""):
    """Success: the section again for htmx (with its notice), a 303 to /profile otherwise."""
    if is_fragment_request(request):
        context = await profile_details.section_context(client["id"], section)
        text = notice or profile_details.NOTICES[key][1]
        return Template(
            template_name=FRAGMENTS[section], context={**context, "detail_notice": {section: text}}
        )
    return Redirect(f"/profile?done={key}#{ANCHORS.get(section, section)}", status_code=303)


async def _invalid(request: Request, client: dict, section: str, form_state: dict[str, Any]):
    """Bad input: the section (or, without JavaScript, the page) with the messages, 422."""
    if is_fragment_request(request):
        context = await profile_details.section_context(client["id"], section)
    else:
        context = await _page_context(request, client)
    return await render(
        request,
        "pages/profile/index.html",
        {**context, **form_state},
        fragment=FRAGMENTS[section],
        status_code=422,
    )


def _not_found(exc: NotFound) -> NotFoundException:
    return NotFoundException("There is no such item in your profile.")


class ProfileDetailsController(Controller):
    path = "/profile"
    guards = [signed_in]
    dependencies = {"client": Provide(provide_client)}

    # --- Phones ---------------------------------------------------------------------------

    @post("/phones", status_code=200)
    async def add_phone(
        self, request: Request, client: NamedDependency[dict]
    ) -> Template | Redirect:
        form = await request.form()
        kind, number = form_text(form, "kind", 10), form_text(form, "number", 40)
        try:
            await profile_details.add_phone(
                client["id"], kind, number, actor_id=request.user.id, ip=client_ip(request)
            )
        except Invalid as exc:
            state = {"id": "new", "kind": kind, "number": number, "errors": exc.errors}
            return await _invalid(request, client, "phones", {"phone_form": state})
        return await _done(request, client, "phones", "phone-added")

    @post("/phones/{phone_id:int}", status_code=200)
    async def change_phone(
        self, request: Request, phone_id: FromPath[int], client: NamedDependency[dict]
    ) -> Template | Redirect:
        form = await request.form()
        kind, number = form_text(form, "kind", 10), form_text(form, "number", 40)
        try:
            await profile_details.change_phone(
                client["id"],
                phone_id,
                kind,
                number,
                actor_id=request.user.id,
                ip=client_ip(request),
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        except Invalid as exc:
            state = {"id": phone_id, "kind": kind, "number": number, "errors": exc.errors}
            return await _invalid(request, client, "phones", {"phone_form": state})
        return await _done(request, client, "phones", "phone-changed")

    @post("/phones/{phone_id:int}/delete", status_code=200)
    async def remove_phone(
        self, request: Request, phone_id: FromPath[int], client: NamedDependency[dict]
    ) -> Template | Redirect:
        try:
            await profile_details.remove_phone(
                client["id"], phone_id, actor_id=request.user.id, ip=client_ip(request)
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        return await _done(request, client, "phones", "phone-removed")

    # --- Emails ---------------------------------------------------------------------------

    @post("/emails", status_code=200)
    async def add_email(
        self, request: Request, client: NamedDependency[dict]
    ) -> Template | Redirect:
        form = await request.form()
        address = form_text(form, "address", 300)
        primary = bool(form.get("primary"))
        try:
            await profile_details.add_email(
                client["id"], address, primary, actor_id=request.user.id, ip=client_ip(request)
            )
        except Invalid as exc:
            state = {"address": address, "primary": primary, "errors": exc.errors}
            return await _invalid(request, client, "emails", {"email_form": state})
        return await _done(request, client, "emails", "email-added")

    @post("/emails/{email_id:int}/primary", status_code=200)
    async def make_primary(
        self, request: Request, email_id: FromPath[int], client: NamedDependency[dict]
    ) -> Template | Redirect:
        try:
            await profile_details.make_primary(
                client["id"], email_id, actor_id=request.user.id, ip=client_ip(request)
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        return await _done(request, client, "emails", "email-primary")

    @post("/emails/{email_id:int}/delete", status_code=200)
    async def remove_email(
        self, request: Request, email_id: FromPath[int], client: NamedDependency[dict]
    ) -> Template | Redirect:
        try:
            await profile_details.remove_email(
                client["id"], email_id, actor_id=request.user.id, ip=client_ip(request)
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        except Invalid as exc:
            return await _invalid(request, client, "emails", {"email_form": {"errors": exc.errors}})
        return await _done(request, client, "emails", "email-removed")

    # --- Reminder settings ----------------------------------------------------------------

    @post("/reminders", status_code=200)
    async def save_reminders(
        self, request: Request, client: NamedDependency[dict]
    ) -> Template | Redirect:
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
            for i in range(profile_details.MAX_RECIPIENTS + 1)
        ]
        try:
            await profile_details.save_reminders(
                client["id"], channel, days, rows, actor_id=request.user.id, ip=client_ip(request)
            )
        except Invalid as exc:
            # What was typed comes back, row for row (errors name rows by their index),
            # less the blank rows at the end.
            typed = list(rows)
            while typed and not (typed[-1]["name"] or typed[-1]["email"] or typed[-1]["phone"]):
                typed.pop()
            state = {"channel": channel, "days_before": days, "rows": typed, "errors": exc.errors}
            return await _invalid(request, client, "reminders", {"reminder_form": state})
        return await _done(request, client, "reminders", "reminders")

    # --- Contacts -------------------------------------------------------------------------

    @post("/contacts", status_code=200)
    async def add_contact(
        self, request: Request, client: NamedDependency[dict]
    ) -> Template | Redirect:
        form = _contact_form(await request.form())
        try:
            replaced = await profile_details.add_contact(
                client["id"], form, actor_id=request.user.id, ip=client_ip(request)
            )
        except Invalid as exc:
            state = {"id": "new", **form, "errors": exc.errors}
            return await _invalid(request, client, "contacts", {"contact_form": state})
        key = "contact-party" if replaced else "contact-added"
        return await _done(request, client, "contacts", key, _party_notice(form, replaced))

    @post("/contacts/{contact_id:int}", status_code=200)
    async def change_contact(
        self, request: Request, contact_id: FromPath[int], client: NamedDependency[dict]
    ) -> Template | Redirect:
        form = _contact_form(await request.form())
        try:
            replaced = await profile_details.change_contact(
                client["id"], contact_id, form, actor_id=request.user.id, ip=client_ip(request)
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        except Invalid as exc:
            state = {"id": contact_id, **form, "errors": exc.errors}
            return await _invalid(request, client, "contacts", {"contact_form": state})
        key = "contact-party" if replaced else "contact-changed"
        return await _done(request, client, "contacts", key, _party_notice(form, replaced))

    @post("/contacts/{contact_id:int}/delete", status_code=200)
    async def remove_contact(
        self, request: Request, contact_id: FromPath[int], client: NamedDependency[dict]
    ) -> Template | Redirect:
        try:
            await profile_details.remove_contact(
                client["id"], contact_id, actor_id=request.user.id, ip=client_ip(request)
            )
        except NotFound as exc:
            raise _not_found(exc) from exc
        return await _done(request, client, "contacts", "contact-removed")

    # --- Photo ID -------------------------------------------------------------------------

    @post("/photo-id", status_code=200)
    async def replace_photo_id(
        self, request: Request, client: NamedDependency[dict]
    ) -> Template | Redirect:
        form = await request.form()
        images: dict[str, uploads.Checked] = {}
        errors: dict[str, str] = {}
        for side, label in profile_details.SIDES.items():
            upload = form.get(side)
            if not isinstance(upload, UploadFile) or not upload.filename:
                continue
            data = await upload.read(uploads.MAX_BYTES + 1)
            try:
                images[side] = uploads.check(
                    data, upload.filename or f"{label} image", allowed=uploads.IMAGE_TYPES
                )
            except uploads.UploadError as exc:
                errors[side] = str(exc)
        if not images and not errors:
            errors["front"] = "Choose an image of the front or the back of your ID."
        if not errors:
            try:
                await profile_details.replace_photo_id(
                    client["id"], images, actor_id=request.user.id, ip=client_ip(request)
                )
            except Invalid as exc:
                errors = exc.errors
        if errors:
            return await _invalid(request, client, "photo_id", {"photo_id_errors": errors})
        return await _done(request, client, "photo_id", "photo-id")

    @get("/photo-id/{side:str}")
    async def photo_id_image(
        self, side: FromPath[str], client: NamedDependency[dict]
    ) -> Response[bytes]:
        row = await profile_details.photo_id_image(client["id"], side)
        if row is None:
            raise NotFoundException("There is no image of that side of your ID.")
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


def _party_notice(form: dict, replaced: str) -> str:
    """Names who took over as the responsible party (htmx; the no-JS notice names no one)."""
    if replaced:
        return f"Contact saved. {form['name']} is now your responsible party instead of {replaced}."
    return ""

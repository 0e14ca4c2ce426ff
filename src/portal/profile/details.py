"""My Profile's details a client keeps up to date: phones, emails, reminders, contacts, photo ID.

Rules live here; handlers only parse the form and render. Every function is
scoped to one client: a row of another client is `NotFound`, never touched.
Bad input raises `Invalid` with one message per field (keyed by the form's
field names) and writes nothing. Every change is audited with its old and new
values (`audit.record`, a table staff review — never the logs).

Phone numbers are parsed with `phonenumbers` (Google's libphonenumber data) in
the practice's country and stored in E.164 (`+16175550142`). Custom client
demographics (`CustomField`) are staff-only: nothing here reads them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import phonenumbers
from piccolo.engine.sqlite import TransactionType

from portal.core import audit, uploads
from portal.core.clock import utcnow
from portal.tables import (
    Client,
    ClientContact,
    ClientEmail,
    ClientPhone,
    PhotoId,
    ReminderSettings,
    StoredFile,
)

# The practice's country: numbers typed without a country code are read as its numbers.
# (The practice table has no country yet; the portal serves US practices.)
DEFAULT_REGION = "US"

PHONE_KINDS = {"mobile": "Mobile", "home": "Home", "work": "Work"}
CHANNELS = {
    "email": "Email",
    "text": "Text message",
    "both": "Email and text message",
    "none": "No reminders",
}
DAYS_BEFORE = range(1, 6)
SIDES = {"front": "Front", "back": "Back"}

MAX_PHONES = 10
MAX_EMAILS = 10
MAX_CONTACTS = 20
MAX_RECIPIENTS = 5

# What a finished change says, by the key a no-JS redirect carries (`/profile?done=KEY`).
# A key never carries words of its own, so a crafted link cannot put text in the page.
NOTICES: dict[str, tuple[str, str]] = {
    "phone-added": ("phones", "Phone number added."),
    "phone-changed": ("phones", "Phone number saved."),
    "phone-removed": ("phones", "Phone number removed."),
    "email-added": ("emails", "Email address added."),
    "email-primary": ("emails", "Your primary email address was changed."),
    "email-removed": ("emails", "Email address removed."),
    "reminders": ("reminders", "Reminder settings saved."),
    "contact-added": ("contacts", "Contact added."),
    "contact-changed": ("contacts", "Contact saved."),
    "contact-removed": ("contacts", "Contact removed."),
    "contact-party": ("contacts", "Contact saved. It is now your only responsible party."),
    "photo-id": ("photo_id", "Photo ID saved."),
}

PHONE_HELP = (
    "Enter a phone number like (617) 555-0142, or one starting with + and the country code."
)
EMAIL_HELP = "Enter an email address like name@example.com."
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f.]+$")


class Invalid(Exception):
    """Bad input: `errors` maps each form field to what the client reads."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class NotFound(Exception):
    """No such row for this client (another client's rows are not found either)."""


# --- Parsing ----------------------------------------------------------------------------------


def parse_phone(text: str, region: str = DEFAULT_REGION) -> str:
    """A typed phone number as E.164, or ValueError with what to fix."""
    text = text.strip()
    if not text:
        raise ValueError("Enter a phone number.")
    if len(text) > 40:
        raise ValueError("That is too long for a phone number.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError(PHONE_HELP) from None
    if number.extension:
        raise ValueError("Leave out the extension: enter the phone number only.")
    if not phonenumbers.is_valid_number(number):
        raise ValueError(
            "That is not a valid phone number. Check the digits, and the country code for a "
            "number outside the US."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str, region: str = DEFAULT_REGION) -> str:
    """How a stored number is shown: national in the practice's country, international otherwise."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == region
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def parse_email(text: str) -> str:
    """A typed email address, its domain lower-cased, or ValueError with what to fix."""
    text = text.strip()
    if not text:
        raise ValueError("Enter an email address.")
    if len(text) > 254 or not _EMAIL.match(text):
        raise ValueError(EMAIL_HELP)
    local, domain = text.rsplit("@", 1)
    if domain.startswith(("-", ".")) or ".." in domain:
        raise ValueError(EMAIL_HELP)
    return f"{local}@{domain.lower()}"


def _optional_phone(text: str, field: str, errors: dict[str, str]) -> str:
    if not text.strip():
        return ""
    try:
        return parse_phone(text)
    except ValueError as exc:
        errors[field] = str(exc)
        return ""


def _optional_email(text: str, field: str, errors: dict[str, str]) -> str:
    if not text.strip():
        return ""
    try:
        return parse_email(text)
    except ValueError as exc:
        errors[field] = str(exc)
        return ""


# --- Writing safely ---------------------------------------------------------------------------


@asynccontextmanager
async def _client_locked(client_id: int) -> AsyncIterator[None]:
    """One transaction in which this client's details change one writer at a time.

    PostgreSQL: the client's row is locked (FOR UPDATE). SQLite: an immediate
    transaction takes the write lock up front.
    """
    db = Client._meta.db
    if db.engine_type == "sqlite":
        async with db.transaction(transaction_type=TransactionType.immediate):
            yield
    else:
        async with db.transaction():
            await Client.select(Client.id).where(Client.id == client_id).lock_rows()
            yield


async def _audit(action: str, client_id: int, actor_id: int | None, ip: str, **detail: Any) -> None:
    await audit.record(
        action, actor_id=actor_id, ip=ip, subject=f"client:{client_id}", detail=detail
    )


# --- Phones -----------------------------------------------------------------------------------


async def phones(client_id: int) -> list[dict]:
    rows = (
        await ClientPhone.select(ClientPhone.id, ClientPhone.kind, ClientPhone.number)
        .where(ClientPhone.client == client_id)
        .order_by(ClientPhone.id)
    )
    for row in rows:
        row["display"] = display_phone(row["number"])
    return rows


def _phone_input(kind: str, number: str) -> tuple[str, str]:
    errors: dict[str, str] = {}
    if kind not in PHONE_KINDS:
        errors["kind"] = "Choose mobile, home or work."
    try:
        e164 = parse_phone(number)
    except ValueError as exc:
        errors["number"] = str(exc)
        e164 = ""
    if errors:
        raise Invalid(errors)
    return kind, e164


async def _phone(client_id: int, phone_id: int) -> dict:
    row = (
        await ClientPhone.select(ClientPhone.id, ClientPhone.kind, ClientPhone.number)
        .where((ClientPhone.id == phone_id) & (ClientPhone.client == client_id))
        .first()
    )
    if row is None:
        raise NotFound()
    return row


async def _phone_taken(client_id: int, e164: str, except_id: int | None = None) -> bool:
    query = ClientPhone.exists().where(
        (ClientPhone.client == client_id) & (ClientPhone.number == e164)
    )
    if except_id is not None:
        query = query.where(ClientPhone.id != except_id)
    return await query


async def add_phone(client_id: int, kind: str, number: str, *, actor_id: int, ip: str) -> None:
    kind, e164 = _phone_input(kind, number)
    async with _client_locked(client_id):
        if await ClientPhone.count().where(ClientPhone.client == client_id) >= MAX_PHONES:
            raise Invalid({"number": f"You can keep up to {MAX_PHONES} phone numbers."})
        if await _phone_taken(client_id, e164):
            raise Invalid({"number": "You already have this phone number."})
        await ClientPhone.insert(
            ClientPhone(client=client_id, kind=kind, number=e164, created_at=utcnow())
        )
        await _audit(
            "profile.phone_added", client_id, actor_id, ip, new={"kind": kind, "number": e164}
        )


async def change_phone(
    client_id: int, phone_id: int, kind: str, number: str, *, actor_id: int, ip: str
) -> None:
    await _phone(client_id, phone_id)
    kind, e164 = _phone_input(kind, number)
    async with _client_locked(client_id):
        old = await _phone(client_id, phone_id)
        if await _phone_taken(client_id, e164, except_id=phone_id):
            raise Invalid({"number": "You already have this phone number."})
        await ClientPhone.update({ClientPhone.kind: kind, ClientPhone.number: e164}).where(
            ClientPhone.id == phone_id
        )
        await _audit(
            "profile.phone_changed", client_id, actor_id, ip,
            old={"kind": old["kind"], "number": old["number"]}, new={"kind": kind, "number": e164},
        )  # fmt: skip


async def remove_phone(client_id: int, phone_id: int, *, actor_id: int, ip: str) -> None:
    async with _client_locked(client_id):
        old = await _phone(client_id, phone_id)
        await ClientPhone.delete().where(ClientPhone.id == phone_id)
        await _audit(
            "profile.phone_removed", client_id, actor_id, ip,
            old={"kind": old["kind"], "number": old["number"]},
        )  # fmt: skip


# --- Emails -----------------------------------------------------------------------------------


async def emails(client_id: int) -> list[dict]:
    return (
        await ClientEmail.select(ClientEmail.id, ClientEmail.address, ClientEmail.is_primary)
        .where(ClientEmail.client == client_id)
        .order_by(ClientEmail.is_primary, ascending=False)
        .order_by(ClientEmail.id)
    )


async def _email(client_id: int, email_id: int) -> dict:
    row = (
        await ClientEmail.select(ClientEmail.id, ClientEmail.address, ClientEmail.is_primary)
        .where((ClientEmail.id == email_id) & (ClientEmail.client == client_id))
        .first()
    )
    if row is None:
        raise NotFound()
    return row


async def _primary_address(client_id: int) -> str:
    row = (
        await ClientEmail.select(ClientEmail.address)
        .where((ClientEmail.client == client_id) & (ClientEmail.is_primary.eq(True)))
        .first()
    )
    return row["address"] if row else ""


async def add_email(
    client_id: int, address: str, make_primary: bool, *, actor_id: int, ip: str
) -> None:
    try:
        address = parse_email(address)
    except ValueError as exc:
        raise Invalid({"address": str(exc)}) from None
    async with _client_locked(client_id):
        existing = await emails(client_id)
        if len(existing) >= MAX_EMAILS:
            raise Invalid({"address": f"You can keep up to {MAX_EMAILS} email addresses."})
        if any(e["address"].lower() == address.lower() for e in existing):
            raise Invalid({"address": "You already have this email address."})
        old_primary = next((e["address"] for e in existing if e["is_primary"]), "")
        primary = make_primary or not old_primary
        if primary:
            await ClientEmail.update({ClientEmail.is_primary: False}).where(
                ClientEmail.client == client_id
            )
        await ClientEmail.insert(
            ClientEmail(client=client_id, address=address, is_primary=primary, created_at=utcnow())
        )
        await _audit(
            "profile.email_added", client_id, actor_id, ip,
            new={"address": address, "primary": primary},
            **({"old_primary": old_primary} if primary and old_primary else {}),
        )  # fmt: skip


async def make_primary(client_id: int, email_id: int, *, actor_id: int, ip: str) -> None:
    """This address becomes the primary one; every other stops being it (one transaction)."""
    async with _client_locked(client_id):
        row = await _email(client_id, email_id)
        if row["is_primary"]:
            return
        old = await _primary_address(client_id)
        await ClientEmail.update({ClientEmail.is_primary: False}).where(
            ClientEmail.client == client_id
        )
        await ClientEmail.update({ClientEmail.is_primary: True}).where(ClientEmail.id == email_id)
        await _audit(
            "profile.email_primary_changed", client_id, actor_id, ip,
            old={"primary": old}, new={"primary": row["address"]},
        )  # fmt: skip


async def remove_email(client_id: int, email_id: int, *, actor_id: int, ip: str) -> None:
    """Any address but the primary one (make another primary first)."""
    async with _client_locked(client_id):
        row = await _email(client_id, email_id)
        if row["is_primary"]:
            others = await ClientEmail.count().where(
                (ClientEmail.client == client_id) & (ClientEmail.id != email_id)
            )
            raise Invalid(
                {
                    f"email_{email_id}": (
                        "This is your primary address. Make another address primary first, "
                        "then remove this one."
                        if others
                        else "This is your only email address. Add another and make it "
                        "primary first, then remove this one."
                    )
                }
            )
        await ClientEmail.delete().where(ClientEmail.id == email_id)
        await _audit(
            "profile.email_removed", client_id, actor_id, ip, old={"address": row["address"]}
        )


# --- Reminder settings ------------------------------------------------------------------------

DEFAULT_REMINDERS = {"channel": "email", "days_before": 1, "recipients": []}


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


async def reminder_settings(client_id: int) -> dict:
    row = (
        await ReminderSettings.select(
            ReminderSettings.channel,
            ReminderSettings.days_before,
            ReminderSettings.extra_recipients,
        )
        .where(ReminderSettings.client == client_id)
        .first()
    )
    if row is None:
        return {**DEFAULT_REMINDERS, "recipients": []}
    recipients = _loads(row["extra_recipients"]) or []
    for r in recipients:
        r["phone_display"] = display_phone(r.get("phone", ""))
    return {
        "channel": row["channel"],
        "days_before": row["days_before"],
        "recipients": recipients,
    }


def parse_recipients(rows: list[Mapping[str, str]]) -> tuple[list[dict], dict[str, str]]:
    """The extra recipients as typed, row `i`'s fields named r{i}_name/email/phone.

    A row left blank, or ticked for removal, is dropped. Each kept row needs a name and
    an email address or a phone number (or both).
    """
    kept: list[dict] = []
    errors: dict[str, str] = {}
    for i, row in enumerate(rows):
        name = row.get("name", "").strip()
        email = row.get("email", "").strip()
        phone = row.get("phone", "").strip()
        if row.get("remove") or not (name or email or phone):
            continue
        if not name:
            errors[f"r{i}_name"] = "Enter this person's name."
        elif len(name) > 150:
            errors[f"r{i}_name"] = "Shorten the name to 150 characters or fewer."
        clean_email = _optional_email(email, f"r{i}_email", errors)
        clean_phone = _optional_phone(phone, f"r{i}_phone", errors)
        if not email and not phone:
            errors[f"r{i}_email"] = "Give an email address or a phone number for this person."
        kept.append({"name": name, "email": clean_email, "phone": clean_phone})
    if len(kept) > MAX_RECIPIENTS:
        errors["recipients"] = f"Add up to {MAX_RECIPIENTS} people."
    return kept, errors


async def save_reminders(
    client_id: int, channel: str, days_before: str, rows: list[Mapping[str, str]], *,
    actor_id: int, ip: str,
) -> None:  # fmt: skip
    errors: dict[str, str] = {}
    if channel not in CHANNELS:
        errors["channel"] = "Choose how to be reminded: email, text message, both or none."
    try:
        days = int(days_before)
    except ValueError:
        days = 0
    if days not in DAYS_BEFORE:
        errors["days_before"] = "Choose 1 to 5 days before the appointment."
    recipients, recipient_errors = parse_recipients(rows)
    errors |= recipient_errors
    if "channel" not in errors and channel in ("text", "both"):
        if not await ClientPhone.exists().where(
            (ClientPhone.client == client_id) & (ClientPhone.kind == "mobile")
        ):
            errors["channel"] = (
                "Text reminders need a mobile phone number: add one under Phone numbers first."
            )
    if "channel" not in errors and channel in ("email", "both"):
        if not await ClientEmail.exists().where(ClientEmail.client == client_id):
            errors["channel"] = (
                "Email reminders need an email address: add one under Email addresses first."
            )
    if errors:
        raise Invalid(errors)
    async with _client_locked(client_id):
        old = await reminder_settings(client_id)
        for r in old["recipients"]:
            r.pop("phone_display", None)
        values = {
            ReminderSettings.channel: channel,
            ReminderSettings.days_before: days,
            ReminderSettings.extra_recipients: recipients,
            ReminderSettings.updated_at: utcnow(),
        }
        if await ReminderSettings.exists().where(ReminderSettings.client == client_id):
            await ReminderSettings.update(values).where(ReminderSettings.client == client_id)
        else:
            await ReminderSettings.insert(
                ReminderSettings(
                    client=client_id,
                    channel=channel,
                    days_before=days,
                    extra_recipients=recipients,
                    updated_at=utcnow(),
                )  # fmt: skip
            )
        await _audit(
            "profile.reminders_changed", client_id, actor_id, ip,
            old=old, new={"channel": channel, "days_before": days, "recipients": recipients},
        )  # fmt: skip


# --- Contacts ---------------------------------------------------------------------------------

_CONTACT_COLUMNS = (
    ClientContact.id,
    ClientContact.name,
    ClientContact.relationship,
    ClientContact.phone,
    ClientContact.email,
    ClientContact.is_responsible_party,
    ClientContact.responsible_for_payment,
)
_CONTACT_FIELDS = (
    "name", "relationship", "phone", "email", "is_responsible_party", "responsible_for_payment",
)  # fmt: skip


async def contacts(client_id: int) -> list[dict]:
    rows = (
        await ClientContact.select(*_CONTACT_COLUMNS)
        .where(ClientContact.client == client_id)
        .order_by(ClientContact.is_responsible_party, ascending=False)
        .order_by(ClientContact.id)
    )
    for row in rows:
        row["phone_display"] = display_phone(row["phone"])
    return rows


async def _contact(client_id: int, contact_id: int) -> dict:
    row = (
        await ClientContact.select(*_CONTACT_COLUMNS)
        .where((ClientContact.id == contact_id) & (ClientContact.client == client_id))
        .first()
    )
    if row is None:
        raise NotFound()
    return row


def parse_contact(form: Mapping[str, Any]) -> dict:
    """The contact form's fields, checked; raises Invalid."""
    errors: dict[str, str] = {}
    name = str(form.get("name", "")).strip()
    relationship = str(form.get("relationship", "")).strip()
    phone_text = str(form.get("phone", "")).strip()
    email_text = str(form.get("email", "")).strip()
    if not name:
        errors["name"] = "Enter the contact's name."
    elif len(name) > 150:
        errors["name"] = "Shorten the name to 150 characters or fewer."
    if len(relationship) > 60:
        errors["relationship"] = "Shorten the relationship to 60 characters or fewer."
    phone = _optional_phone(phone_text, "phone", errors)
    email = _optional_email(email_text, "email", errors)
    if not phone_text and not email_text:
        errors["phone"] = "Give a phone number or an email address so the practice can reach them."
    if errors:
        raise Invalid(errors)
    return {
        "name": name,
        "relationship": relationship,
        "phone": phone,
        "email": email,
        "is_responsible_party": bool(form.get("is_responsible_party")),
        "responsible_for_payment": bool(form.get("responsible_for_payment")),
    }


async def _only_responsible_party(client_id: int, contact_id: int) -> str:
    """Clear the flag on every other contact; returns the name of the one that had it."""
    previous = (
        await ClientContact.select(ClientContact.name)
        .where(
            (ClientContact.client == client_id)
            & (ClientContact.is_responsible_party.eq(True))
            & (ClientContact.id != contact_id)
        )
        .first()
    )
    await ClientContact.update({ClientContact.is_responsible_party: False}).where(
        (ClientContact.client == client_id) & (ClientContact.id != contact_id)
    )
    return previous["name"] if previous else ""


async def add_contact(client_id: int, form: Mapping[str, Any], *, actor_id: int, ip: str) -> str:
    """Returns the name of the contact that stopped being the responsible party, if any."""
    values = parse_contact(form)
    async with _client_locked(client_id):
        if await ClientContact.count().where(ClientContact.client == client_id) >= MAX_CONTACTS:
            raise Invalid({"name": f"You can keep up to {MAX_CONTACTS} contacts."})
        row = await ClientContact.insert(
            ClientContact(client=client_id, created_at=utcnow(), **values)
        ).returning(ClientContact.id)
        replaced = ""
        if values["is_responsible_party"]:
            replaced = await _only_responsible_party(client_id, row[0]["id"])
        await _audit(
            "profile.contact_added", client_id, actor_id, ip,
            contact_id=row[0]["id"], new=values,
            **({"responsible_party_was": replaced} if replaced else {}),
        )  # fmt: skip
    return replaced


async def change_contact(
    client_id: int, contact_id: int, form: Mapping[str, Any], *, actor_id: int, ip: str
) -> str:
    await _contact(client_id, contact_id)
    values = parse_contact(form)
    async with _client_locked(client_id):
        old = await _contact(client_id, contact_id)
        replaced = ""
        if values["is_responsible_party"]:
            replaced = await _only_responsible_party(client_id, contact_id)
        await ClientContact.update({getattr(ClientContact, k): v for k, v in values.items()}).where(
            ClientContact.id == contact_id
        )
        await _audit(
            "profile.contact_changed", client_id, actor_id, ip, contact_id=contact_id,
            old={k: old[k] for k in _CONTACT_FIELDS}, new=values,
            **({"responsible_party_was": replaced} if replaced else {}),
        )  # fmt: skip
    return replaced


async def remove_contact(client_id: int, contact_id: int, *, actor_id: int, ip: str) -> None:
    async with _client_locked(client_id):
        old = await _contact(client_id, contact_id)
        await ClientContact.delete().where(ClientContact.id == contact_id)
        await _audit(
            "profile.contact_removed", client_id, actor_id, ip, contact_id=contact_id,
            old={k: old[k] for k in _CONTACT_FIELDS},
        )  # fmt: skip


# --- Photo ID ---------------------------------------------------------------------------------

_FILE_FACTS = (
    StoredFile.id,
    StoredFile.display_name,
    StoredFile.content_type,
    StoredFile.size,
    StoredFile.sha256,
    StoredFile.created_at,
)


async def _photo_id_row(client_id: int) -> dict | None:
    return (
        await PhotoId.select(PhotoId.id, PhotoId.front, PhotoId.back)
        .where(PhotoId.client == client_id)
        .first()
    )


async def photo_id(client_id: int) -> dict[str, dict | None]:
    """What is on file for each side (never the bytes): name, type, size, when."""
    row = await _photo_id_row(client_id)
    ids = {side: row[side] for side in SIDES if row and row[side]}
    files = (
        {
            f["id"]: f
            for f in await StoredFile.select(*_FILE_FACTS).where(
                StoredFile.id.is_in(list(ids.values()))
            )
        }
        if ids
        else {}
    )
    return {side: files.get(ids.get(side)) for side in SIDES}


def _facts(f: Mapping[str, Any] | None) -> dict | None:
    if not f:
        return None
    return {"name": f["display_name"], "size": f["size"], "sha256": f["sha256"]}


async def replace_photo_id(
    client_id: int, images: Mapping[str, uploads.Checked], *, actor_id: int, ip: str
) -> None:
    """Store the new side(s), point the client's photo ID at them, delete what they replace."""
    if not images or set(images) - set(SIDES):
        raise Invalid({"front": "Choose an image of the front or the back of your ID."})
    async with _client_locked(client_id):
        before = await photo_id(client_id)
        new_ids = {
            side: await uploads.store(img, uploaded_by=actor_id) for side, img in images.items()
        }
        row = await _photo_id_row(client_id)
        if row is None:
            await PhotoId.insert(PhotoId(client=client_id, updated_at=utcnow(), **new_ids))
        else:
            await PhotoId.update(
                {getattr(PhotoId, side): file_id for side, file_id in new_ids.items()}
                | {PhotoId.updated_at: utcnow()}
            ).where(PhotoId.client == client_id)
        replaced = [before[side]["id"] for side in new_ids if before[side]]
        if replaced:
            await StoredFile.delete().where(StoredFile.id.is_in(replaced))
        for side, img in images.items():
            await _audit(
                "profile.photo_id_replaced", client_id, actor_id, ip, side=side,
                old=_facts(before[side]),
                new={"name": img.display_name, "size": len(img.data), "sha256": hashlib.sha256(img.data).hexdigest()},
            )  # fmt: skip


async def photo_id_image(client_id: int, side: str) -> dict | None:
    """One side's stored image with its bytes (checksum checked), only for its own client."""
    if side not in SIDES:
        return None
    row = await _photo_id_row(client_id)
    if row is None or not row[side]:
        return None
    return await uploads.fetch(row[side])


# --- What the profile page shows --------------------------------------------------------------

SECTIONS = ("phones", "emails", "reminders", "contacts", "photo_id")


async def section_context(client_id: int, section: str) -> dict:
    """What one section's partial needs (the fragment htmx swaps)."""
    base = {
        "phone_kinds": PHONE_KINDS,
        "reminder_channels": CHANNELS,
        "days_before_choices": list(DAYS_BEFORE),
        "photo_sides": SIDES,
        "image_types": ", ".join(uploads.IMAGE_TYPES.values()),
        "image_accept": ",".join(uploads.IMAGE_TYPES),
        "max_recipients": MAX_RECIPIENTS,
    }
    if section == "phones":
        return base | {"phones": await phones(client_id)}
    if section == "emails":
        return base | {"emails": await emails(client_id)}
    if section == "reminders":
        return base | {"reminders": await reminder_settings(client_id)}
    if section == "contacts":
        return base | {"contacts": await contacts(client_id)}
    if section == "photo_id":
        return base | {"photo_id": await photo_id(client_id)}
    raise ValueError(section)


async def context_for(client: Mapping[str, Any], done: str = "") -> dict:
    """Everything the profile page's detail sections show, for the signed-in client.

    `done` is the key of a finished change (`/profile?done=phone-added`): its notice is
    shown in its own section. Reads no custom demographics: those are for staff only.
    """
    context: dict[str, Any] = {}
    for section in SECTIONS:
        context |= await section_context(client["id"], section)
    return context | {"detail_notice": notice_for(done)}


def notice_for(done: str) -> dict[str, str]:
    """{section: text} for a finished change's key; empty for an unknown key."""
    if done in NOTICES:
        section, text = NOTICES[done]
        return {section: text}
    return {}


# --- Demo -------------------------------------------------------------------------------------


async def seed_demo(username: str = "client") -> None:
    """The demo client's details: a mobile phone, a primary email, reminders, a responsible party."""
    row = (
        await Client.select(Client.id, Client.last_name, Client.user.email.as_alias("email"))
        .where(Client.user.username == username)
        .first()
    )
    if row is None:
        return
    now = utcnow()
    await ClientPhone.insert(
        ClientPhone(client=row["id"], kind="mobile", number=parse_phone("(617) 555-0187"), created_at=now),
        ClientPhone(client=row["id"], kind="work", number=parse_phone("(617) 555-0123"), created_at=now),
    )  # fmt: skip
    await ClientEmail.insert(
        ClientEmail(client=row["id"], address=row["email"], is_primary=True, created_at=now)
    )
    await ReminderSettings.insert(
        ReminderSettings(
            client=row["id"], channel="both", days_before=2, extra_recipients=[], updated_at=now
        )
    )
    await ClientContact.insert(
        ClientContact(
            client=row["id"],
            name=f"Morgan {row['last_name']}",
            relationship="Spouse",
            phone=parse_phone("(617) 555-0164"),
            email="morgan@mail.example",
            is_responsible_party=True,
            responsible_for_payment=True,
            created_at=now,
        )  # fmt: skip
    )

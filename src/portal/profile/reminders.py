"""A client's appointment reminders: how (email, text, both, none), how early, and who else.

Text reminders need a mobile number and email reminders an email address on
file. Up to `MAX_RECIPIENTS` other people may be reminded too, each with a
name and an email address or a phone number. Bad input raises `Invalid` keyed
by the form's field names (`r{i}_name` for recipient row `i`) and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.profile import changes
from portal.profile.contact_points import display_phone, optional_email, optional_phone
from portal.tables import ClientEmail, ClientPhone, ReminderSettings

CHANNELS = {
    "email": "Email",
    "text": "Text message",
    "both": "Email and text message",
    "none": "No reminders",
}
DAYS_BEFORE = range(1, 6)
MAX_RECIPIENTS = 5
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
        clean_email = optional_email(email, f"r{i}_email", errors)
        clean_phone = optional_phone(phone, f"r{i}_phone", errors)
        if not email and not phone:
            errors[f"r{i}_email"] = "Give an email address or a phone number for this person."
        kept.append({"name": name, "email": clean_email, "phone": clean_phone})
    if len(kept) > MAX_RECIPIENTS:
        errors["recipients"] = f"Add up to {MAX_RECIPIENTS} people."
    return kept, errors


async def save_reminders(
    client_id: int, channel: str, days_before: str, rows: list[Mapping[str, str]], actor: Actor
) -> None:
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
        raise Invalid(errors=errors)
    async with write_transaction(lock_client=client_id):
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
                )
            )
        await changes.record(
            "profile.reminders_changed",
            client_id,
            actor,
            old=old,
            new={"channel": channel, "days_before": days, "recipients": recipients},
        )

"""What the My Profile page shows: the account card, and each detail section's context.

The page's detail sections (phones, emails, reminders, contacts, photo ID) are
fragments htmx swaps one at a time; `section_context` is what one of them
needs, `page_context` the whole page. Reads no custom client demographics:
those are for staff only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.accounts import twofactor
from portal.core import uploads
from portal.profile.contacts import contacts
from portal.profile.emails import emails
from portal.profile.phones import PHONE_KINDS, phones
from portal.profile.photo_id import SIDES, photo_id
from portal.profile.reminders import CHANNELS, DAYS_BEFORE, MAX_RECIPIENTS, reminder_settings
from portal.tables import User

SECTIONS = ("phones", "emails", "reminders", "contacts", "photo_id")

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


async def account(user_id: int) -> dict:
    """The account card: username, email, whether two-factor is on."""
    return (
        await User.select(User.username, User.email, User.totp_enabled_at)
        .where(User.id == user_id)
        .first()
    )


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
    shown in its own section.
    """
    context: dict[str, Any] = {}
    for section in SECTIONS:
        context |= await section_context(client["id"], section)
    return context | {"detail_notice": notice_for(done)}


async def page_context(
    user_id: int, client: Mapping[str, Any] | None, *, notice: str = "", done: str = ""
) -> dict:
    """The whole page: the account's card and security, and for a client the detail sections."""
    return {
        "account": await account(user_id),
        "client": client,
        "notice": notice,
        "recovery_left": await twofactor.recovery_codes_left(user_id),
        **(await context_for(client, done) if client else {}),
    }


def notice_for(done: str) -> dict[str, str]:
    """{section: text} for a finished change's key; empty for an unknown key."""
    if done in NOTICES:
        section, text = NOTICES[done]
        return {section: text}
    return {}


def party_notice(name: str, replaced: str) -> str:
    """Names who took over as the responsible party (htmx; the no-JS notice names no one)."""
    if replaced:
        return f"Contact saved. {name} is now your responsible party instead of {replaced}."
    return ""

"""What the My Profile pages show: one page per section, and each section's context.

My Profile is a set of section pages (`/profile/<slug>`), each a fragment htmx
swaps into the section area when a menu link is followed, and a whole page
otherwise. `section_context` is what one detail section (phones, emails,
reminders, contacts, photo ID) needs: the queries of that section only. Reads
no custom client demographics: those are for staff only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.core import uploads
from portal.profile.contacts import contacts
from portal.profile.emails import emails
from portal.profile.phones import PHONE_KINDS, phones
from portal.profile.photo_id import SIDES, photo_id
from portal.profile.reminders import CHANNELS, DAYS_BEFORE, MAX_RECIPIENTS, reminder_settings


@dataclass(frozen=True)
class Section:
    """One page of My Profile: its URL is `/profile/<slug>` (the overview: `/profile`)."""

    key: str  # the context and notice key ("photo_id"); also `here` in the menu
    slug: str
    title: str
    template: str
    clients_only: bool = True

    @property
    def url(self) -> str:
        return f"/profile/{self.slug}" if self.slug else "/profile"


OVERVIEW = Section("overview", "", "Overview", "partials/profile/overview.html", False)
ACCOUNT = Section(
    "account",
    "username-password",
    "Username and password",
    "partials/profile/username_password.html",
    False,
)
# The client's detail sections, in the menu's order.
DETAILS = {
    s.key: s
    for s in (
        Section("phones", "phones", "Phone numbers", "partials/profile/phones.html"),
        Section("emails", "emails", "Email addresses", "partials/profile/emails.html"),
        Section("reminders", "reminders", "Reminder settings", "partials/profile/reminders.html"),
        Section("contacts", "contacts", "Contacts", "partials/profile/contacts.html"),
        Section("photo_id", "photo-id", "Photo ID", "partials/profile/photo_id.html"),
    )
}
SECTIONS = tuple(DETAILS)

# What a finished change says, by the key a no-JS redirect carries
# (`/profile/phones?done=KEY`). A key never carries words of its own, so a crafted
# link cannot put text in the page.
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


def section_page(section: Section, context: Mapping[str, Any]) -> dict:
    """The context of a section page (and of its fragment): which section, for the menu."""
    return {
        **context,
        "section": section,
        "here": section.key,
        "sectioned": True,
    }


async def section_context(client_id: int, section: str) -> dict:
    """What one detail section's partial needs: one query, that section's own."""
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
    """Every detail section's context at once (the demo seed's check and the like).

    `done` is the key of a finished change: its notice is shown in its own section.
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


def party_notice(name: str, replaced: str) -> str:
    """Names who took over as the responsible party (htmx; the no-JS notice names no one)."""
    if replaced:
        return f"Contact saved. {name} is now your responsible party instead of {replaced}."
    return ""

"""The staff home: the days ahead, unread messages, forms submitted since the last visit
and self-registrations waiting for approval, each as the access policy lets this staff
member see them (a provider: their own schedule and clients)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby

from portal.messaging import inbox
from portal.practice.info import PracticeInfo
from portal.scheduling.appointments import practice_days
from portal.staff.access import Part, Staff, client_clause
from portal.tables import Client, FormAssignment, User

DAYS_AHEAD = 7  # today and the six days after it
LISTED = 10  # forms and registrations listed by name; the rest counted


@dataclass
class Home:
    days: list[tuple[date, list[dict]]] = field(default_factory=list)
    shows_schedule: bool = False
    unread: int = 0
    submitted: list[dict] = field(default_factory=list)
    submitted_total: int = 0
    shows_forms: bool = False
    waiting: list[dict] = field(default_factory=list)
    waiting_total: int = 0
    shows_registrations: bool = False
    last_visit: datetime | None = None


async def home_view(staff: Staff, practice: PracticeInfo, now: datetime) -> Home:
    """What the staff home shows; marks this visit (the next one's "since")."""
    tz = practice.time_zone
    today = now.astimezone(tz).date()
    home = Home()
    seen = await User.select(User.staff_home_seen_at).where(User.id == staff.user_id).first()
    home.last_visit = seen["staff_home_seen_at"] if seen else None

    if staff.may(Part.appointments):
        home.shows_schedule = True
        provider = None if staff.sees_all_clients else (staff.provider_id or -1)
        rows = await practice_days(today, DAYS_AHEAD, tz, provider_id=provider)
        by_day = groupby(rows, key=lambda r: r["starts_at"].astimezone(tz).date())
        found = {day: list(items) for day, items in by_day}
        home.days = [
            (d, found.get(d, [])) for d in (today + timedelta(days=i) for i in range(DAYS_AHEAD))
        ]

    home.unread = await inbox.unread_count(staff)

    if staff.may(Part.forms):
        home.shows_forms = True
        since = home.last_visit or (now - timedelta(days=7))
        query = FormAssignment.select(
            FormAssignment.id,
            FormAssignment.client,
            FormAssignment.client.first_name,
            FormAssignment.client.last_name,
            FormAssignment.template.title,
            FormAssignment.submitted_at,
        ).where(
            (FormAssignment.status == "submitted")
            & (FormAssignment.submitted_at > since)
            & client_clause(staff, "form_assignment.client")
        )
        rows = await query.order_by(FormAssignment.submitted_at, ascending=False).limit(LISTED + 1)
        home.submitted = rows[:LISTED]
        home.submitted_total = len(rows)  # LISTED + 1 reads "more than LISTED"

    if staff.may(Part.invite):
        home.shows_registrations = True
        waiting = Client.select(
            Client.id, Client.first_name, Client.last_name, Client.date_of_birth
        ).where(
            (Client.self_registered == True)  # noqa: E712 - Piccolo builds SQL from ==
            & Client.approved_at.is_null()
            & (Client.status != "inactive")
            & client_clause(staff, "client.id")
        )
        rows = await waiting.order_by(Client.id).limit(LISTED + 1)
        home.waiting = rows[:LISTED]
        home.waiting_total = len(rows)

    await User.update({User.staff_home_seen_at: now}).where(User.id == staff.user_id)
    return home

"""Calendar files (.ics) for a client's visits: provider and service, no clinical detail."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

from portal.practice.info import PracticeInfo
from portal.scheduling.appointments import Visit


def ics(visits: Iterable[Visit], practice: PracticeInfo, *, host: str, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Portal//Client portal//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{practice.name} appointments")
    for v in visits:
        event = Event()
        event.add("uid", f"appointment-{v.id}@{host}")
        event.add("dtstamp", now)
        # Local times with their zone (a VTIMEZONE is added below), as phones expect.
        event.add("dtstart", v.starts_at.astimezone(practice.time_zone))
        event.add("dtend", v.ends_at.astimezone(practice.time_zone))
        event.add("summary", f"{v.service} with {v.provider}")
        if v.telehealth:
            event.add("location", "Telehealth (online)")
            event.add("description", "Telehealth visit: the link to join is in your client portal.")
        else:
            event.add(
                "location", f"{v.location_name}, {v.address}" if v.location_name else v.address
            )
        event.add("status", "CONFIRMED" if v.confirmed else "TENTATIVE")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()

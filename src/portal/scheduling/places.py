"""Where a provider takes online bookings: the places of their weekly and extra hours (a
retired location takes none), how the picker spells a place, and its label and address."""

from __future__ import annotations

from datetime import timedelta

from portal.core.clock import utcnow
from portal.core.db import parse_id
from portal.practice.info import format_address
from portal.scheduling.slots import TELEHEALTH, Place
from portal.tables import AvailabilityBlock, Location


def parse_place(value: str) -> Place | None:
    if value == TELEHEALTH:
        return TELEHEALTH
    return parse_id(value)


# The places a provider takes online bookings at: their weekly hours' and their extra
# hours' (from yesterday on: the slot engine drops what is past), in one query.
_PLACES = """
SELECT p.location AS location_id, l.name AS location_name, p.telehealth,
       l.active AS location_active
FROM (SELECT location, telehealth FROM availability_block
      WHERE provider = {} AND bookable_online
      UNION
      SELECT location, telehealth FROM availability_exception
      WHERE provider = {} AND kind = 'extra' AND bookable_online AND on_date >= {}) AS p
LEFT JOIN location AS l ON l.id = p.location
"""


async def provider_places(provider_id: int) -> list[tuple[str, str]]:
    """The places this provider takes online bookings at (weekly hours or extra hours)."""
    since = (utcnow() - timedelta(days=1)).date()
    rows = await AvailabilityBlock.raw(_PLACES, provider_id, provider_id, since)
    places: dict[str, str] = {}
    for r in rows:
        if r["telehealth"]:
            places[TELEHEALTH] = "Telehealth (video)"
        elif r["location_id"] and r["location_active"]:  # a retired location: no new bookings
            places[str(r["location_id"])] = r["location_name"]
    return sorted(places.items(), key=lambda kv: (kv[0] == TELEHEALTH, kv[1]))


async def place_label(place: Place) -> tuple[str, str]:
    """A place's name and address for the review page."""
    if place == TELEHEALTH:
        return "Telehealth (video)", ""
    row = await Location.select().where(Location.id == place).first()
    return (row["name"], format_address(row)) if row else ("", "")

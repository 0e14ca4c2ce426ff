"""Jinja filters shared by pages and partials."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def local_time(value: datetime, tz: ZoneInfo, fmt: str = "%-I:%M %p") -> str:
    return value.astimezone(tz).strftime(fmt)


def local_date(value: datetime, tz: ZoneInfo, fmt: str = "%a %-d %b %Y") -> str:
    return value.astimezone(tz).strftime(fmt)


def html_datetime(value: datetime) -> str:
    """A `<time datetime>` value: UTC to the second ("2026-12-02T05:12:11Z").

    HTML allows at most three digits of a second's fraction; `isoformat()` writes six.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


# How people name the zones a US practice is in; any other zone by its city.
ZONE_NAMES = {
    "America/New_York": "Eastern Time",
    "America/Detroit": "Eastern Time",
    "America/Chicago": "Central Time",
    "America/Denver": "Mountain Time",
    "America/Boise": "Mountain Time",
    "America/Phoenix": "Arizona Time",
    "America/Los_Angeles": "Pacific Time",
    "America/Anchorage": "Alaska Time",
    "Pacific/Honolulu": "Hawaii Time",
    "America/Puerto_Rico": "Atlantic Time",
    "UTC": "UTC",
}


def zone_name(tz: ZoneInfo) -> str:
    """ "Eastern Time", not "America/New York time"."""
    return ZONE_NAMES.get(tz.key) or tz.key.rsplit("/", 1)[-1].replace("_", " ") + " time"


def timedelta_days(days: int) -> timedelta:
    return timedelta(days=days)


def register_filters(env: Environment) -> None:
    env.globals["timedelta_days"] = timedelta_days
    env.filters["money"] = money
    env.filters["local_time"] = local_time
    env.filters["local_date"] = local_date
    env.filters["html_datetime"] = html_datetime
    env.filters["zone_name"] = zone_name

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


def timedelta_days(days: int) -> timedelta:
    return timedelta(days=days)


def register_filters(env: Environment) -> None:
    env.globals["timedelta_days"] = timedelta_days
    env.filters["money"] = money
    env.filters["local_time"] = local_time
    env.filters["local_date"] = local_date

"""Recognised devices: a long-lived random cookie per browser, stored hashed.

Signing in from a browser without a known device cookie for that account sends
the "new sign-in" mail. Ticking "remember this device" on the two-factor step
skips the code on that device for up to a year. A password change forgets
every device.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from portal.accounts.auth import token_hash
from portal.core.clock import utcnow
from portal.tables import Device

REMEMBER_FOR = timedelta(days=365)
COOKIE_MAX_AGE = int(timedelta(days=400).total_seconds())

_BROWSERS = [
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"(Firefox|FxiOS)/"),
    ("Chrome", r"(Chrome|CriOS)/"),
    ("Safari", r"Safari/"),
]
_SYSTEMS = [
    ("Android", r"Android"),
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Windows", r"Windows"),
    ("Mac", r"Macintosh|Mac OS X"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux"),
]


def summary(user_agent: str) -> str:
    """A readable "Browser on System" from a User-Agent header (best effort)."""
    browser = next((name for name, rx in _BROWSERS if re.search(rx, user_agent)), None)
    system = next((name for name, rx in _SYSTEMS if re.search(rx, user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


async def recognise(token: str, user_id: int) -> dict | None:
    if not token:
        return None
    return (
        await Device.select()
        .where(Device.token_hash == token_hash(token), Device.user == user_id)
        .first()
    )


async def register(user_id: int, user_agent: str) -> tuple[str, int]:
    """A new device for this account: the cookie value and the row id."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = await Device.insert(
        Device(
            user=user_id,
            token_hash=token_hash(token),
            summary=summary(user_agent),
            first_seen_at=now,
            last_seen_at=now,
        )
    ).returning(Device.id)
    return token, row[0]["id"]


async def seen(device_id: int, *, remember: bool = False) -> None:
    values: dict = {Device.last_seen_at: utcnow()}
    if remember:
        values[Device.remembered_until] = utcnow() + REMEMBER_FOR
    await Device.update(values).where(Device.id == device_id)


def is_remembered(device: dict | None, now: datetime | None = None) -> bool:
    until = device and device["remembered_until"]
    return bool(until and until > (now or utcnow()))


async def forget_all(user_id: int) -> None:
    await Device.delete().where(Device.user == user_id)


async def list_for(user_id: int) -> list[dict]:
    return (
        await Device.select()
        .where(Device.user == user_id)
        .order_by(Device.last_seen_at, ascending=False)
    )

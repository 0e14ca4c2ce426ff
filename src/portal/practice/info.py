"""The practice this installation serves (one practice per installation).

Nearly every page shows something of the practice (its name, time zone, phone),
so it is read once per process and kept: `changed()` forgets it at once, and
code that writes the practice row calls it. Another process (a second worker, a
command) sees a change within `REFRESH` seconds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from portal.tables import PaymentSettings, Practice


@dataclass(frozen=True)
class PracticeInfo:
    id: int
    name: str
    time_zone: ZoneInfo
    phone: str
    email: str
    address: str
    telehealth_link_minutes: int
    two_factor_policy: str
    # Upcoming appointments a client may have and still book online (scheduling/booking.py).
    max_upcoming_online_bookings: int = 3
    # Whether clients can pay by card here: an owner or manager has entered the Stripe keys.
    # Read with the practice, so the dashboard offers "Make a payment" only when it can work.
    pays_online: bool = False
    # Self-registration at /register (sign-in links to it) and whether new clients book at once.
    self_registration: bool = False
    book_before_approval: bool = False
    # The documents clients may open in My Account (`settings["client_documents"]`; all when
    # unset): read with the practice, so My Account and each document's URL check it for free.
    client_documents: frozenset[str] = frozenset(("receipts", "statements", "superbills", "fsa"))

    # Origins the practice lets frame and fetch /embed/ (`settings["embed_origins"]`), besides
    # those of litestar.toml (portal.embedding.origins).
    embed_origins: tuple[str, ...] = ()

    def offers(self, document: str) -> bool:
        return document in self.client_documents


# The documents a practice may offer its clients, in the order staff see them.
DOCUMENTS = {
    "receipts": "Receipts",
    "statements": "Statements",
    "superbills": "Superbills",
    "fsa": "FSA statements",
}


def settings_of(row: dict) -> dict:
    """The practice's `settings` JSON object (a string on SQLite unless loaded as JSON)."""
    raw = row.get("settings")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def client_documents(settings: dict) -> frozenset[str]:
    chosen = settings.get("client_documents")
    if not isinstance(chosen, list):
        return frozenset(DOCUMENTS)
    return frozenset(chosen) & frozenset(DOCUMENTS)


def embed_origins(settings: dict) -> tuple[str, ...]:
    kept = settings.get("embed_origins")
    return tuple(o for o in kept if isinstance(o, str)) if isinstance(kept, list) else ()


def format_address(row: dict, prefix: str = "") -> str:
    g = lambda k: (row.get(prefix + k) or "").strip()  # noqa: E731
    street = ", ".join(p for p in (g("address_line1"), g("address_line2")) if p)
    region = " ".join(p for p in (g("region"), g("postal_code")) if p)
    return ", ".join(p for p in (street, g("city"), region) if p)


REFRESH = 30.0  # seconds a process keeps the practice before reading it again (keep_for)
_kept: tuple[float, PracticeInfo] | None = None


def keep_for(seconds: float) -> None:
    """How long this process keeps the practice (`server.practice_refresh_seconds`)."""
    global REFRESH
    REFRESH = float(seconds)
    changed()


def changed() -> None:
    """The practice row was written: read it again next time."""
    global _kept
    _kept = None


def last_known() -> PracticeInfo | None:
    """The practice as last read, without asking the database: for the error pages, whose
    handlers cannot wait (it is read on every request before any error can happen)."""
    return _kept[1] if _kept is not None else None


async def current_practice() -> PracticeInfo | None:
    """The practice (None before one exists: that answer is not kept)."""
    global _kept
    now = time.monotonic()
    if _kept is not None and now - _kept[0] < REFRESH:
        return _kept[1]
    row = await Practice.select().order_by(Practice.id).first()
    if row is None:
        return None
    pays_online = await PaymentSettings.exists().where(
        (PaymentSettings.practice == row["id"])
        & (PaymentSettings.secret_key != "")
        & (PaymentSettings.publishable_key != "")
    )
    info = _practice_info(row, pays_online=pays_online)
    _kept = (now, info)
    return info


def _practice_info(row: dict, *, pays_online: bool) -> PracticeInfo:
    return PracticeInfo(
        id=row["id"],
        name=row["name"],
        time_zone=ZoneInfo(row["time_zone"]),
        phone=row["phone"],
        email=row["email"],
        address=format_address(row),
        telehealth_link_minutes=row["telehealth_link_minutes"],
        two_factor_policy=row["two_factor_policy"],
        max_upcoming_online_bookings=row["max_upcoming_online_bookings"],
        pays_online=pays_online,
        self_registration=row["self_registration"],
        book_before_approval=row["book_before_approval"],
        client_documents=client_documents(settings_of(row)),
        embed_origins=embed_origins(settings_of(row)),
    )

"""The practice this installation serves (one practice per installation)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from portal.tables import Practice


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


def format_address(row: dict, prefix: str = "") -> str:
    g = lambda k: (row.get(prefix + k) or "").strip()  # noqa: E731
    street = ", ".join(p for p in (g("address_line1"), g("address_line2")) if p)
    region = " ".join(p for p in (g("region"), g("postal_code")) if p)
    return ", ".join(p for p in (street, g("city"), region) if p)


async def current_practice() -> PracticeInfo | None:
    row = await Practice.select().order_by(Practice.id).first()
    if row is None:
        return None
    return PracticeInfo(
        id=row["id"],
        name=row["name"],
        time_zone=ZoneInfo(row["time_zone"]),
        phone=row["phone"],
        email=row["email"],
        address=format_address(row),
        telehealth_link_minutes=row["telehealth_link_minutes"],
        two_factor_policy=row["two_factor_policy"],
    )

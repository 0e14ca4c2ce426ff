"""My Messages: whom a client may write to, and how a client sees each staff member.

A client may start a thread with their providers (the providers they have
appointments with) and with the practice's designated scheduler and biller,
while their file is not closed (`may_send`). Staff appear by provider name, else
by the desk they hold (Scheduling, Billing), else by their role.

Writing to the designated scheduler or biller (who is not also the client's provider) is
writing to that desk (`Recipient.desk`): the thread is stored with it, and every member of
the desk reads it in the staff inbox (portal.staff.access.thread_clause).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.tables import Appointment, Practice, User
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus

ROLE_NAMES = {
    Role.owner: "Practice owner",
    Role.manager: "Practice manager",
    Role.provider: "Provider",
    Role.scheduler: "Scheduling",
    Role.biller: "Billing",
}


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    about: str
    # "scheduling" or "billing": the client writes to that desk of the practice; "" to a person.
    desk: str = ""


async def _designated(practice_id: int) -> dict:
    row = (
        await Practice.select(
            Practice.designated_scheduler.as_alias("scheduler"),
            Practice.designated_scheduler.active.as_alias("scheduler_active"),
            Practice.designated_biller.as_alias("biller"),
            Practice.designated_biller.active.as_alias("biller_active"),
        )
        .where(Practice.id == practice_id)
        .first()
    )
    return row or {}


def _provider_name(row: dict) -> str:
    return ", ".join(p for p in (row["name"], row["credentials"]) if p)


async def recipients(client: dict) -> list[Recipient]:
    """Whom this client may start a thread with: their providers, then scheduling and billing."""
    providers = await (
        Appointment.select(
            Appointment.provider.user.as_alias("user_id"),
            Appointment.provider.display_name.as_alias("name"),
            Appointment.provider.credentials.as_alias("credentials"),
        )
        .where(
            Appointment.client == client["id"],
            Appointment.provider.practice == client["practice"],
            Appointment.provider.active.eq(True),
            Appointment.provider.user.active.eq(True),
        )
        .distinct()
    )
    found: dict[int, Recipient] = {}
    for row in sorted(providers, key=lambda r: r["name"]):
        if row["user_id"] is not None:
            found[row["user_id"]] = Recipient(row["user_id"], _provider_name(row), "your provider")
    practice = await _designated(client["practice"])
    desks = [
        ("scheduler", "Scheduling", "appointments and rescheduling", "scheduling"),
        ("biller", "Billing", "bills, payments and insurance", "billing"),
    ]
    for key, name, about, desk in desks:
        user_id = practice.get(key)
        if user_id is None or not practice.get(f"{key}_active"):
            continue
        if user_id in found:
            # One person at both desks: the thread goes to the first (scheduling); a
            # client's own provider who also holds a desk is written to as the provider.
            seen = found[user_id]
            both = "Scheduling and billing" if seen.name == "Scheduling" else seen.name
            found[user_id] = Recipient(user_id, both, f"{seen.about}; {about}", seen.desk)
        else:
            found[user_id] = Recipient(user_id, name, about, desk)
    return list(found.values())


# Each staff member with their provider name, if any, and the practice's two desks, at once.
_STAFF = (
    "SELECT u.id AS id, u.role AS role, p.display_name AS name, p.credentials AS credentials,"
    " pr.designated_scheduler AS scheduler, pr.designated_biller AS biller"
    ' FROM portal_user u LEFT JOIN provider p ON p."user" = u.id'
    " CROSS JOIN practice pr WHERE pr.id = {} AND u.id IN ({})"
)


async def staff_names(practice_id: int, user_ids: Sequence[int]) -> dict[int, str]:
    """How a client sees each staff member: provider name, else the desk, else the role.

    One query whatever the number of staff (it was three)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    placeholders = ", ".join("{}" for _ in ids)
    rows = await User.raw(_STAFF.format("{}", placeholders), practice_id, *ids)
    names: dict[int, str] = {}
    for row in rows:
        if row["name"]:
            names[row["id"]] = _provider_name(row)
        elif row["id"] in (row["scheduler"], row["biller"]):
            both = row["scheduler"] == row["biller"]
            desk = "Scheduling" if row["id"] == row["scheduler"] else "Billing"
            names[row["id"]] = "Scheduling and billing" if both else desk
        else:
            names[row["id"]] = ROLE_NAMES.get(Role(row["role"]), "The practice")
    return names


def may_send(client: dict) -> bool:
    return client["status"] != ClientStatus.inactive

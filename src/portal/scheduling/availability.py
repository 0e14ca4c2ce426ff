"""Availability and booking rules from a declarative TOML file (`portal availability load`).

Each `[[provider]]` table names a provider by username; its `hours` list, when
given, *replaces* that provider's weekly hours, and its `exceptions` list, when
given, replaces their date exceptions (an empty list clears them). Rules given
are set; anything not mentioned is left as it is. Services can set whether clients may book them and whether they may be
held by telehealth. The whole file is checked before anything is written, and
written in one transaction; a key the file does not know is an error naming it, never
ignored. See `src/portal/data/demo-availability.toml` and docs/file-formats.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from portal.core.db import write_transaction
from portal.core.errors import unknown_keys
from portal.scheduling.hours import (
    AvailabilityError,
    active_locations,
    check_range,
    minute,
    place_of,
)
from portal.tables import (
    AvailabilityBlock,
    AvailabilityException,
    Provider,
    Service,
)

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
STATUSES = {"new", "active", "inactive"}
SLOT_LENGTHS = {15, 30, 60}
# The keys each table of the file may hold: anything else is an error, never ignored.
TOP_KEYS = {"provider", "service"}
PROVIDER_KEYS = {
    "username",
    "slot_minutes",
    "self_schedule",
    "min_notice_hours",
    "horizon_days",
    "clients_may_confirm",
    "clients_may_cancel",
    "cancellation_window_hours",
    "hours",
    "exceptions",
}
HOURS_KEYS = {"days", "from", "to", "place", "online"}
EXCEPTION_KEYS = {"date", "kind", "from", "to", "place", "online", "note"}
SERVICE_KEYS = {"name", "client_may_schedule", "telehealth_allowed"}


def _known_keys(table: Any, allowed: set[str], where: str) -> None:
    """Refuse `table` unless it is a table holding only `allowed` keys."""
    if not isinstance(table, dict):
        raise AvailabilityError(f"{where}: expected a table of keys and values")
    if message := unknown_keys(table, allowed, where, listed="allowed"):
        raise AvailabilityError(message)


_minute = minute  # shared with the editor (portal.scheduling.hours)


@dataclass
class _Plan:
    provider_id: int
    rules: dict
    blocks: list[AvailabilityBlock] | None  # None: keep the current ones
    exceptions: list[AvailabilityException] | None


async def _place(value: Any, locations: dict[str, int], where: str) -> tuple[int | None, bool]:
    return place_of(value, locations, where)


async def plan(data: dict) -> tuple[list[_Plan], list[tuple[int, dict]]]:
    _known_keys(data, TOP_KEYS, "top level")
    # A retired location takes no new hours: only active ones are found by name.
    locations = await active_locations()
    plans: list[_Plan] = []
    for i, p in enumerate(data.get("provider", []), 1):
        where = f"provider #{i}"
        _known_keys(p, PROVIDER_KEYS, where)
        username = p.get("username")
        row = (
            await Provider.select(Provider.id)
            .where(Provider.user.username == str(username))
            .first()
        )
        if row is None:
            raise AvailabilityError(f"{where}: no provider with username {username!r}")
        where = f"provider {username}"
        rules: dict = {}
        if "slot_minutes" in p:
            if p["slot_minutes"] not in SLOT_LENGTHS:
                raise AvailabilityError(f"{where}: slot_minutes must be 15, 30 or 60")
            rules[Provider.slot_minutes] = p["slot_minutes"]
        if "self_schedule" in p:
            statuses = list(p["self_schedule"])
            if not set(statuses) <= STATUSES:
                raise AvailabilityError(f"{where}: self_schedule takes new, active, inactive")
            rules[Provider.self_schedule_statuses] = statuses
        for key, column, low, high in (
            ("min_notice_hours", Provider.min_notice_hours, 0, 24 * 60),
            ("horizon_days", Provider.horizon_days, 1, 366),
            ("cancellation_window_hours", Provider.cancellation_window_hours, 0, 720),
        ):
            if key in p:
                value = p[key]  # TOML's true is a Python int too: not a number of hours
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int)
                    or not low <= value <= high
                ):
                    raise AvailabilityError(
                        f"{where}: {key} must be a whole number from {low} to {high}"
                    )
                rules[column] = value
        for key in ("clients_may_confirm", "clients_may_cancel"):
            if key in p:
                if not isinstance(p[key], bool):
                    raise AvailabilityError(f"{where}: {key} must be true or false")
                rules[getattr(Provider, key)] = p[key]
        blocks = []
        for j, h in enumerate(p.get("hours", []), 1):
            w = f"{where}, hours #{j}"
            _known_keys(h, HOURS_KEYS, w)
            start, end = _minute(h.get("from"), w), _minute(h.get("to"), w)
            check_range(start, end, w)
            location, telehealth = await _place(h.get("place"), locations, w)
            days = h.get("days", [])
            if not days or any(d not in DAYS for d in days):
                raise AvailabilityError(
                    f"{w}: days must be a list of mon, tue, wed, thu, fri, sat, sun"
                )
            for d in days:
                blocks.append(
                    AvailabilityBlock(
                        provider=row["id"],
                        weekday=DAYS[d],
                        start_minute=start,
                        end_minute=end,
                        location=location,
                        telehealth=telehealth,
                        bookable_online=bool(h.get("online", True)),
                    )  # fmt: skip
                )
        exceptions = []
        for j, x in enumerate(p.get("exceptions", []), 1):
            w = f"{where}, exceptions #{j}"
            _known_keys(x, EXCEPTION_KEYS, w)
            try:
                on = (
                    x["date"]
                    if isinstance(x.get("date"), date)
                    else date.fromisoformat(str(x.get("date")))
                )
            except ValueError as exc:
                raise AvailabilityError(f"{w}: date must be like 2026-12-24") from exc
            kind = x.get("kind")
            if kind not in ("off", "extra"):
                raise AvailabilityError(f"{w}: kind must be off or extra")
            start = _minute(x["from"], w) if "from" in x else None
            end = _minute(x["to"], w) if "to" in x else None
            if (start is None) != (end is None) or (start is not None and end <= start):
                raise AvailabilityError(f"{w}: give both 'from' and 'to', 'to' after 'from'")
            location, telehealth = (None, False)
            if kind == "extra":
                if start is None:
                    raise AvailabilityError(f"{w}: extra hours need 'from' and 'to'")
                location, telehealth = await _place(x.get("place"), locations, w)
            exceptions.append(
                AvailabilityException(
                    provider=row["id"],
                    on_date=on,
                    kind=kind,
                    start_minute=start,
                    end_minute=end,
                    location=location,
                    telehealth=telehealth,
                    bookable_online=bool(x.get("online", True)),
                    note=str(x.get("note", ""))[:200],
                )  # fmt: skip
            )
        plans.append(
            _Plan(
                row["id"],
                rules,
                blocks if "hours" in p else None,
                exceptions if "exceptions" in p else None,
            )
        )
    services: list[tuple[int, dict]] = []
    for i, s in enumerate(data.get("service", []), 1):
        _known_keys(s, SERVICE_KEYS, f"service #{i}")
        row = await Service.select(Service.id).where(Service.name == str(s.get("name"))).first()
        if row is None:
            raise AvailabilityError(f"service #{i}: no service named {s.get('name')!r}")
        values = {}
        for key, column in (
            ("client_may_schedule", Service.client_may_schedule),
            ("telehealth_allowed", Service.telehealth_allowed),
        ):
            if key in s:
                values[column] = bool(s[key])
        services.append((row["id"], values))
    return plans, services


async def apply(data: dict) -> int:
    """Check, then write, the whole of `data`; the number of providers updated."""
    plans, services = await plan(data)
    async with write_transaction():
        for p in plans:
            if p.rules:
                await Provider.update(p.rules).where(Provider.id == p.provider_id)
            if p.blocks is not None:
                await AvailabilityBlock.delete().where(AvailabilityBlock.provider == p.provider_id)
                if p.blocks:
                    await AvailabilityBlock.insert(*p.blocks)
            if p.exceptions is not None:
                await AvailabilityException.delete().where(
                    AvailabilityException.provider == p.provider_id
                )
                if p.exceptions:
                    await AvailabilityException.insert(*p.exceptions)
        for service_id, values in services:
            if values:
                await Service.update(values).where(Service.id == service_id)
    return len(plans)


def read_file(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise AvailabilityError(f"{path}: {exc}") from exc


async def load_file(path: Path) -> int:
    return await apply(read_file(path))


async def describe() -> str:
    """The current hours and rules, as text."""
    names = {v: k for k, v in DAYS.items()}
    lines = []
    providers = await Provider.select(
        Provider.id, Provider.display_name, Provider.user.username.as_alias("username"), Provider.slot_minutes,
        Provider.self_schedule_statuses, Provider.min_notice_hours, Provider.horizon_days,
        Provider.clients_may_confirm, Provider.clients_may_cancel, Provider.cancellation_window_hours,
    ).order_by(Provider.display_name)  # fmt: skip
    for p in providers:
        confirm = "may" if p["clients_may_confirm"] else "may not"
        cancel = (
            f"may cancel up to {p['cancellation_window_hours']} h before"
            if p["clients_may_cancel"]
            else "may not cancel online"
        )
        lines.append(
            f"{p['display_name']} ({p['username']}): {p['slot_minutes']}-minute slots, "
            f"notice {p['min_notice_hours']} h, horizon {p['horizon_days']} days, "
            f"online for {p['self_schedule_statuses']}; clients {confirm} confirm, {cancel}"
        )
        blocks = await AvailabilityBlock.select(
            AvailabilityBlock.all_columns(), AvailabilityBlock.location.name.as_alias("place")
        ).where(AvailabilityBlock.provider == p["id"]).order_by(AvailabilityBlock.weekday).order_by(AvailabilityBlock.start_minute)  # fmt: skip
        for b in blocks:
            place = "telehealth" if b["telehealth"] else b["place"]
            online = "" if b["bookable_online"] else " (not online)"
            lines.append(
                f"  {names[b['weekday']]} {b['start_minute'] // 60:02d}:{b['start_minute'] % 60:02d}"
                f"-{b['end_minute'] // 60:02d}:{b['end_minute'] % 60:02d} {place}{online}"
            )
        if not blocks:
            lines.append("  no weekly hours: takes no online bookings")
    return "\n".join(lines)

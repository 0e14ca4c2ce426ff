"""`portal availability export`: every provider's hours, dates ahead and self-scheduling
rules as the TOML file `portal availability load` reads, so hours edited in Staff ›
Availability can be kept in a file, changed there and loaded again to the same result.
Dates already past, and hours at a retired location, are left out: they offer clients
nothing, and a retired location takes no new hours when the file is loaded."""

from __future__ import annotations

import json
from datetime import date

from portal.scheduling.availability import DAYS
from portal.scheduling.hours import hhmm
from portal.tables import AvailabilityBlock, AvailabilityException, Provider

_DAY_NAMES = {v: k for k, v in DAYS.items()}
_RULES = ("slot_minutes", "min_notice_hours", "horizon_days", "clients_may_confirm",
          "clients_may_cancel", "cancellation_window_hours")  # fmt: skip


def _value(v: object) -> str:
    """A TOML value: JSON's strings, numbers and lists are TOML's too (booleans aside), as
    long as characters stay themselves: JSON's \\ud83c surrogate escapes (for an emoji)
    are not TOML."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, date):
        return v.isoformat()
    return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")  # DEL: TOML escapes it


def _place(row: dict) -> str:
    return "telehealth" if row["telehealth"] else row["place"]


async def export(today: date) -> str:
    providers = await Provider.select(
        Provider.id, Provider.user.username.as_alias("username"),
        Provider.self_schedule_statuses, *(getattr(Provider, k) for k in _RULES),
    ).order_by(Provider.user.username)  # fmt: skip
    blocks = await AvailabilityBlock.select(
        AvailabilityBlock.all_columns(), AvailabilityBlock.location.name.as_alias("place"),
        AvailabilityBlock.location.active.as_alias("place_active"),
    ).order_by(AvailabilityBlock.weekday).order_by(AvailabilityBlock.start_minute)  # fmt: skip
    dates = await AvailabilityException.select(
        AvailabilityException.all_columns(), AvailabilityException.location.name.as_alias("place")
    ).where(AvailabilityException.on_date >= today).order_by(AvailabilityException.on_date)  # fmt: skip
    out = ["# Providers' hours and self-scheduling rules: `portal availability load FILE`."]
    for p in providers:
        if not p["username"]:
            continue  # a provider without a sign-in cannot be named in the file
        statuses = p["self_schedule_statuses"]
        statuses = json.loads(statuses) if isinstance(statuses, str) else list(statuses or [])
        out += ["", "[[provider]]", f"username = {_value(p['username'])}",
                f"self_schedule = {_value(statuses)}"]  # fmt: skip
        out += [f"{k} = {_value(p[k])}" for k in _RULES]
        # Hours at a retired location offer nothing and would not load again: left out.
        mine = [b for b in blocks if b["provider"] == p["id"]
                and (b["telehealth"] or b["place_active"])]  # fmt: skip
        # `hours = []` keeps a provider without weekly hours without any (absent: unchanged).
        if not mine:
            out.append("hours = []")
        for b in mine:
            out += ["", "  [[provider.hours]]", f"  days = {_value([_DAY_NAMES[b['weekday']]])}",
                    f"  from = {_value(hhmm(b['start_minute']))}",
                    f"  to = {_value(hhmm(b['end_minute']))}",
                    f"  place = {_value(_place(b))}",
                    f"  online = {_value(bool(b['bookable_online']))}"]  # fmt: skip
        for x in (x for x in dates if x["provider"] == p["id"]):
            out += ["", "  [[provider.exceptions]]", f"  date = {_value(x['on_date'])}",
                    f"  kind = {_value(x['kind'])}"]  # fmt: skip
            if x["start_minute"] is not None:
                out += [f"  from = {_value(hhmm(x['start_minute']))}",
                        f"  to = {_value(hhmm(x['end_minute']))}"]  # fmt: skip
            if x["kind"] == "extra":
                out += [f"  place = {_value(_place(x))}",
                        f"  online = {_value(bool(x['bookable_online']))}"]  # fmt: skip
            if x["note"]:
                out.append(f"  note = {_value(x['note'])}")
    return "\n".join(out) + "\n"

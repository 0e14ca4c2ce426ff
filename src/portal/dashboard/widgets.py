"""What each dashboard widget shows. One loader per widget, each its own few queries."""

from __future__ import annotations

from datetime import datetime, timedelta

from portal.billing import ledger
from portal.dashboard.tasks import TaskContext, tasks_for
from portal.practice.info import PracticeInfo
from portal.scheduling import appointments
from portal.tables import User

WIDGETS = ("tasks", "two-factor", "appointments", "balance")
PROMPT_SNOOZE = timedelta(days=30)


async def load(
    widget: str, *, client: dict, user_id: int, practice: PracticeInfo, now: datetime
) -> dict:
    if widget == "tasks":
        ctx = TaskContext(client_id=client["id"], user_id=user_id, now=now, practice=practice)
        return {"tasks": await tasks_for(ctx)}
    if widget == "two-factor":
        row = (
            await User.select(User.totp_enabled_at, User.two_factor_prompt_hidden_until)
            .where(User.id == user_id)
            .first()
        )
        hidden = row["two_factor_prompt_hidden_until"]
        return {"show_prompt": row["totp_enabled_at"] is None and not (hidden and hidden > now)}
    if widget == "appointments":
        return {"visits": await appointments.upcoming(client["id"], now, practice)}
    if widget == "balance":
        return {"balance": await ledger.balance(client["id"])}
    raise KeyError(widget)


async def load_all(**kwargs) -> dict:
    context: dict = {}
    for widget in WIDGETS:
        context |= await load(widget, **kwargs)
    return context


async def snooze_two_factor_prompt(user_id: int, now: datetime) -> None:
    await User.update({User.two_factor_prompt_hidden_until: now + PROMPT_SNOOZE}).where(
        User.id == user_id
    )

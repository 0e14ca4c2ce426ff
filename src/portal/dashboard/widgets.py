"""What each dashboard widget shows, each fact read once however many widgets need it.

The request's session query already brought the client's row and the user's
two-factor state (`CurrentUser`); what is left comes from at most two queries:
the next visits (`ON_DASHBOARD` of them and one more: the appointments widget,
and the tasks to confirm), and the
balance together with the open forms in one UNION (the balance widget, and the
tasks to pay and to fill in). So the whole dashboard costs the session query
plus two, and one widget at most the session query plus two.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from portal.accounts.auth import CurrentUser
from portal.billing import ledger
from portal.core.errors import DomainError
from portal.dashboard.tasks import TaskContext, tasks_for
from portal.forms.assignments import OPEN_FORMS
from portal.practice.info import PracticeInfo
from portal.scheduling import appointments
from portal.tables import LedgerEntry, User
from portal.tables.scheduling import AppointmentStatus

WIDGETS = ("tasks", "two-factor", "appointments", "balance")
PROMPT_SNOOZE = timedelta(days=30)

# The balance (part 0, one row) and the open forms (part 1, oldest first), in one query.
# Only our own SQL is put together here; the client's id is a parameter.
BALANCE_AND_OPEN_FORMS = (
    "SELECT 0 AS part, NULL AS id, NULL AS title, NULL AS assigned_at, b.cents AS cents"  # noqa: S608
    f" FROM ({ledger.BALANCE_SQL}) b"
    " UNION ALL"
    f" SELECT 1 AS part, f.id, f.title, f.assigned_at, 0 FROM ({OPEN_FORMS}) f"
    " ORDER BY part, assigned_at, id"
)


class Facts:
    """What the widgets read for one client in one request, each at most once."""

    def __init__(self, client: dict, user: CurrentUser, practice: PracticeInfo, now: datetime):
        self.client, self.user, self.practice, self.now = client, user, practice, now
        self._upcoming: list[appointments.Visit] | None = None
        self._money_and_forms: tuple[ledger.Balance, list[dict[str, Any]]] | None = None

    async def upcoming(self) -> list[appointments.Visit]:
        if self._upcoming is None:
            self._upcoming = await appointments.next_visits(
                self.client["id"], self.now, self.practice
            )
        return self._upcoming

    async def balance_and_open_forms(self) -> tuple[ledger.Balance, list[dict[str, Any]]]:
        if self._money_and_forms is None:
            cid = self.client["id"]
            rows = await LedgerEntry.raw(BALANCE_AND_OPEN_FORMS, cid, cid)
            balance = ledger.Balance(int(rows[0]["cents"]))
            forms = [{"id": r["id"], "title": r["title"]} for r in rows[1:]]
            self._money_and_forms = (balance, forms)
        return self._money_and_forms

    async def balance(self) -> ledger.Balance:
        if self._money_and_forms is None:  # alone, the balance needs no forms
            return await ledger.balance(self.client["id"])
        return self._money_and_forms[0]

    async def task_context(self) -> TaskContext:
        balance, forms = await self.balance_and_open_forms()
        return TaskContext(
            client=self.client,
            two_factor_on=self.user.two_factor_on,
            now=self.now,
            practice=self.practice,
            balance=balance,
            open_forms=forms,
            upcoming=await self.upcoming(),
        )

    def show_two_factor_prompt(self) -> bool:
        hidden = self.user.two_factor_prompt_hidden_until
        return not self.user.two_factor_on and not (hidden and hidden > self.now)


async def _widget(name: str, facts: Facts) -> dict:
    if name == "tasks":
        return {"tasks": await tasks_for(await facts.task_context())}
    if name == "two-factor":
        return {"show_prompt": facts.show_two_factor_prompt()}
    if name == "appointments":
        return appointments.dashboard_view(await facts.upcoming())
    if name == "balance":
        return {"balance": await facts.balance()}
    raise KeyError(name)


async def load(
    widget: str, *, client: dict, user: CurrentUser, practice: PracticeInfo, now: datetime
) -> dict:
    """One widget's context."""
    return await _widget(widget, Facts(client, user, practice, now))


async def load_all(
    *, client: dict, user: CurrentUser, practice: PracticeInfo, now: datetime
) -> dict:
    """Every widget's context, for the dashboard's first load."""
    facts = Facts(client, user, practice, now)
    await facts.balance_and_open_forms()  # the tasks need it: read the balance with it
    context: dict = {}
    for widget in WIDGETS:
        context |= await _widget(widget, facts)
    return context


DONE = re.compile(r"(confirmed|cancelled)-([1-9][0-9]{0,17})")


async def done_notice(
    done: str, *, client: dict, visits: list[appointments.Visit], practice: PracticeInfo,
    now: datetime,
) -> str:  # fmt: skip
    """What a finished confirm or cancel says after its no-JS redirect (`/?done=confirmed-7`):
    the same words as the htmx notice. A key that names no appointment of this client says
    nothing. A confirmed visit is among the ones already read; a cancelled one costs a query."""
    m = DONE.fullmatch(done or "")
    if not m:
        return ""
    what, appointment_id = m.group(1), int(m.group(2))
    visit = next((v for v in visits if v.id == appointment_id), None)
    if visit is None:
        try:
            visit = await appointments.one(client["id"], appointment_id, now, practice)
        except DomainError:
            return ""
    if not (
        visit.confirmed if what == "confirmed" else visit.status == AppointmentStatus.cancelled
    ):
        return ""  # the key does not say what happened to it
    when = visit.starts_at.astimezone(practice.time_zone).strftime("%a %-d %b at %-I:%M %p")
    return f"{what.capitalize()}: {when}."


async def snooze_two_factor_prompt(user_id: int, now: datetime) -> None:
    await User.update({User.two_factor_prompt_hidden_until: now + PROMPT_SNOOZE}).where(
        User.id == user_id
    )

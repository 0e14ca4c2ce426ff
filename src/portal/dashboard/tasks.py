"""The dashboard's task list: what the client should do next, from real data.

Each area offers its own kind of task as a function (a `TaskSource`); the app
registers them, in the order the widget lists them, with `use()` where it is
built (`portal.app`). The tasks widget only calls `tasks_for()`. A source takes
a `TaskContext` and returns `Task`s without asking the database: what the sources
need (the balance, the open forms, the upcoming visits, the client and user rows)
is read once for the whole dashboard by `portal.dashboard.widgets` and handed
over in the context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from portal.practice.info import PracticeInfo

if TYPE_CHECKING:
    from portal.billing.ledger import Balance
    from portal.scheduling.appointments import Visit


@dataclass(frozen=True)
class Task:
    """One row of the tasks widget: its text and the one action that does it.

    `post`, when set, is a URL the row's button posts to (a form, hx-post with JS);
    otherwise the action is a link to `href`. `action` is the button's or link's
    label; sources that leave it empty get their kind's label from `ACTIONS`.
    `detail` (or else the text) follows the label, visually hidden, so that each
    row's action has a name of its own ("Confirm Tue 3 Dec at 2:00 PM")."""

    key: str
    text: str
    href: str
    action: str = ""
    post: str = ""
    detail: str = ""  # what the action's name adds for screen readers; the text if empty

    @property
    def label(self) -> str:
        return self.action or ACTIONS.get(self.key.split("-", 1)[0], "Open")

    @property
    def link(self) -> str:
        return LINKS.get(self.key, self.href)


# Labels (and links) for the sources that do not name their action themselves.
ACTIONS = {"balance": "Pay", "form": "Open", "insurance": "Add", "two": "Turn on"}
LINKS = {"balance": "/pay"}


@dataclass(frozen=True)
class TaskContext:
    client: dict[str, Any]  # the client's row
    two_factor_on: bool
    now: datetime
    practice: PracticeInfo
    balance: Balance
    open_forms: list[dict[str, Any]]  # id and title, oldest first
    upcoming: list[Visit]  # the visits on the dashboard (`appointments.next_visits`)


TaskSource = Callable[[TaskContext], Awaitable[list[Task]]]
SOURCES: tuple[TaskSource, ...] = ()


def use(sources: Sequence[TaskSource]) -> None:
    """Set the task sources, in the order their tasks are listed (called by create_app)."""
    global SOURCES
    SOURCES = tuple(sources)


async def tasks_for(ctx: TaskContext) -> list[Task]:
    tasks: list[Task] = []
    for source in SOURCES:
        tasks.extend(await source(ctx))
    return tasks

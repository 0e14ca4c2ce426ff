"""The dashboard's task list: what the client should do next, from real data.

Each area adds its own kind of task by decorating a function with
`@task_source`; the tasks widget only calls `tasks_for()`. A source takes a
`TaskContext` and returns `Task`s, with one query at most.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from portal.practice.info import PracticeInfo


@dataclass(frozen=True)
class Task:
    key: str
    text: str
    href: str


@dataclass(frozen=True)
class TaskContext:
    client_id: int
    user_id: int
    now: datetime
    practice: PracticeInfo


TaskSource = Callable[[TaskContext], Awaitable[list[Task]]]
SOURCES: list[TaskSource] = []


def task_source(fn: TaskSource) -> TaskSource:
    SOURCES.append(fn)
    return fn


async def tasks_for(ctx: TaskContext) -> list[Task]:
    tasks: list[Task] = []
    for source in SOURCES:
        tasks.extend(await source(ctx))
    return tasks

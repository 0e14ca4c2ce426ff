"""Staff pages. The staff home shows the practice's day."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from portal.appointments import practice_day
from portal.clock import utcnow
from portal.handlers.base import render, staff_only
from portal.practices import PracticeInfo


class StaffController(Controller):
    path = "/staff"
    guards = [staff_only]

    @get("/")
    async def home(self, request: Request, practice: NamedDependency[PracticeInfo]) -> Template:
        today = utcnow().astimezone(practice.time_zone).date()
        return await render(
            request,
            "pages/staff/home.html",
            {
                "practice": practice,
                "today": today,
                "appointments": await practice_day(today, practice.time_zone),
            },
        )

"""`portal availability load`: the file's rules take effect, and a key it does not know is an
error naming it, with nothing written (issue 15: `clients_may_cancel` in the file printed
"Loaded hours for 1 provider" and silently changed nothing)."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest

from portal.core.clock import utcnow
from portal.scheduling import availability
from portal.scheduling.availability import AvailabilityError
from portal.tables import AvailabilityBlock, Location, Provider
from tests import factories
from tests.http.test_schedule import practice_with_hours
from tests.web import sign_in

# A valid change put first in every refused file: it must not be written either.
CLEAR_HOURS = {"username": "ruiz", "hours": []}
ONE_HOUR = {"days": ["mon"], "from": "09:00", "to": "10:00", "place": "telehealth"}


async def _rules(provider_id: int) -> dict:
    return await (
        Provider.select(
            Provider.clients_may_confirm,
            Provider.clients_may_cancel,
            Provider.cancellation_window_hours,
        )
        .where(Provider.id == provider_id)
        .first()
    )


async def test_the_cancel_and_confirm_rules_in_the_file_reach_the_clients_page(http):
    env = await practice_with_hours()
    alice = await factories.client(env["practice"], "alice")
    await factories.appointment(
        alice["client_id"], env["provider"], env["service"], utcnow() + timedelta(days=5),
        location_id=env["location"],
    )  # fmt: skip
    await sign_in(http, "alice")
    before = (await http.get("/dashboard/widgets/appointments")).text
    assert ">Cancel<" in before and ">Confirm<" in before

    await availability.apply(
        {"provider": [{"username": "ruiz", "clients_may_cancel": False,
                       "clients_may_confirm": False, "cancellation_window_hours": 48}]}
    )  # fmt: skip
    assert await _rules(env["provider"]) == {
        "clients_may_confirm": False,
        "clients_may_cancel": False,
        "cancellation_window_hours": 48,
    }
    text = html.unescape((await http.get("/dashboard/widgets/appointments")).text)
    assert ">Cancel<" not in text and ">Confirm<" not in text
    assert "may not confirm, may not cancel online" in await availability.describe()


CASES = [
    (
        {"provider": [{"username": "ruiz", "clients_may_cancle": False}]},
        "provider #2: unknown key 'clients_may_cancle' (allowed: cancellation_window_hours,",
    ),
    ({"providers": []}, "top level: unknown key 'providers' (allowed: provider, service)"),
    (
        {"provider": [{"username": "ruiz", "hours": [{**ONE_HOUR, "bookable": False}]}]},
        "provider ruiz, hours #1: unknown key 'bookable'",
    ),
    (
        {
            "provider": [
                {
                    "username": "ruiz",
                    "exceptions": [
                        {"date": "2026-12-24", "kind": "off", "reason": "Holiday", "why": "x"}
                    ],
                }
            ]
        },
        "provider ruiz, exceptions #1: unknown keys 'reason', 'why'",
    ),  # fmt: skip
    (
        {"service": [{"name": "Individual therapy", "price": 100}]},
        "service #1: unknown key 'price'",
    ),
    (
        {"provider": [{"username": "ruiz", "clients_may_cancel": "no"}]},
        "provider ruiz: clients_may_cancel must be true or false",
    ),
    (
        {"provider": [{"username": "ruiz", "cancellation_window_hours": 1000}]},
        "provider ruiz: cancellation_window_hours must be a whole number from 0 to 720",
    ),
]


@pytest.mark.parametrize(("data", "message"), CASES)
async def test_an_unknown_key_or_bad_value_is_refused_and_nothing_is_written(http, data, message):
    env = await practice_with_hours()
    count = AvailabilityBlock.count().where(AvailabilityBlock.provider == env["provider"])
    before, rules = await count, await _rules(env["provider"])
    assert before > 0
    with pytest.raises(AvailabilityError) as caught:
        await availability.apply({**data, "provider": [CLEAR_HOURS, *data.get("provider", [])]})
    assert message in str(caught.value)
    assert (
        await AvailabilityBlock.count().where(AvailabilityBlock.provider == env["provider"])
        == before
    )
    assert await _rules(env["provider"]) == rules


async def test_a_retired_location_takes_no_new_hours(http):
    env = await practice_with_hours()
    await Location.update({Location.active: False}).where(Location.id == env["location"])
    hours = {**ONE_HOUR, "place": "Downtown office"}
    with pytest.raises(AvailabilityError) as caught:
        await availability.apply({"provider": [{"username": "ruiz", "hours": [hours]}]})
    assert "unknown place 'Downtown office' (locations: none, or telehealth)" in str(caught.value)

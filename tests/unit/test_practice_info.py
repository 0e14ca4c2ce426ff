"""The practice is read once per process and read again when it changes."""

from __future__ import annotations

from portal.billing import payment_settings
from portal.core.actor import Actor
from portal.core.crypto import Cipher
from portal.core.diagnostics import count_queries
from portal.practice import info
from portal.tables import Practice
from tests import factories


async def test_the_practice_is_kept_until_it_changes():
    p = await factories.practice(name="Harbor Counseling")
    engine = Practice._meta.db
    with count_queries(engine) as seen:
        first = await info.current_practice()
        again = await info.current_practice()
    assert first.name == again.name == "Harbor Counseling"
    # The practice and whether it takes card payments: two queries, the second answer
    # came from memory.
    assert len(seen) == 2, seen
    assert first.pays_online is False

    await Practice.update({Practice.name: "Harbor Counseling Group"}).where(Practice.id == p)
    assert (await info.current_practice()).name == "Harbor Counseling"  # not told yet
    info.changed()
    assert (await info.current_practice()).name == "Harbor Counseling Group"


async def test_saving_payment_keys_tells_every_page_at_once():
    p = await factories.practice(name="Harbor Counseling")
    info.changed()
    assert (await info.current_practice()).pays_online is False
    await payment_settings.save_settings(
        p,
        Cipher("x" * 32),
        publishable_key="pk_test_1",
        secret_key="sk_test_1",
        webhook_secret="",
        max_credit_cents=0,
        actor=Actor.system(),
    )
    assert (await info.current_practice()).pays_online is True


async def test_no_practice_yet_is_not_kept():
    info.changed()
    assert await info.current_practice() is None
    await Practice.insert(Practice(name="Later", time_zone="America/New_York"))  # nobody told
    assert (await info.current_practice()).name == "Later"


async def test_a_process_may_be_told_to_read_the_practice_every_time():
    await factories.practice(name="Harbor Counseling")
    engine = Practice._meta.db
    info.keep_for(0)  # server.practice_refresh_seconds = 0
    try:
        with count_queries(engine) as seen:
            await info.current_practice()
            await info.current_practice()
        assert len(seen) == 4  # the practice and its card payments, twice
    finally:
        info.keep_for(30)

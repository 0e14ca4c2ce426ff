"""My Insurance's details form with its card images (`policy.check_submission`), and writes
acting for an Actor in the one write transaction."""

from __future__ import annotations

import pytest

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Invalid
from portal.insurance import policy
from portal.tables import AuditEvent, Client
from tests import factories
from tests.http.test_insurance import GOOD


def test_details_with_a_card_side_chosen_and_one_kept():
    details, cards = policy.check_submission(
        GOOD, {"front": (factories.image("PNG"), "front.png")}, today=utcnow().date()
    )
    assert details.payer == "Blue Harbor Health" and details.subscriber_date_of_birth.year == 1986
    assert cards["front"].display_name == "front.png" and cards["back"] is None


@pytest.mark.parametrize(
    ("payer", "member_id", "same"),
    [
        ("Blue Harbor Health", "XKW 123-4567", True),
        ("  blue harbor   HEALTH ", "xkw1234567", True),  # as typed again, the same card
        ("Lighthouse Mutual", "XKW 123-4567", False),  # another company
        ("Blue Harbor Health", "XKW 123-4568", False),  # another member
    ],
)
def test_images_carry_over_only_to_the_same_card(payer, member_id, same):
    details, _ = policy.check_submission(
        {**GOOD, "payer": payer, "member_id": member_id}, {}, today=utcnow().date()
    )
    old = {"payer": "Blue Harbor Health", "member_id": "XKW 123-4567"}
    assert policy._same_card(old, details) is same
    assert policy._same_card(None, details) is False


def test_every_problem_at_once_details_and_cards():
    with pytest.raises(Invalid) as caught:
        policy.check_submission(
            {**GOOD, "payer": ""},
            {
                "front": (b"MZ not an image", "card.exe"),
                "back": (factories.image("PNG"), "back.png"),
            },
            today=utcnow().date(),
        )
    assert set(caught.value.errors) == {"payer", "card_front"}


def test_a_bad_card_alone_is_invalid():
    with pytest.raises(Invalid) as caught:
        policy.check_submission(GOOD, {"back": (b"", "empty.png")}, today=utcnow().date())
    assert list(caught.value.errors) == ["card_back"]


async def test_writes_record_who_acted():
    p = await factories.practice()
    c = await factories.client(p, "alice")
    actor = Actor(c["user_id"], "client", "203.0.113.7", "", None)
    details, cards = policy.check_submission(GOOD, {}, today=utcnow().date())
    await policy.save(c["client_id"], details, cards=cards, actor=actor, now=utcnow())
    assert await policy.choose_none(c["client_id"], actor=actor, now=utcnow())
    assert not await policy.choose_none(c["client_id"], actor=actor, now=utcnow())
    events = await AuditEvent.select().order_by(AuditEvent.id)
    assert [(e["action"], e["actor"], e["ip"]) for e in events] == [
        ("insurance.saved", c["user_id"], "203.0.113.7"),
        ("insurance.none_chosen", c["user_id"], "203.0.113.7"),
    ]
    row = await Client.select(Client.insurance_choice).where(Client.id == c["client_id"]).first()
    assert row["insurance_choice"] == policy.NONE

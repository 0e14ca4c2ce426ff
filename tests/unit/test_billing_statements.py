"""The period a client asks for on My Account (`statements.period`), the date of service of
a superbill, receipts of one's own payments, and documents the practice offers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from portal.billing import statements
from portal.core.errors import Invalid, NotFound
from portal.tables import Practice
from portal.tables.ledger import EntryKind
from tests import factories

TODAY = date(2026, 9, 15)


def test_no_dates_is_the_last_year():
    p = statements.period("", "", today=TODAY)
    assert (p.start, p.end, p.problem, p.error) == (TODAY - timedelta(days=365), TODAY, None, "")


def test_one_date_given_keeps_the_default_for_the_other():
    p = statements.period("2026-01-01", "", today=TODAY)
    assert (p.start, p.end) == (date(2026, 1, 1), TODAY)
    p = statements.period("", "2026-06-30", today=TODAY)
    assert (p.start, p.end) == (TODAY - timedelta(days=365), date(2026, 6, 30))


@pytest.mark.parametrize("start", ["2026-13-01", "31/01/2026", "yesterday"])
def test_unreadable_dates_fall_back_to_the_last_year_with_a_problem(start):
    p = statements.period(start, "2026-02-01", today=TODAY)
    assert (p.start, p.end) == (TODAY - timedelta(days=365), TODAY)
    assert isinstance(p.problem, Invalid) and p.error == "Enter dates like 2026-01-31."


def test_an_end_before_the_start_is_kept_as_asked_with_a_problem():
    p = statements.period("2026-10-31", "2026-09-01", today=TODAY)
    assert (p.start, p.end) == (date(2026, 10, 31), date(2026, 9, 1))
    assert p.error == "The end date is before the start date."


def test_at_most_three_years():
    start = date(2020, 1, 1)
    longest = statements.period(str(start), str(start + timedelta(days=3 * 366)), today=TODAY)
    assert longest.problem is None
    p = statements.period(str(start), str(start + timedelta(days=3 * 366 + 1)), today=TODAY)
    assert p.error == "Choose a range of at most three years."


def test_the_same_day_is_a_period():
    assert statements.period("2026-09-01", "2026-09-01", today=TODAY).problem is None


async def test_superbill_needs_a_date_with_a_service():
    p = await factories.practice()
    cid = (await factories.client(p, "alice"))["client_id"]
    await factories.ledger(cid, EntryKind.charge, 18000, on=date(2026, 9, 1))
    await factories.ledger(cid, EntryKind.payment, 5000, on=date(2026, 9, 2))
    day = date(2026, 9, 1)
    bill = await statements.superbill(cid, day, day)
    assert (bill.start, bill.end, bill.total, len(bill.lines)) == (day, day, 18000, 1)
    assert bill.dates == [day] and bill.client["first_name"] == "Alice"
    with pytest.raises(NotFound, match="There was no service on that date."):
        await statements.superbill(cid, date(2026, 9, 2), date(2026, 9, 2))
    with pytest.raises(NotFound, match="There was no service between those dates."):
        await statements.superbill(cid, date(2026, 9, 2), date(2026, 9, 30))


async def test_a_superbill_covers_every_date_of_service_in_its_period():
    p = await factories.practice()
    c = await factories.client(
        p, "alice", date_of_birth=date(1986, 4, 21), address_line1="14 Beacon Street",
        city="Boston", region="MA", postal_code="02116",
    )  # fmt: skip
    cid = c["client_id"]
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Ruiz", npi="1234567893")
    chen = await factories.provider(p, "chen", display_name="J. Chen", credentials="LCSW")
    therapy = await factories.service(p)
    for n, (on, prov, codes) in enumerate(
        [
            (date(2026, 9, 1), ruiz, "F41.1"),
            (date(2026, 9, 8), ruiz, "F41.1, F32.1"),
            (date(2026, 9, 15), chen, ""),
            (date(2026, 10, 1), ruiz, "F43.23"),  # after the period
        ]
    ):
        when = datetime(on.year, on.month, on.day, 15, tzinfo=UTC)
        appt = await factories.appointment(
            cid, prov["provider_id"], therapy, when, diagnosis_codes=codes,
            location_id=await factories.location(p) if n == 0 else None,
        )  # fmt: skip
        await factories.ledger(cid, EntryKind.charge, 15000, on=on, appointment=appt)
    bill = await statements.superbill(cid, date(2026, 9, 1), date(2026, 9, 30))
    assert bill.dates == [date(2026, 9, 1), date(2026, 9, 8), date(2026, 9, 15)]
    assert bill.total == 45000 and [x.cpt for x in bill.lines] == ["90834"] * 3
    assert bill.diagnoses == ["F41.1", "F32.1"]
    assert [x.diagnoses for x in bill.lines] == [["F41.1"], ["F41.1", "F32.1"], []]
    assert [x.place for x in bill.lines] == ["Office", "Telehealth", "Telehealth"]
    assert bill.providers == [("Dr. Ruiz", "", "1234567893"), ("J. Chen", "LCSW", "")]
    assert bill.client["date_of_birth"] == date(1986, 4, 21)
    assert (bill.client["address_line1"], bill.client["postal_code"]) == (
        "14 Beacon Street",
        "02116",
    )


async def test_a_receipt_is_of_ones_own_payment_only():
    p = await factories.practice()
    alice = (await factories.client(p, "alice"))["client_id"]
    bob = (await factories.client(p, "bob"))["client_id"]
    charge = await factories.ledger(alice, EntryKind.charge, 18000)
    paid = await factories.ledger(alice, EntryKind.payment, 5000)
    assert (await statements.receipt(alice, paid)).cents == 5000
    for client_id, entry_id in ((bob, paid), (alice, charge)):
        with pytest.raises(NotFound):
            await statements.receipt(client_id, entry_id)


async def test_documents_follow_the_practice_setting():
    p = await factories.practice()
    await statements.require_document(p, "fsa")
    await Practice.update(
        {Practice.settings: json.dumps({"client_documents": ["receipts"]})}
    ).where(Practice.id == p)
    await statements.require_document(p, "receipts")
    with pytest.raises(NotFound, match="does not offer this document"):
        await statements.require_document(p, "fsa")

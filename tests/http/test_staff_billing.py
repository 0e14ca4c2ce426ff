"""Staff › a client's billing over HTTP: charges (from an appointment, or on their own),
adjustments and write-offs, desk payments, each validated, audited and shown at once on
the staff ledger, the client's balance widget and the documents; who may do what."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from portal.core.diagnostics import count_queries
from portal.tables import AuditEvent, LedgerEntry
from portal.tables.accounts import Role
from portal.tables.ledger import EntryKind
from tests import factories
from tests.web import Page, post_form, sign_in, signed_in


async def world() -> dict:
    """A practice with Alice (an appointment with Dr. Ana), Bob, and one of each staff role."""
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", npi="1234567893", tax_id="12-3456789"
    )
    alice = await factories.client(
        p, "alice", first_name="Alice", last_name="Archer", address_line1="1 Elm St",
        city="Boston", region="MA", postal_code="02110",
        date_of_birth=datetime(1990, 4, 2).date(),
    )  # fmt: skip
    bob = await factories.client(p, "bob", first_name="Bob")
    ana = await factories.provider(p, "drana", display_name="Dr. Ana", npi="1987654321")
    await factories.provider(p, "drben", display_name="Dr. Ben")
    service = await factories.service(p)
    start = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    appt = await factories.appointment(alice["client_id"], ana["provider_id"], service, start)
    bob_appt = await factories.appointment(
        bob["client_id"], ana["provider_id"], service, start + timedelta(hours=2)
    )
    for name, role in (("bill", Role.biller), ("sched", Role.scheduler), ("boss", Role.owner),
                       ("mgr", Role.manager)):  # fmt: skip
        await factories.staff(name, role)
    cid = alice["client_id"]
    return {"practice": p, "client": cid, "bob": bob["client_id"], "appointment": appt,
            "bob_appointment": bob_appt, "base": f"/staff/clients/{cid}/billing"}  # fmt: skip


async def details(action: str) -> list[dict]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)
    return [r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]) for r in rows]


async def lines(client_id: int) -> list[dict]:
    return (
        await LedgerEntry.select().where(LedgerEntry.client == client_id).order_by(LedgerEntry.id)
    )


async def post(http, w, action: str, data: dict, *, htmx: bool = False):
    return await post_form(http, f"{w['base']}/{action}", data, page=f"{w['base']}/ledger",
                           htmx=htmx)  # fmt: skip


async def test_a_biller_charges_an_appointment_once_with_codes_from_its_service(http, app):
    w = await world()
    await sign_in(http, "bill")
    page = Page(await http.get(f"{w['base']}/ledger"))
    assert page.status_code == 200 and "Nothing owed" in page.text
    assert f'<option value="{w["appointment"]}">' in page.raw  # not yet charged
    assert f'value="{w["bob_appointment"]}"' not in page.raw  # Bob's is not offered

    r = await post(http, w, "charges", {"appointment": str(w["appointment"]),
                                        "diagnoses": "f41.1, F32.0"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{w['base']}/ledger?done=charge"
    [line] = await lines(w["client"])
    assert (line["kind"], line["amount_cents"], line["cpt_code"]) == ("charge", 15000, "90834")
    assert line["diagnosis_codes"] == "F41.1, F32.0" and line["appointment"] == w["appointment"]
    assert str(line["entry_date"]) == "2026-11-02" and line["description"] == "Individual therapy"
    [audited] = await details("billing.charge_posted")
    assert audited["old"] is None and audited["new"]["amount_cents"] == 15000
    assert line["posted_by"] is not None

    page = Page(await http.get(f"{w['base']}/ledger?done=charge"))
    assert "Charge posted." in page.text and "$150.00 owed" in page.text
    assert (
        "CPT 90834" in page.text and "ICD-10 F41.1, F32.0" in page.text and "by bill" in page.text
    )
    assert f'<option value="{w["appointment"]}">' not in page.raw

    # Twice: refused with a clear message (409), nothing written.
    again = await post(http, w, "charges", {"appointment": str(w["appointment"])}, htmx=True)
    assert again.status_code == 409 and "already charged" in again.text
    assert len(await lines(w["client"])) == 1
    # Bob's appointment, through Alice's ledger: as if it did not exist.
    foreign = await post(http, w, "charges", {"appointment": str(w["bob_appointment"])})
    assert foreign.status_code == 404 and len(await lines(w["client"])) == 1

    # The client sees it at once: the balance widget.
    async with signed_in(app, "alice") as alice:
        assert "$150.00" in (await alice.get("/dashboard/widgets/balance")).text


async def test_a_charge_on_its_own_and_every_bad_amount_is_refused_with_input_kept(http):
    w = await world()
    await sign_in(http, "bill")
    good = {"description": "Report for the court", "amount": "$1,170.50", "on": "2026-11-20",
            "cpt": "", "diagnoses": ""}  # fmt: skip
    for amount, message in [
        ("-5.00", "without a minus sign"),
        ("0", "more than $0.00"),
        ("0.00", "more than $0.00"),
        ("12,34", "like 1,170.50"),
        ("1.234", "like 1,170.50"),
        ("ten", "like 1,170.50"),
        ("1e3", "like 1,170.50"),
        ("", "Enter the amount"),
        ("100000000", "cannot be more than"),
    ]:
        r = await post(http, w, "charges", {**good, "amount": amount}, htmx=True)
        assert r.status_code == 422, amount
        page = Page(r)
        assert message in page.text and "<html" not in r.text
        assert 'value="Report for the court"' in page.raw and 'value="2026-11-20"' in page.raw
    bad_codes = await post(http, w, "charges", {**good, "diagnoses": "F41.1, 12345"}, htmx=True)
    assert bad_codes.status_code == 422 and "12345 is not an ICD-10 code" in bad_codes.text
    many = ", ".join(f"F4{i % 10}.{i}" for i in range(13))
    r = await post(http, w, "charges", {**good, "diagnoses": many}, htmx=True)
    assert r.status_code == 422 and "at most 12" in r.text
    r = await post(http, w, "charges", {**good, "description": "", "on": "tomorrow"}, htmx=True)
    assert r.status_code == 422 and "Say what the charge is for" in r.text
    assert "Enter the date like" in r.text
    assert await LedgerEntry.count() == 0  # nothing half-written

    r = await post(http, w, "charges", good, htmx=True)
    assert r.status_code == 200 and "Charge posted." in r.text and "$1,170.50 owed" in r.text
    assert "ledger-changed" in r.headers.get("hx-trigger", "")
    [line] = await lines(w["client"])
    assert line["amount_cents"] == 117050 and line["appointment"] is None


async def test_adjustments_write_offs_and_desk_payments_lower_the_balance(http, app):
    w = await world()
    await factories.ledger(w["client"], EntryKind.charge, 20000, description="Sessions")
    await sign_in(http, "bill")
    r = await post(http, w, "adjustments", {"kind": "write_off", "amount": "20", "reason": ""},
                   htmx=True)  # fmt: skip
    assert r.status_code == 422 and "Give the reason" in r.text and 'value="20"' in r.text
    r = await post(http, w, "adjustments", {"kind": "refund", "amount": "20", "reason": "x"})
    assert r.status_code == 422 and "Choose adjustment or write-off" in Page(r).text
    r = await post(http, w, "adjustments", {"kind": "write_off", "amount": "20.00",
                                            "reason": "Hardship"})  # fmt: skip
    assert r.status_code == 303
    r = await post(http, w, "adjustments", {"kind": "adjustment", "amount": "5.5",
                                            "shown": "Sliding-scale discount",
                                            "reason": "Courtesy"}, htmx=True)  # fmt: skip
    assert r.status_code == 200 and "$174.50 owed" in r.text
    r = await post(http, w, "payments", {"method": "bitcoin", "amount": "10"}, htmx=True)
    assert r.status_code == 422 and "Choose how it was paid" in r.text
    r = await post(http, w, "payments", {"method": "cheque", "amount": "100.00",
                                         "reference": "No. 1042", "on": "2026-11-05"})  # fmt: skip
    assert r.status_code == 303
    rows = await lines(w["client"])
    assert [(x["kind"], x["amount_cents"], x["method"]) for x in rows[1:]] == [
        ("write_off", 2000, ""), ("adjustment", 550, ""), ("payment", 10000, "cheque")
    ]  # fmt: skip
    # The reason is the staff's note; the client reads "Write-off" or what staff worded.
    assert (rows[1]["description"], rows[1]["note"]) == ("Write-off", "Hardship")
    assert (rows[2]["description"], rows[2]["note"]) == ("Sliding-scale discount", "Courtesy")
    assert "No. 1042" in rows[3]["description"]
    assert (await details("billing.write_off_posted"))[0]["new"]["note"] == "Hardship"
    assert len(await details("billing.write_off_posted")) == 1
    assert (await details("billing.payment_posted"))[0]["new"]["method"] == "cheque"

    page = Page(await http.get(f"{w['base']}/ledger"))
    assert "$74.50 owed" in page.text and "Write-off" in page.text and "Cheque" in page.text
    assert "Staff note: Hardship" in page.text and "Staff note: Courtesy" in page.text
    async with signed_in(app, "alice") as alice:
        assert "$74.50" in (await alice.get("/dashboard/widgets/balance")).text
        account = Page(await alice.get("/account"))
        assert "$74.50" in account.text
        # The client's own account names the write-off and shows it lowering the balance.
        assert "Write-off" in account.text and "-$20.00" in account.text
        assert "Sliding-scale discount" in account.text
        for note in ("Hardship", "Courtesy"):  # the staff's reasons stay on the staff side
            assert note not in account.text
            for doc in ("statement", "fsa", "superbill"):
                assert note not in (await alice.get(f"/account/{doc}")).text, doc

    # The staff statement: write-offs and adjustments together, with a minus; and its PDF.
    today = datetime.now(UTC).date()
    q = f"start={today - timedelta(days=400)}&end={today + timedelta(days=1)}"
    st = Page(await http.get(f"{w['base']}/documents/statement?{q}"))
    assert st.status_code == 200 and "-$25.50" in st.text and "-$100.00" in st.text
    assert "Back to the ledger" in st.text and "/documents/statement/pdf?" in st.raw
    assert 'href="/account/' not in st.raw  # the client's own PDF links stay on their side
    pdf = await http.get(f"{w['base']}/documents/statement/pdf?{q}")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    # The statement is for the client: the staff's note is not on it.
    assert "$74.50" in text and "Write-off" in text and "Hardship" not in text
    ledger_pdf = await http.get(f"{w['base']}/documents/ledger/pdf?{q}")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(ledger_pdf.content)).pages)
    assert "Write-off" in text and "Cheque payment: No. 1042" in text


async def test_superbill_and_fsa_statement_for_a_date_range(http):
    w = await world()
    await sign_in(http, "bill")
    await post(http, w, "charges", {"appointment": str(w["appointment"]), "diagnoses": "F41.1"})
    await post(http, w, "charges", {"description": "Group session", "amount": "80",
                                    "on": "2026-11-20", "cpt": "90853",
                                    "diagnoses": "F43.10"})  # fmt: skip
    q = "start=2026-11-01&end=2026-11-30"
    bill = Page(await http.get(f"{w['base']}/documents/superbill?{q}"))
    assert bill.status_code == 200 and 'href="/account/' not in bill.raw
    for shown in (
        "1234567893",
        "12-3456789",
        "1 Elm St",
        "04/02/1990",
        "Dr. Ana",
        "1987654321",
        "90834",
        "90853",
        "F41.1, F43.10",
        "$230.00",
        "2 services on 2 dates",
    ):
        assert shown in bill.text, shown
    pdf = await http.get(f"{w['base']}/documents/superbill/pdf?{q}")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "1234567893" in text and "F43.10" in text and "$230.00" in text
    fsa = Page(await http.get(f"{w['base']}/documents/fsa?start=2026-11-15&end=2026-11-30"))
    assert fsa.status_code == 200 and "Group session" in fsa.text
    assert 'href="/account/' not in fsa.raw
    assert "Individual therapy" not in fsa.text
    none = await http.get(f"{w['base']}/documents/superbill?start=2025-01-01&end=2025-01-31")
    assert none.status_code == 404
    wrong = await http.get(f"{w['base']}/documents/statement?start=2026-12-01&end=2026-11-01")
    assert wrong.status_code == 422 and "before the start" in Page(wrong).text
    assert (await http.get(f"{w['base']}/documents/receipt")).status_code == 404


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [("bill", 200, 303), ("boss", 200, 303), ("mgr", 200, 303), ("drana", 200, 403),
     ("drben", 404, 403), ("sched", 403, 403), ("alice", 403, 403)],
)  # fmt: skip
async def test_who_may_read_and_who_may_write(http, who, read, write):
    w = await world()
    await sign_in(http, who)
    page = await http.get(f"{w['base']}/ledger")
    assert page.status_code == read
    if read == 200:
        # A provider reads the ledger of her own client, and gets no forms.
        assert ('action="' + w["base"] + '/charges"' in page.text) == (write == 303)
    data = {"description": "Letter", "amount": "20", "on": "2026-11-20"}
    r = await post_form(http, f"{w['base']}/charges", data, page="/profile")
    assert r.status_code == write
    assert await LedgerEntry.count() == (1 if write == 303 else 0)
    # Another client's ledger, or one that does not exist: 404 for everyone who may write.
    if write == 303:
        r = await post_form(http, "/staff/clients/999999/billing/charges", data, page="/profile")
        assert r.status_code == 404


async def test_the_ledger_page_costs_the_same_queries_with_more_lines(http, app):
    w = await world()
    await sign_in(http, "bill")
    counts = {}
    for n in (1, 25):
        while await LedgerEntry.count() < n:
            await factories.ledger(w["client"], EntryKind.charge, 1000)
        await factories.ledger(w["client"], EntryKind.payment, 100, external_id=f"pi_x{n}")
        for url in ("ledger", "documents/statement", "documents/ledger"):
            await http.get(f"{w['base']}/{url}")
            with count_queries(app.state.engine) as seen:
                assert (await http.get(f"{w['base']}/{url}")).status_code == 200
            counts[(n, url)] = len(seen)
    for url in ("ledger", "documents/statement", "documents/ledger"):
        assert counts[(1, url)] == counts[(25, url)], counts
    assert counts[(25, "ledger")] <= 8, counts

"""Documents as files: "Download" links save the PDF (attachment), "view" links show it (inline)."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime

from pypdf import PdfReader

from portal.forms import definition, loader
from portal.handlers.help import PDF_NAME
from portal.tables import FormAssignment
from portal.tables.ledger import EntryKind
from tests import factories
from tests.web import post_form, sign_in


async def setup(http) -> dict:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    c = await factories.client(p, "alice", first_name="Alice")
    await sign_in(http, "alice")
    return {"practice": p, **c}


def download_link(page: str, label: str) -> str:
    """The href of the link whose text is `label` (it must carry the `download` attribute)."""
    m = re.search(rf'<a[^>]*href="([^"]+)"[^>]*>{re.escape(label)}', page)
    assert m, (label, page)
    assert " download" in m.group(0), m.group(0)
    return html.unescape(m.group(1))


def saved_as(r, filename: str) -> None:
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text[:300]
    assert r.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert r.headers["cache-control"] == "no-store"


async def test_billing_documents_download_as_attachments_and_view_as_pages(http):
    env = await setup(http)
    cid = env["client_id"]
    await factories.ledger(cid, EntryKind.charge, 18000, on=date(2026, 9, 1), description="Visit")
    paid = await factories.ledger(cid, EntryKind.payment, 10000, on=date(2026, 9, 2))
    cases = [
        (f"/account/receipts/{paid}", f"receipt-{paid}.pdf"),
        ("/account/statement?start=2026-09-01&end=2026-09-30", "statement-2026-09-01-2026-09-30.pdf"),
        ("/account/superbill?on=2026-09-01", "superbill-2026-09-01.pdf"),
        ("/account/fsa?start=2026-09-01&end=2026-09-30", "fsa-statement-2026-09-01-2026-09-30.pdf"),
    ]  # fmt: skip
    for view, filename in cases:
        page = await http.get(view)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        href = download_link(page.text, "Download as PDF")
        assert href.split("?")[0] == view.split("?")[0] + "/pdf"
        saved_as(await http.get(href), filename)


async def test_a_form_responses_pdf_downloads(http):
    env = await setup(http)
    form = {
        "slug": "consent",
        "title": "Consent",
        "assign": ["alice"],
        "field": [{"name": "signature", "type": "signature", "label": "Signature"}],
    }
    await loader.apply(definition.parse({"form": [form]}))
    fid = (
        await FormAssignment.select(FormAssignment.id)
        .where(FormAssignment.client == env["client_id"])
        .first()
    )["id"]
    r = await post_form(http, f"/forms/{fid}/submit", {"signature": "Alice Tester"}, page="/forms")
    assert r.status_code == 303
    page = (await http.get(f"/forms/{fid}")).text
    assert download_link(page, "Download PDF") == f"/forms/{fid}/pdf"
    saved_as(await http.get(f"/forms/{fid}/pdf"), f"consent-{fid}.pdf")


async def test_the_appointment_list_pdf_is_shown_or_saved_as_the_link_asks(http):
    env = await setup(http)
    prov = await factories.provider(env["practice"])
    service = await factories.service(env["practice"])
    await factories.appointment(
        env["client_id"], prov["provider_id"], service, datetime(2027, 3, 2, 15, 0, tzinfo=UTC)
    )
    page = (await http.get("/appointments/print")).text
    href = download_link(page, "PDF")
    assert href == "/appointments.pdf?download=1"
    saved_as(await http.get(href), "appointments.pdf")
    # Without ?download=1 (the dashboard's "PDF" link) the browser shows it.
    shown = await http.get("/appointments.pdf")
    assert shown.headers["content-disposition"] == 'inline; filename="appointments.pdf"'


async def test_the_guide_pdf_downloads(http):
    await setup(http)
    page = (await http.get("/help")).text
    href = download_link(page, "Save the Client Portal Guide (PDF)")
    saved_as(await http.get(href), PDF_NAME)


async def test_a_superbill_for_a_period_has_what_an_insurer_asks_for(http):
    from portal.core.db import write_transaction
    from portal.practice import info
    from portal.tables import Client, Practice

    env = await setup(http)
    p, cid = env["practice"], env["client_id"]
    async with write_transaction():
        await Practice.update({Practice.npi: "1528467396", Practice.tax_id: "04-3718265"}).where(
            Practice.id == p
        )
        await Client.update(
            {
                Client.date_of_birth: date(1986, 4, 21),
                Client.address_line1: "14 Beacon Street",
                Client.city: "Boston",
                Client.region: "MA",
                Client.postal_code: "02116",
            }
        ).where(Client.id == cid)
    info.changed()
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz", npi="1234567893")
    therapy = await factories.service(p)
    for on, codes in ((date(2026, 9, 1), "F41.1"), (date(2026, 9, 8), "F41.1, F32.1")):
        when = datetime(on.year, on.month, on.day, 15, tzinfo=UTC)
        appt = await factories.appointment(
            cid, ruiz["provider_id"], therapy, when, diagnosis_codes=codes
        )
        await factories.ledger(
            cid, EntryKind.charge, 15000, on=on, appointment=appt, description="Therapy"
        )
    page = (await http.get("/account")).text
    assert 'name="start"' in page.split('id="sb-h"')[1].split("</section>")[0]
    view = await http.get("/account/superbill?start=2026-09-01&end=2026-09-30")
    assert view.status_code == 200
    href = download_link(view.text, "Download as PDF")
    assert href == "/account/superbill/pdf?start=2026-09-01&end=2026-09-30"
    r = await http.get(href)
    saved_as(r, "superbill-2026-09-01-2026-09-30.pdf")
    text = " ".join(pg.extract_text() for pg in PdfReader(io.BytesIO(r.content)).pages)
    for expected in (
        "1 September 2026 to 30 September 2026",
        "Alice Tester",
        "04/21/1986",
        "14 Beacon Street",
        "Boston, MA 02116",
        "NPI: 1528467396",
        "Tax ID (EIN): 04-3718265",
        "Dr. Elena Ruiz (NPI 1234567893)",
        "09/01/2026",
        "09/08/2026",
        "90834",
        "F41.1, F32.1",
        "$150.00",
        "$300.00",
    ):
        assert expected in text, (expected, text)
    assert "—" not in text.split("Services")[1]  # every line has its codes
    # One date of service still works, and an empty period is not a superbill.
    assert (await http.get("/account/superbill?on=2026-09-08")).status_code == 200
    assert (await http.get("/account/superbill?start=2026-10-01&end=2026-10-31")).status_code == 404
    assert (await http.get("/account/superbill?start=2026-10-31&end=2026-10-01")).status_code == 422

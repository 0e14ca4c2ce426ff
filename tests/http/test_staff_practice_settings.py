"""Staff › Settings › Practice over HTTP: the practice's details, the portal's rules and the
terms of service, changed by the owner or a manager only; each section validated (422 by
field, the input kept, nothing written), audited with old and new values, and in effect for
clients at once (the per-process practice is read again)."""

from __future__ import annotations

import json

from portal.practice import terms
from portal.tables import AuditEvent, Practice, TermsVersion
from portal.tables.accounts import Role
from portal.tables.ledger import EntryKind
from tests import factories
from tests.web import Page, csrf_from, post_form, sign_in, signed_in

PAGE = "/staff/settings/practice"
DETAILS = {
    "name": "Harbor Counseling",
    "address_line1": "12 Harbor Street",
    "address_line2": "Suite 3",
    "city": "Boston",
    "region": "MA",
    "postal_code": "02110",
    "phone": "617 555 0142",
    "email": "Front.Desk@Harbor.example",
    "time_zone": "America/Chicago",
    "npi": "1234567893",
    "tax_id": "123456789",
}


async def people() -> dict:
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142"
    )
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz")
    users = {"ruiz": ruiz["user_id"]}
    for username, role in [("owner", Role.owner), ("marcus", Role.manager),
                           ("priya", Role.scheduler), ("tom", Role.biller)]:  # fmt: skip
        users[username] = await factories.staff(username, role)
    alice = await factories.client(p, "alice", first_name="Alice")
    return {"practice": p, "users": users, "alice": alice}


async def row(p: int) -> dict:
    return await Practice.select().where(Practice.id == p).first()


async def changes(section: str) -> list[dict]:
    events = await AuditEvent.select().where(AuditEvent.action == "practice.settings_changed")
    out = []
    for e in events:
        detail = json.loads(e["detail"]) if isinstance(e["detail"], str) else e["detail"]
        if detail["section"] == section:
            out.append(detail)
    return out


def rules(**kw) -> dict:
    return {
        "two_factor_policy": "nobody",
        "designated_scheduler": "",
        "designated_biller": "",
        "telehealth_link_minutes": "15",
        **kw,
    }


async def post_rules(http, data: dict, documents=("receipts", "statements", "superbills", "fsa"),
                     *, htmx=False):  # fmt: skip
    """The rules form as the page posts it: each ticked document a value of one field."""
    return await post_form(
        http, f"{PAGE}/rules", {**data, "client_documents": list(documents)}, page=PAGE, htmx=htmx
    )


async def test_the_practice_details_are_checked_by_field_then_saved_and_audited(http):
    env = await people()
    p = env["practice"]
    await sign_in(http, "marcus")
    page = Page(await http.get(PAGE))
    assert page.status_code == 200 and "Practice settings" in page.text
    for section in ('id="details"', 'id="rules"', 'id="terms"'):
        assert section in page.raw
    assert '<option value="America/New_York" selected>Eastern Time (America/New_York)' in page.raw
    assert 'href="/staff/settings/registration"' in page.raw

    bad = {**DETAILS, "name": "", "phone": "123", "email": "not an email",
           "time_zone": "Mars/Olympus_Mons", "npi": "1234567890", "tax_id": "12-345"}  # fmt: skip
    for htmx in (False, True):
        r = await post_form(http, f"{PAGE}/details", bad, page=PAGE, htmx=htmx)
        shown = Page(r)
        assert r.status_code == 422
        assert ("<html" in shown.raw) is not htmx
        for field, message in [
            ("name", "Enter the practice's name."),
            ("phone", "valid phone number"),
            ("email", "Enter an email address like"),
            ("time_zone", "Choose the practice's time zone"),
            ("npi", "An NPI is 10 digits"),
            ("tax_id", "as 12-3456789"),
        ]:
            assert f'id="ps-{field}-error"' in shown.raw and message in shown.text, field
            assert f'aria-describedby="ps-{field}' in shown.raw or field == "name"
        assert 'value="123"' in shown.raw and 'value="12-345"' in shown.raw  # input kept
        assert 'value="12 Harbor Street"' in shown.raw
    assert (await row(p))["city"] == "" and await changes("details") == []

    r = await post_form(http, f"{PAGE}/details", DETAILS, page=PAGE)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{PAGE}?done=details")
    saved = await row(p)
    assert saved["phone"] == "(617) 555-0142"  # unchanged once normalised
    assert saved["email"] == "Front.Desk@harbor.example" and saved["tax_id"] == "12-3456789"
    assert saved["npi"] == "1234567893" and saved["time_zone"] == "America/Chicago"
    assert "The practice's details are saved." in Page(await http.get(r.headers["location"])).text
    [event] = await changes("details")
    assert set(event["new"]) == {"address_line1", "address_line2", "city", "region",
                                 "postal_code", "email", "time_zone", "npi", "tax_id"}  # fmt: skip
    assert event["old"]["time_zone"] == "America/New_York" and event["old"]["npi"] == ""
    assert event["new"]["tax_id"] == "12-3456789"
    # The same again changes nothing and records nothing; with htmx the section alone.
    r = await post_form(http, f"{PAGE}/details", DETAILS, page=PAGE, htmx=True)
    assert r.status_code == 200 and "Nothing was changed." in r.text and "<html" not in r.text
    assert r.text.lstrip().startswith('<section id="details"')
    assert len(await changes("details")) == 1


async def test_a_new_name_shows_on_the_clients_dashboard_at_once(http, app):
    await people()
    async with signed_in(app, "alice") as alice:
        assert "Harbor Counseling" in (await alice.get("/")).text  # the practice now kept
        await sign_in(http, "owner")
        r = await post_form(
            http, f"{PAGE}/details", {**DETAILS, "name": "Lighthouse Therapy QZX"}, page=PAGE
        )
        assert r.status_code == 303
        dashboard = (await alice.get("/")).text
        assert "Lighthouse Therapy QZX" in dashboard and "Harbor Counseling" not in dashboard
        [event] = await changes("details")
        assert event["old"]["name"] == "Harbor Counseling"
        assert event["new"]["name"] == "Lighthouse Therapy QZX"


async def test_portal_rules_are_checked_saved_and_audited(http):
    env = await people()
    p, users = env["practice"], env["users"]
    await sign_in(http, "owner")
    page = (await http.get(PAGE)).text
    assert f'<option value="{users["priya"]}">priya (scheduler)</option>' in page
    assert f'value="{users["ruiz"]}"' not in page  # a provider is neither desk
    bad = rules(two_factor_policy="sometimes", telehealth_link_minutes="121",
                designated_scheduler=str(users["tom"]), designated_biller="abc")  # fmt: skip
    for htmx in (False, True):
        r = await post_rules(http, bad, ("receipts", "bogus"), htmx=htmx)
        shown = Page(r)
        assert r.status_code == 422 and ("<html" in shown.raw) is not htmx
        for field, message in [
            ("two_factor_policy", "Choose who must use two-factor"),
            ("telehealth_link_minutes", "from 0 to 120"),
            ("designated_scheduler", "Choose someone from the list"),
            ("designated_biller", "Choose someone from the list"),
            ("client_documents", "Tick only the documents listed."),
        ]:
            assert f'id="ps-{field}-error"' in shown.raw and message in shown.text, field
        assert 'value="121"' in shown.raw  # input kept
    assert (await row(p))["telehealth_link_minutes"] == 15 and await changes("rules") == []

    good = rules(two_factor_policy="staff", telehealth_link_minutes="30",
                 designated_scheduler=str(users["priya"]), designated_biller=str(users["marcus"]))  # fmt: skip
    r = await post_rules(http, good, ("statements", "superbills"))
    assert r.status_code == 303
    saved = await row(p)
    assert saved["two_factor_policy"] == "staff" and saved["telehealth_link_minutes"] == 30
    assert saved["designated_scheduler"] == users["priya"]
    assert saved["designated_biller"] == users["marcus"]
    settings = saved["settings"]
    settings = json.loads(settings) if isinstance(settings, str) else settings
    assert settings["client_documents"] == ["statements", "superbills"]
    [event] = await changes("rules")
    assert event["old"] == {
        "two_factor_policy": "nobody",
        "designated_scheduler": None,
        "designated_biller": None,
        "telehealth_link_minutes": 15,
        "client_documents": ["receipts", "statements", "superbills", "fsa"],
    }
    assert event["new"]["client_documents"] == ["statements", "superbills"]
    assert event["new"]["designated_scheduler"] == users["priya"]
    # Unticked boxes stay unticked on the page; a desk back to nobody is one change.
    page = (await http.get(PAGE)).text
    assert 'value="receipts">' in page and 'value="statements" checked>' in page
    r = await post_rules(
        http, {**good, "designated_biller": ""}, ("statements", "superbills"), htmx=True
    )
    assert r.status_code == 200 and "The portal's rules are saved." in Page(r).text
    assert (await row(p))["designated_biller"] is None
    assert (await changes("rules"))[-1]["new"] == {"designated_biller": None}


async def test_two_factor_for_everyone_makes_a_client_set_it_up_at_next_sign_in(http, app):
    await people()
    async with signed_in(app, "marcus") as marcus:
        r = await post_rules(marcus, rules(two_factor_policy="everyone"))
        assert r.status_code == 303
    r = await sign_in(http, "alice")
    assert r.headers["location"] == "/profile/two-factor"
    assert (await http.get("/")).headers["location"] == "/profile/two-factor"


async def test_documents_turned_off_are_not_offered_and_not_found(http, app):
    env = await people()
    alice = env["alice"]
    await factories.ledger(alice["client_id"], EntryKind.charge, 15000, description="Therapy")
    paid = await factories.ledger(alice["client_id"], EntryKind.payment, 5000)
    await sign_in(http, "alice")
    account = (await http.get("/account")).text
    assert f'href="/account/receipts/{paid}"' in account and "View FSA statement" in account
    assert (await http.get(f"/account/receipts/{paid}")).status_code == 200
    async with signed_in(app, "owner") as owner:
        assert (await post_rules(owner, rules(), ("statements",))).status_code == 303
    account = (await http.get("/account")).text
    assert "View statement" in account
    assert f'href="/account/receipts/{paid}"' not in account
    assert "View FSA statement" not in account and "View superbill" not in account
    for url in (f"/account/receipts/{paid}", f"/account/receipts/{paid}/pdf", "/account/fsa",
                "/account/fsa/pdf", "/account/superbill", "/account/superbill/pdf"):  # fmt: skip
        assert (await http.get(url)).status_code == 404, url
    assert (await http.get("/account/statement")).status_code == 200
    # And back on: offered again at once.
    async with signed_in(app, "owner") as owner:
        assert (await post_rules(owner, rules())).status_code == 303
    assert (await http.get(f"/account/receipts/{paid}")).status_code == 200
    assert "View FSA statement" in (await http.get("/account")).text


async def test_publishing_terms_makes_clients_accept_them_at_next_sign_in(http, app):
    await people()
    first = await terms.publish("2026-01", "Be kind.\n\nPay on time.")
    async with signed_in(app, "alice") as alice:
        page = await alice.get("/terms/accept")
        await alice.post(
            "/terms/accept",
            data={"terms_id": str(first), "agree": "yes", "_csrf_token": csrf_from(page.text)},
        )
        assert (await alice.get("/")).status_code == 200
        await sign_in(http, "marcus")
        shown = Page(await http.get(PAGE))
        assert "2026-01" in shown.text and "Accepted by" in shown.text
        assert "1 person" in shown.text and "Pay on time." in shown.text

        for data, htmx, fields in [
            ({"version": "", "text": "  "}, False, ("version", "text")),
            ({"version": "2026-01", "text": "New terms."}, True, ("version",)),
            ({"version": "x" * 41, "text": "New terms."}, False, ("version",)),
        ]:
            r = await post_form(http, f"{PAGE}/terms", data, page=PAGE, htmx=htmx)
            shown = Page(r)
            assert r.status_code == 422 and ("<html" in shown.raw) is not htmx, data
            for field in fields:
                assert f'id="ps-{field}-error"' in shown.raw, (data, field)
            if data["text"].strip():
                assert "New terms." in shown.text  # input kept
            if data["version"] == "2026-01":
                assert "already published" in shown.text
        assert await TermsVersion.count() == 1

        r = await post_form(
            http, f"{PAGE}/terms", {"version": "2027-01", "text": "Be kind.\r\n\r\nCall us."},
            page=PAGE, htmx=True,
        )  # fmt: skip
        assert r.status_code == 200 and "The new terms are published" in r.text
        assert "2027-01" in r.text and "0 people" in r.text
        assert (await terms.current())["body"] == "Be kind.\n\nCall us."
        [event] = await changes("terms")
        assert event["old"] == {"version": "2026-01"} and event["new"] == {"version": "2027-01"}
        # As after `portal terms publish`: the session already open carries on...
        assert (await alice.get("/")).status_code == 200
    # ...and at the next sign-in the new terms come first.
    async with signed_in(app, "alice") as alice:
        assert (await alice.get("/")).headers["location"] == "/terms/accept"
        assert "Call us." in (await alice.get("/terms/accept")).text


async def test_only_the_owner_and_managers_reach_practice_settings(http, app):
    env = await people()
    before = await row(env["practice"])
    for username in ("ruiz", "priya", "tom", "alice"):
        async with signed_in(app, username) as other:
            assert (await other.get(PAGE)).status_code == 403, username
            for section, data in [("details", {**DETAILS, "name": "Sneaky"}),
                                  ("rules", rules(two_factor_policy="everyone")),
                                  ("terms", {"version": "9", "text": "Sneaky."})]:  # fmt: skip
                r = await post_form(other, f"{PAGE}/{section}", data, page="/profile")
                assert r.status_code == 403, (username, section)
    assert await row(env["practice"]) == before and await TermsVersion.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "practice.settings_changed") == 0
    for username in ("owner", "marcus"):
        async with signed_in(app, username) as allowed:
            assert (await allowed.get(PAGE)).status_code == 200


async def test_the_page_and_its_refused_sections_are_valid_html(http, tmp_path):
    import asyncio

    from tests.http.test_html_valid import as_document, check, required_vnu_jar

    jar = required_vnu_jar()
    await people()
    await terms.publish("2026-01", "Be kind.\n\nPay on time.")
    await sign_in(http, "owner")
    docs = {"page": (await http.get(PAGE)).text}
    refused = {
        "details": {**DETAILS, "name": "", "phone": "1", "npi": "1", "time_zone": "x"},
        "rules": {
            "two_factor_policy": "x",
            "telehealth_link_minutes": "x",
            "designated_scheduler": "x",
            "client_documents": ["x"],
        },  # fmt: skip
        "terms": {"version": "", "text": ""},
    }
    for section, data in refused.items():
        r = await post_form(http, f"{PAGE}/{section}", data, page=PAGE)
        assert r.status_code == 422
        docs[f"{section} refused"] = r.text
        r = await post_form(http, f"{PAGE}/{section}", data, page=PAGE, htmx=True)
        docs[f"{section} refused, fragment"] = as_document(r.text)
    errors = await asyncio.to_thread(check, jar, docs, tmp_path)
    assert not errors, "\n".join(errors)

"""Staff › Settings › Custom demographics over HTTP: defined, edited, moved and removed by
the owner or a manager only (each action validated and audited), used when creating a
client, and never on any page or fragment the client sees."""

from __future__ import annotations

from portal.accounts.auth import create_user
from portal.tables import AuditEvent, Client, CustomField, CustomFieldValue
from portal.tables.accounts import Role
from tests import factories
from tests.http.test_html_valid import links
from tests.http.test_staff_clients import GOOD, NEW, people
from tests.web import Page, post_form, sign_in, signed_in

SETTINGS = "/staff/settings/demographics"


async def add_field(http, label: str, kind: str = "text", choices: str = "", *, htmx=False):
    return await post_form(
        http, SETTINGS, {"label": label, "kind": kind, "choices": choices}, page=SETTINGS, htmx=htmx
    )


async def fields_now(p: int) -> list[tuple[str, str]]:
    rows = (
        await CustomField.select().where(CustomField.practice == p).order_by(CustomField.position)
    )
    return [(r["label"], r["kind"]) for r in rows]


async def test_owner_or_manager_define_edit_move_and_remove_custom_fields(http):
    env = await people()
    p = env["practice"]
    await sign_in(http, "marcus")
    page = Page(await http.get(SETTINGS))
    assert page.status_code == 200 and "Clients never see them" in page.text
    assert (await add_field(http, "Referral source")).status_code == 303
    assert (await add_field(http, "Veteran", "yesno")).status_code == 303
    r = await add_field(
        http, "Preferred language", "choice", "English\r\nSpanish\r\n\r\nPortuguese", htmx=True
    )
    assert r.status_code == 200 and 'id="custom-fields"' in r.text and "Field added." in r.text
    assert "<html" not in r.text
    assert (await add_field(http, "First visit", "date")).status_code == 303
    assert await fields_now(p) == [("Referral source", "text"), ("Veteran", "yesno"),
                                   ("Preferred language", "choice"), ("First visit", "date")]  # fmt: skip
    ids = [r["id"] for r in await CustomField.select(CustomField.id).order_by(CustomField.position)]

    # Bad input: 422 with the message by its field, the input kept, nothing written.
    for data, message, htmx in [
        ({"label": "", "kind": "text"}, "Give the field a label.", False),
        (
            {"label": "Insurer", "kind": "choice", "choices": "Only one"},
            "at least two options",
            True,
        ),
        ({"label": "Insurer", "kind": "colour"}, "Choose what kind of answer", False),
    ]:
        r = await post_form(http, SETTINGS, {"choices": "", **data}, page=SETTINGS, htmx=htmx)
        page = Page(r)
        assert r.status_code == 422 and message in page.text, data
        assert f'value="{data["label"]}"' in page.raw
        assert ("<html" in page.raw) is not htmx
    assert len(await fields_now(p)) == 4

    # Edit.
    r = await post_form(
        http,
        f"{SETTINGS}/{ids[0]}",
        {"label": "How they heard of us", "kind": "text"},
        page=SETTINGS,
    )
    assert r.status_code == 303 and r.headers["location"] == f"{SETTINGS}?done=changed"
    r = await post_form(
        http, f"{SETTINGS}/{ids[0]}", {"label": "", "kind": "text"}, page=SETTINGS, htmx=True
    )
    assert r.status_code == 422 and "Give the field a label." in r.text and "open" in r.text
    # Move up / down.
    r = await post_form(http, f"{SETTINGS}/{ids[3]}/move", {"direction": "up"}, page=SETTINGS)
    assert r.status_code == 303
    r = await post_form(
        http, f"{SETTINGS}/{ids[0]}/move", {"direction": "down"}, page=SETTINGS, htmx=True
    )
    assert r.status_code == 200 and "Order saved." in r.text
    assert [x[0] for x in await fields_now(p)] == [
        "Veteran",
        "How they heard of us",
        "First visit",
        "Preferred language",
    ]
    r = await post_form(http, f"{SETTINGS}/{ids[0]}/move", {"direction": "sideways"}, page=SETTINGS)
    assert r.status_code == 422
    # Remove: the confirmation is in the page (a disclosure, no JavaScript needed).
    page = (await http.get(SETTINGS)).text
    assert f'action="{SETTINGS}/{ids[1]}/delete"' in page and "Yes, remove" in page
    await CustomFieldValue.insert(CustomFieldValue(field=ids[1], client=env["carol"], value="yes"))
    r = await post_form(http, f"{SETTINGS}/{ids[1]}/delete", {}, page=SETTINGS)
    assert r.status_code == 303
    assert [x[0] for x in await fields_now(p)] == [
        "How they heard of us",
        "First visit",
        "Preferred language",
    ]
    assert await CustomFieldValue.count() == 0
    # Another practice's field, or none: 404.
    for path, data in [("/999999/delete", {}), ("/999999", {"label": ""}), ("/999999/move", {})]:
        assert (await post_form(http, SETTINGS + path, data, page=SETTINGS)).status_code == 404
    actions = [
        e["action"] for e in await AuditEvent.select(AuditEvent.action).order_by(AuditEvent.id)
    ]
    assert actions.count("staff.custom_field_added") == 4
    assert actions.count("staff.custom_field_changed") == 1
    assert actions.count("staff.custom_field_moved") == 2
    assert actions.count("staff.custom_field_removed") == 1


async def test_only_owner_and_manager_reach_the_custom_demographics_settings(http, app):
    await people()
    for username in ("ruiz", "priya", "tom", "alice"):
        async with signed_in(app, username) as other:
            assert (await other.get(SETTINGS)).status_code == 403, username
            r = await post_form(
                other, SETTINGS, {"label": "Sneaky", "kind": "text"}, page="/profile"
            )
            assert r.status_code == 403, username
            menu = (await other.get("/staff/clients" if username != "alice" else "/")).text
            assert 'href="/staff/settings/demographics"' not in menu
    assert await CustomField.count() == 0
    async with signed_in(app, "owner") as owner:
        assert (await owner.get(SETTINGS)).status_code == 200


async def test_custom_demographics_on_create_and_never_on_a_client_page(http, app):
    await people()
    await sign_in(http, "owner")
    await add_field(http, "Referral source QZX")
    await add_field(http, "Veteran status QZX", "yesno")
    await add_field(http, "Clinic site QZX", "choice", "North QZX\nSouth QZX")
    await add_field(http, "Intake date QZX", "date")
    ids = {r["label"]: r["id"] for r in await CustomField.select()}
    page = Page(await http.get(NEW))
    for label, fid in ids.items():
        assert label in page.text and f'name="custom_{fid}"' in page.raw
    assert f'type="radio" name="custom_{ids["Veteran status QZX"]}" value="yes"' in page.raw
    assert 'type="date"' in page.raw and "North QZX" in page.text
    values = {
        f"custom_{ids['Referral source QZX']}": "Lighthouse Outreach QZX",
        f"custom_{ids['Veteran status QZX']}": "yes",
        f"custom_{ids['Clinic site QZX']}": "South QZX",
        f"custom_{ids['Intake date QZX']}": "2024-03-31",
    }
    # Checked like any other field.
    bad = {
        **GOOD,
        **values,
        f"custom_{ids['Clinic site QZX']}": "East QZX",
        f"custom_{ids['Intake date QZX']}": "soon",
    }
    r = await post_form(http, "/staff/clients", bad, page=NEW)
    assert r.status_code == 422 and "Choose one of the listed options." in Page(r).text
    assert "Enter a date" in Page(r).text and 'value="Lighthouse Outreach QZX"' in r.text
    r = await post_form(http, "/staff/clients", {**GOOD, **values}, page=NEW)
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    saved = {
        v["field"]: v["value"]
        for v in await CustomFieldValue.select().where(CustomFieldValue.client == cid)
    }
    assert saved == {int(k.split("_")[1]): v for k, v in values.items()}

    # The client gets an account and signs in: nothing of it reaches them.
    uid = await create_user("dana", "dana.reyes@mail.example", factories.PASSWORD, Role.client)
    await Client.update({Client.user: uid}).where(Client.id == cid)
    secrets_ = ["QZX", "Lighthouse Outreach", "Referral source", "Veteran status"]
    async with signed_in(app, "dana") as client:
        seen: set[str] = set()
        todo = ["/", "/profile", "/profile/phones", "/profile/emails", "/profile/reminders",
                "/profile/contacts", "/profile/photo-id", "/profile/username-password",
                "/profile/login-history", "/profile/sessions", "/profile/two-factor",
                "/dashboard/widgets/tasks", "/dashboard/widgets/appointments",
                "/dashboard/widgets/balance", "/dashboard/widgets/two-factor"]  # fmt: skip
        pages = 0
        while todo and pages < 80:
            url = todo.pop()
            if url in seen or url.startswith("/staff"):
                continue
            seen.add(url)
            for headers in ({}, {"HX-Request": "true"}):
                r = await client.get(url, headers=headers)
                if "text/html" not in r.headers.get("content-type", ""):
                    continue
                pages += 1
                text = Page(r).text
                for s in secrets_:
                    assert s not in text, (url, headers, s)
                if not headers:
                    todo.extend(links(r.text, url) - seen)
        assert pages > 20


async def test_the_new_client_form_and_list_show_staff_only_notice_and_links(http):
    await people()
    await sign_in(http, "owner")
    await add_field(http, "Referral source")
    page = Page(await http.get(NEW))
    assert "Seen by staff only, never by the client." in page.text
    lst = Page(await http.get("/staff/clients?q=quinn"))
    assert 'href="/staff/clients/new"' in lst.raw
    assert 'id="staff-search-q" name="q" type="search" value="quinn"' in lst.raw

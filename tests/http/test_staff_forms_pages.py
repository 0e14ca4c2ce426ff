"""Staff › Settings › Forms over HTTP: the list of templates (owner and manager only),
with open and submitted counts, at a query cost that does not grow with the templates."""

from __future__ import annotations

import re

import pytest

from portal.core.actor import Actor
from portal.core.diagnostics import count_queries
from portal.forms import assigning, editor, templates
from portal.tables import AuditEvent
from tests import factories
from tests.http.test_html_valid import as_document, check, required_vnu_jar
from tests.http.test_staff_clients import people
from tests.web import Page, post_form, sign_in

FORMS = "/staff/settings/forms"


def typed(title: str) -> dict:
    row = {**editor.blank_row(), "label": "Full name", "kind": "short_text", "required": "yes"}
    return {"title": title, "version": "1", "intro": "", "consent": "", "rows": [row]}


async def add_template(practice: int, title: str) -> int:
    t, errors = editor.check(typed(title), await templates.new_slug(title))
    assert not errors, errors
    return await templates.create(practice, t, Actor.system())


async def test_the_list_shows_active_and_retired_forms_with_their_counts(http):
    env = await people()
    intake = await add_template(env["practice"], "Zebra intake")
    old = await add_template(env["practice"], "Old history")
    await templates.set_active(env["practice"], old, False, Actor.system())
    await assigning.assign(env["practice"], env["alice"], intake, Actor.system())
    await sign_in(http, "marcus")
    page = Page(await http.get(FORMS))
    assert page.status_code == 200
    assert f'href="{FORMS}/{intake}"' in page.raw and f'href="{FORMS}/{old}"' in page.raw
    assert "Zebra intake" in page.text and "Old history" in page.text and "Retired" in page.text
    rows = {
        cells[0]: cells[1:]
        for cells in (
            [c.strip() for c in re.sub(r"<[^>]+>", "|", tr).split("|") if c.strip()]
            for tr in re.findall(r"<tr>(.*?)</tr>", page.raw, re.S)
        )
    }
    assert rows["Zebra intake"] == ["(version 1)", "Active", "1", "0"], rows
    assert rows["Old history"] == ["(version 1)", "Retired", "0", "0"], rows
    # Active first: the retired one after the active one despite its title.
    assert page.text.index("Zebra intake") < page.text.index("Old history")
    assert f'href="{FORMS}"' in page.raw and 'aria-current="page"' in page.raw


@pytest.mark.parametrize("who", ["provider", "scheduler", "biller"])
async def test_other_staff_are_refused(http, who):
    await people()
    await sign_in(http, {"provider": "ruiz", "scheduler": "priya", "biller": "tom"}[who])
    r = await http.get(FORMS)
    assert r.status_code == 403


async def test_signed_out_goes_to_sign_in(http):
    r = await http.get(FORMS)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


async def test_the_page_costs_the_same_queries_for_many_forms(http, app):
    env = await people()
    await sign_in(http, "owner")
    counts = {}
    for n in (1, 15):
        while len(await templates.listing(env["practice"])) < n:
            await add_template(
                env["practice"], f"Form {n}-{len(await templates.listing(env['practice']))}"
            )
        await http.get(FORMS)
        with count_queries(app.state.engine) as seen:
            assert (await http.get(FORMS)).status_code == 200
        counts[n] = len(seen)
    assert counts[1] == counts[15], counts


async def test_the_page_is_valid_html(http, tmp_path):
    jar = required_vnu_jar()
    env = await people()
    intake = await add_template(env["practice"], "Intake")
    await sign_in(http, "owner")
    docs = {"forms list": (await http.get(FORMS)).text}
    docs["preview"] = (await http.get(f"{FORMS}/{intake}/preview")).text
    docs["new"] = (await http.get(f"{FORMS}/new")).text
    docs["edit"] = (await http.get(f"{FORMS}/{intake}?done=saved")).text
    bad = posted("", op="save", **{"field-2-choices": "", "consent": "x" * 30000})
    r = await post_form(http, FORMS, bad, page=f"{FORMS}/new")
    assert r.status_code == 422
    docs["refused"] = r.text
    r = await post_form(http, FORMS, bad, page=f"{FORMS}/new", htmx=True)
    docs["refused fragment"] = as_document(r.text)
    assert check(jar, docs, tmp_path) == []


# --- The editor -------------------------------------------------------------------------


def posted(title: str = "Intake", **extra: str) -> dict:
    data = {"title": title, "version": "1", "intro": "Please read.", "consent": "I agree.",
            "rows": "2", "field-1-label": "Full name", "field-1-kind": "short_text",
            "field-1-required": "yes", "field-2-label": "Colour",
            "field-2-kind": "single_choice", "field-2-choices": "Red\nBlue"}  # fmt: skip
    return data | extra


async def test_a_manager_creates_and_saves_a_form_audited(http):
    env = await people()
    await sign_in(http, "marcus")
    page = Page(await http.get(f"{FORMS}/new"))
    assert page.status_code == 200 and f'action="{FORMS}"' in page.raw
    r = await post_form(http, FORMS, posted(op="save"), page=f"{FORMS}/new")
    assert r.status_code == 303
    [item] = await templates.listing(env["practice"])
    assert r.headers["location"] == f"{FORMS}/{item.id}?done=created"
    assert [f["label"] for f in item.fields] == ["Full name", "Colour"]
    assert item.definition["consent"] == "I agree."
    page = Page(await http.get(r.headers["location"]))
    assert "Form created" in page.text and 'value="Full name"' in page.raw
    url = f"{FORMS}/{item.id}"
    r = await post_form(http, url, posted("Intake 2", op="save"), page=url)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?done=saved"
    assert (await templates.one(env["practice"], item.id)).title == "Intake 2"
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action)]
    assert "forms.template_created" in actions and "forms.template_changed" in actions


async def test_rows_move_remove_and_add_without_saving(http):
    env = await people()
    await sign_in(http, "owner")
    r = await post_form(http, FORMS, posted(op="down-1"), page=f"{FORMS}/new")
    assert r.status_code == 200
    assert r.text.index('value="Colour"') < r.text.index('value="Full name"')
    r = await post_form(http, FORMS, posted(op="remove-1"), page=f"{FORMS}/new")
    assert 'value="Full name"' not in r.text and 'value="Colour"' in r.text
    r = await post_form(http, FORMS, posted(op="add"), page=f"{FORMS}/new", htmx=True)
    assert r.status_code == 200 and 'name="field-3-label"' in r.text
    assert 'id="form-editor"' in r.text and "<html" not in r.text
    assert await templates.listing(env["practice"]) == []


async def test_bad_input_is_422_with_messages_by_the_inputs_and_kept(http):
    env = await people()
    await sign_in(http, "owner")
    bad = posted("", op="save", **{"field-2-choices": ""})
    for htmx in (False, True):
        r = await post_form(http, FORMS, bad, page=f"{FORMS}/new", htmx=htmx)
        assert r.status_code == 422
        assert 'id="form-title-error"' in r.text and 'id="form-row-2-error"' in r.text
        assert 'href="#form-title"' in r.text and 'value="Full name"' in r.text
    assert await templates.listing(env["practice"]) == []


async def test_another_practices_form_or_none_is_404(http):
    await people()
    other = await factories.practice(name="Elsewhere")
    theirs = await add_template(other, "Theirs")
    await sign_in(http, "owner")
    assert (await http.get(f"{FORMS}/{theirs}")).status_code == 404
    assert (await http.get(f"{FORMS}/999999")).status_code == 404
    r = await post_form(http, f"{FORMS}/{theirs}", posted(op="save"), page=FORMS)
    assert r.status_code == 404
    assert (await templates.one(other, theirs)).title == "Theirs"


async def test_the_preview_shows_the_form_disabled_and_labelled(http):
    env = await people()
    await sign_in(http, "marcus")
    r = await post_form(http, FORMS, posted(op="save"), page=f"{FORMS}/new")
    [item] = await templates.listing(env["practice"])
    page = Page(await http.get(f"{FORMS}/{item.id}/preview"))
    assert page.status_code == 200 and "Preview" in page.text
    assert "I agree." in page.text and "Full name" in page.text and "Blue" in page.text
    assert "<fieldset disabled>" in page.raw and "/submit" not in page.raw
    assert 'type="submit"' not in page.raw.split("Back to editing", 1)[-1]
    other = await factories.practice(name="Elsewhere")
    theirs = await add_template(other, "Theirs")
    assert (await http.get(f"{FORMS}/{theirs}/preview")).status_code == 404
    assert r.status_code == 303


async def test_retire_restore_new_clients_and_assign_upcoming(http):
    env = await people()  # Alice and Robert have their first appointment to come
    form = await add_template(env["practice"], "History")
    await sign_in(http, "marcus")
    url = f"{FORMS}/{form}"

    async def act(action: str, data: dict | None = None) -> Page:
        r = await post_form(http, f"{url}/{action}", data or {}, page=url)
        assert r.status_code == 303, r.text
        return Page(await http.get(r.headers["location"]))

    page = await act("new-clients", {"on": "yes"})
    assert "Every new client will now be given this form." in page.text
    assert (await templates.one(env["practice"], form)).assign_to_new_clients
    page = await act("assign-upcoming")
    assert "Assigned to 2 clients." in page.text
    assert "Assigned to 0 clients." in (await act("assign-upcoming")).text
    page = await act("retire")
    assert "Form retired" in page.text and "Restore this form" in page.text
    r = await post_form(http, f"{url}/assign-upcoming", {}, page=url)
    assert r.status_code == 409 and "is retired" in r.text
    assert "Form restored" in (await act("restore")).text
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action)]
    for a in ("new_clients", "assigned_upcoming", "retired", "restored"):
        assert any(x.endswith(a) for x in actions), (a, actions)
    other = await factories.practice(name="Elsewhere")
    theirs = await add_template(other, "Theirs")
    r = await post_form(http, f"{FORMS}/{theirs}/retire", {}, page=url)
    assert r.status_code == 404 and (await templates.one(other, theirs)).active


async def test_assign_to_one_client_found_by_name(http):
    env = await people()
    form = await add_template(env["practice"], "History")
    await sign_in(http, "marcus")
    url = f"{FORMS}/{form}"
    page = Page(await http.get(f"{url}?q=Quinn"))
    assert (
        "Assign to Robert Quinn" in page.text
        and "Alice" not in page.text.split("Find a client")[-1]
    )
    r = await post_form(http, f"{url}/assign", {"client": str(env["robert"])}, page=url)
    assert r.status_code == 303
    assert "Form assigned" in Page(await http.get(r.headers["location"])).text
    r = await post_form(http, f"{url}/assign", {"client": str(env["robert"])}, page=url)
    assert r.status_code == 409 and "already waiting for this client" in r.text
    other = await factories.practice(name="Elsewhere")
    stranger = await factories.client(other, "stranger")
    r = await post_form(http, f"{url}/assign", {"client": str(stranger["client_id"])}, page=url)
    assert r.status_code == 404

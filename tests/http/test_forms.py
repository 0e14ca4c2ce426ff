"""My Docs & Forms over HTTP: list, fill in, drafts, submit once, read-only, PDF, and who may see what."""

from __future__ import annotations

import asyncio
import html
import io
import json
import re

import pytest
from pypdf import PdfReader

from portal.core.diagnostics import count_queries
from portal.forms import definition, loader
from portal.tables import AuditEvent, FormAssignment
from tests import factories
from tests.conftest import client_for
from tests.web import Page, csrf_token, post_form, sign_in, signed_in

INTAKE = {
    "slug": "intake",
    "title": "Intake",
    "version": "1",
    "intro": "Tell us about yourself.",
    "assign": ["alice", "bob"],
    "field": [
        {"name": "reason", "type": "long_text", "label": "Why now", "required": True, "max_length": 50},
        {"name": "nickname", "type": "short_text", "label": "Nickname", "max_length": 10},
        {"name": "born", "type": "date", "label": "Date of birth", "required": True},
        {"name": "seen", "type": "single_choice", "label": "Seen before", "choices": ["Yes", "No"], "required": True},
        {"name": "concerns", "type": "multiple_choice", "label": "Concerns", "choices": ["Sleep", "Mood", "Worry"]},
        {"name": "email_ok", "type": "checkbox", "label": "Email me"},
        {"name": "agree", "type": "checkbox", "label": "I agree", "required": True},
        {"name": "signature", "type": "signature", "label": "Signature"},
    ],
}  # fmt: skip
CONSENT = {
    "slug": "consent",
    "title": "Consent to treatment",
    "assign": ["alice"],
    "field": [{"name": "signature", "type": "signature", "label": "Signature"}],
}
GOOD = {
    "reason": "Trouble sleeping",
    "nickname": "Al",
    "born": "1985-03-14",
    "seen": "No",
    "concerns": ["Worry", "Sleep"],
    "email_ok": "yes",
    "agree": "yes",
    "signature": "  Alice   Tester ",
}


async def setup(http, *, sign_in_as: str | None = "alice") -> dict:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    alice = await factories.client(p, "alice", first_name="Alice", last_name="Tester")
    bob = await factories.client(p, "bob", first_name="Bob")
    await loader.apply(definition.parse({"form": [INTAKE, CONSENT]}))
    ids = {}
    for who, c in (("alice", alice), ("bob", bob)):
        rows = await FormAssignment.select(
            FormAssignment.id, FormAssignment.template.slug.as_alias("slug")
        ).where(FormAssignment.client == c["client_id"])
        ids[who] = {r["slug"]: r["id"] for r in rows}
    if sign_in_as:
        await sign_in(http, sign_in_as)
    return {"practice": p, "alice": alice, "bob": bob, "ids": ids}


async def row(assignment_id: int) -> dict:
    return (
        await FormAssignment.select()
        .where(FormAssignment.id == assignment_id)
        .output(load_json=True)
        .first()
    )


async def post(http, path: str, data: dict, *, htmx: bool = False) -> Page:
    return Page(await post_form(http, path, data, page="/forms", htmx=htmx))


def field_error(page: Page, name: str) -> str:
    m = re.search(rf'<p class="field-error" id="fld-{name}-error">([^<]*)</p>', page.raw)
    return html.unescape(m.group(1)) if m else ""


# --- Seeing one's forms --------------------------------------------------------------------


async def test_list_menu_count_and_dashboard_tasks_follow_what_is_open(http):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    page = Page(await http.get("/forms"))
    assert page.status_code == 200
    todo, done = page.text.split("Completed", 1)
    assert "Intake" in todo and "Consent to treatment" in todo
    assert "You have not submitted any forms yet." in done
    assert 'My Docs & Forms <span class="badge">2<span' in page.text
    dash = Page(await http.get("/"))
    tasks = dash.text.split('id="w-tasks"', 1)[1].split("</section>", 1)[0]
    # A task row: its text, then its action (a link to the form, named for the task).
    assert "Complete the Intake form" in tasks
    assert re.search(
        rf'<a class="button" href="/forms/{intake}">[^<]+<span class="visually-hidden">: Complete the Intake form',
        tasks,
    )
    assert "Complete the Consent to treatment form" in dash.text
    assert '<span class="badge">2<span class="visually-hidden"> to complete</span>' in dash.text

    assert (await post(http, f"/forms/{intake}/submit", GOOD)).status_code == 303

    page = Page(await http.get("/forms"))
    todo, done = page.text.split("Completed", 1)
    assert "Intake" not in todo and "Consent to treatment" in todo
    assert f'<a href="/forms/{intake}">Intake</a>' in done
    assert f'href="/forms/{intake}/pdf"' in done
    assert '<span class="badge">1<span class="visually-hidden"> to complete</span>' in page.text
    dash = Page(await http.get("/"))
    assert "Complete the Intake form" not in dash.text
    assert "Complete the Consent to treatment form" in dash.text


async def test_the_menu_count_costs_one_query_on_full_pages_and_none_on_fragments(http, app):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    for path in ("/forms", f"/forms/{intake}", "/profile"):
        with count_queries(app.state.engine) as seen:
            page = Page(await http.get(path))
        assert page.status_code == 200, path
        menu = [q for q in seen if 'AS "forms"' in q]
        assert len(menu) == 1, (path, seen)
        # My Messages' unread badge comes in the same query, not one of its own.
        assert [q for q in seen if "AS unread" in q] == menu, seen
        assert '<span class="badge">2<span class="visually-hidden"> to complete</span>' in page.text
    with count_queries(app.state.engine) as seen:
        fragment = await http.get(f"/forms/{intake}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<nav" not in fragment.text
    assert not [q for q in seen if 'AS "forms"' in q]


async def test_the_fill_in_page_has_every_field_type_labelled(http):
    env = await setup(http)
    page = Page(await http.get(f"/forms/{env['ids']['alice']['intake']}"))
    assert page.status_code == 200
    t = page.raw
    intake = env["ids"]["alice"]["intake"]
    assert f'action="/forms/{intake}/submit"' in t
    assert f'formaction="/forms/{intake}/draft"' in t
    assert 'name="_csrf_token"' in t
    assert (
        '<label for="fld-nickname">Nickname <span class="optional">(optional)</span></label>' in t
    )
    assert '<textarea id="fld-reason" name="reason" rows="5" maxlength="50" required' in t
    assert 'type="date"' in t and 'id="fld-born"' in t
    assert t.count('type="radio"') == 2 and "<legend>Seen before</legend>" in t
    assert t.count('name="concerns"') == 3
    assert 'id="fld-agree" name="agree" value="yes" required' in t
    assert 'autocomplete="name"' in t and 'aria-describedby="fld-signature-help"' in t
    assert "Tell us about yourself." in t


# --- Validation ----------------------------------------------------------------------------


async def test_submit_without_required_answers_is_refused_with_input_kept(http):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    page = await post(http, f"/forms/{intake}/submit", {"nickname": "Al", "concerns": ["Mood"]})
    assert page.status_code == 422
    assert 'role="alert"' in page.raw and "Please check these 5 answers" in page.text
    assert field_error(page, "reason") == "Answer this question."
    assert field_error(page, "born") == "Enter a date."
    assert field_error(page, "seen") == "Choose an option."
    assert field_error(page, "agree") == "Tick this box to continue."
    assert field_error(page, "signature") == "Type your full name to sign."
    assert field_error(page, "nickname") == "" and field_error(page, "email_ok") == ""
    assert 'aria-describedby="fld-reason-error" aria-invalid="true"' in page.raw
    assert '<a href="#fld-seen-0">Seen before — Choose an option.</a>' in page.text
    # What was typed is kept.
    assert 'value="Al"' in page.raw and 'value="Mood" checked' in page.raw
    # Nothing was written.
    r = await row(intake)
    assert r["status"] == "open" and r["answers"] == {} and r["draft_saved_at"] is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("reason", "x" * 51, "Keep this to 50 characters or fewer (it has 51)."),
        ("nickname", "Alexandrina", "Keep this to 10 characters or fewer (it has 11)."),
        ("born", "14/03/1985", "Enter a date as year-month-day, like 1985-03-14."),
        ("born", "1985-02-30", "That date does not exist. Check the day and month."),
        ("born", "1776-07-04", "Enter a year between 1900 and 2100."),
        ("seen", "Maybe", "Choose one of the options shown."),
        ("concerns", ["Sleep", "Hacking"], "Choose only from the options shown."),
        ("signature", "42", "Type your full name, in letters, to sign."),
        ("signature", "A" * 201, "Keep this to 200 characters or fewer (it has 201)."),
    ],
)
@pytest.mark.parametrize("action", ["submit", "draft"])
async def test_each_field_type_is_checked_on_the_server(http, name, value, message, action):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    page = await post(http, f"/forms/{intake}/{action}", {**GOOD, name: value})
    assert page.status_code == 422
    assert field_error(page, name) == message
    assert re.search(rf'id="fld-{name}(-0)?"[^>]*aria-invalid="true"', page.raw)
    r = await row(intake)
    assert r["status"] == "open" and r["answers"] == {}


async def test_a_draft_keeps_partial_answers_and_the_form_stays_open(http):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    r = await post(
        http, f"/forms/{intake}/draft", {"nickname": "Al", "concerns": ["Worry", "Sleep"]}
    )
    assert r.status_code == 303 and r.headers["location"] == f"/forms/{intake}?done=draft"
    stored = await row(intake)
    assert stored["status"] == "open" and stored["draft_saved_at"] is not None
    assert stored["answers"]["nickname"] == "Al"
    assert stored["answers"]["concerns"] == ["Sleep", "Worry"]  # in the form's order
    assert stored["answers"]["agree"] is False and stored["answers"]["reason"] == ""
    page = Page(await http.get(r.headers["location"]))
    assert "Your draft was saved." in page.text and "Draft saved" in page.text
    assert 'value="Al"' in page.raw and 'value="Sleep" checked' in page.raw
    assert 'value="Mood" checked' not in page.raw
    assert await AuditEvent.count().where(AuditEvent.action == "form.draft_saved") == 1
    # The audit names what changed, never the answers themselves.
    event = await AuditEvent.select(AuditEvent.detail).output(load_json=True).first()
    assert "Al" not in json.dumps(event["detail"])
    # A crafted notice key shows nothing.
    assert '<p class="notice"' not in (await http.get(f"/forms/{intake}?done=hello")).text


async def test_a_draft_with_htmx_answers_the_fragment(http):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    page = await post(http, f"/forms/{intake}/draft", {"nickname": "Al"}, htmx=True)
    assert page.status_code == 200
    assert page.raw.startswith('<div id="form-view"') and "<html" not in page.raw
    assert "Your draft was saved." in page.text and 'value="Al"' in page.raw
    bad = await post(http, f"/forms/{intake}/draft", {"born": "soon"}, htmx=True)
    assert bad.status_code == 422 and bad.raw.startswith('<div id="form-view"')
    assert field_error(bad, "born").startswith("Enter a date as year-month-day")
    assert 'value="soon"' in bad.raw


# --- Submitting ----------------------------------------------------------------------------


async def test_submitting_locks_the_response_and_records_the_signature_time(http):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    await post(http, f"/forms/{intake}/draft", {"nickname": "Draft"})
    r = await post(http, f"/forms/{intake}/submit", GOOD)
    assert r.status_code == 303 and r.headers["location"] == f"/forms/{intake}?done=submitted"
    stored = await row(intake)
    assert stored["status"] == "submitted" and stored["submitted_at"] is not None
    a = stored["answers"]
    assert a["nickname"] == "Al" and a["born"] == "1985-03-14" and a["seen"] == "No"
    assert a["concerns"] == ["Sleep", "Worry"] and a["email_ok"] is True and a["agree"] is True
    assert a["signature"]["name"] == "Alice Tester"
    assert a["signature"]["signed_at"] == stored["submitted_at"].isoformat()
    snapshot = stored["submitted_definition"]
    assert snapshot["title"] == "Intake" and snapshot["version"] == "1"
    assert [f["name"] for f in snapshot["fields"]] == [f["name"] for f in INTAKE["field"]]

    page = Page(await http.get(r.headers["location"]))
    assert "Thank you. Your form was submitted" in page.text
    assert '<form method="post" action="/forms/' not in page.raw  # read-only
    assert "<textarea" not in page.raw and "<input" not in page.raw.split('id="form-view"')[1]
    assert "Signed by Alice Tester on" in page.text
    assert "14 March 1985" in page.text and "Trouble sleeping" in page.text
    assert f'href="/forms/{intake}/pdf"' in page.raw
    events = (
        await AuditEvent.select()
        .where(AuditEvent.action == "form.submitted")
        .output(load_json=True)
    )
    assert len(events) == 1 and events[0]["subject"] == f"form_assignment:{intake}"
    assert events[0]["detail"]["signed"] == ["signature"]


async def test_a_form_submitted_twice_stays_one_response(http):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    assert (await post(http, f"/forms/{intake}/submit", GOOD)).status_code == 303
    first = await row(intake)
    again = await post(http, f"/forms/{intake}/submit", {**GOOD, "nickname": "Changed"})
    assert again.status_code == 409
    assert "already submitted, so nothing was changed" in again.text
    draft = await post(http, f"/forms/{intake}/draft", {"nickname": "Draft"})
    assert draft.status_code == 409
    htmx = await post(http, f"/forms/{intake}/submit", GOOD, htmx=True)
    assert htmx.status_code == 409 and htmx.raw.startswith('<div id="form-view"')
    after = await row(intake)
    assert after["answers"] == first["answers"] and after["submitted_at"] == first["submitted_at"]
    assert await AuditEvent.count().where(AuditEvent.action == "form.submitted") == 1


async def test_two_concurrent_submits_make_one_response(http, app):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    # The same client in two browsers (or two tabs racing), each with its own session.
    async with client_for(app) as one, client_for(app) as two:
        tokens = []
        for c in (one, two):
            await sign_in(c, "alice")
            tokens.append(await csrf_token(c, f"/forms/{intake}"))
        results = await asyncio.gather(
            *(
                c.post(
                    f"/forms/{intake}/submit",
                    data={**GOOD, "nickname": name, "_csrf_token": token},
                )
                for c, token, name in ((one, tokens[0], "One"), (two, tokens[1], "Two"))
            )
        )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [303, 409], statuses
    winner = next(r for r in results if r.status_code == 303)
    stored = await row(intake)
    assert stored["status"] == "submitted"
    assert stored["answers"]["nickname"] == ("One" if winner is results[0] else "Two")
    assert await AuditEvent.count().where(AuditEvent.action == "form.submitted") == 1
    assert await FormAssignment.count().where(FormAssignment.status == "submitted") == 1


async def test_an_htmx_submit_swaps_in_the_response_and_updates_the_menu_count(http):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    page = await post(http, f"/forms/{intake}/submit", GOOD, htmx=True)
    assert page.status_code == 200
    assert page.raw.startswith('<div id="form-view"') and "<html" not in page.raw
    assert "Thank you. Your form was submitted" in page.text
    assert "Signed by Alice Tester on" in page.text
    # The menu entry out of band: one form left to complete.
    assert '<li id="menu-forms" hx-swap-oob="true">' in page.raw
    assert '<span class="badge">1<span class="visually-hidden"> to complete</span>' in page.raw
    assert json.loads(page.headers["hx-trigger"]) == {"forms-changed": {"target": "body"}}
    await post(http, f"/forms/{env['ids']['alice']['consent']}/submit", {"signature": "Alice T"})
    page = Page(await http.get("/forms"))
    assert 'class="badge"' not in page.raw.split('id="menu-forms"')[1].split("</li>")[0]


async def test_the_pdf_of_a_completed_form(http):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    assert (await http.get(f"/forms/{intake}/pdf")).status_code == 404  # not submitted yet
    await post(http, f"/forms/{intake}/submit", {**GOOD, "reason": "Trouble sleeping\nand worry"})
    r = await http.get(f"/forms/{intake}/pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="intake-{intake}.pdf"'
    assert r.headers["cache-control"] == "no-store"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    for expected in (
        "Harbor Counseling",
        "Intake",
        "Alice Tester",
        "Trouble sleeping",
        "and worry",
        "14 March 1985",
        "Sleep, Worry",
        "Signed by Alice Tester on",
    ):
        assert expected in text, (expected, text)


async def test_a_template_change_does_not_rewrite_a_submitted_response(http, app):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    await post(http, f"/forms/{intake}/submit", GOOD)
    changed = {**INTAKE, "title": "Intake (new)", "field": INTAKE["field"][:2]}
    await loader.apply(definition.parse({"form": [changed]}))
    page = Page(await http.get(f"/forms/{intake}"))
    assert "<h1>Intake</h1>" in page.raw and "Signed by Alice Tester" in page.text
    # Bob's open copy shows the template as it is now.
    async with signed_in(app, "bob") as bob:
        page = Page(await bob.get(f"/forms/{env['ids']['bob']['intake']}"))
    assert "<h1>Intake (new)</h1>" in page.raw and "fld-signature" not in page.raw


SIGNED = {
    "slug": "treatment-consent",
    "title": "Consent to treatment",
    "version": "2026-1",
    "intro": "I agree to take part in counseling.\n\nLate cancellations may be charged.",
    "assign": ["alice"],
    "field": [
        {"name": "understood", "type": "checkbox", "label": "I have read and understood this consent", "required": True},
        {"name": "signature", "type": "signature", "label": "Signature", "required": True},
    ],
}  # fmt: skip


def pdf_text(r) -> str:
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)


async def test_a_signed_consent_keeps_the_text_that_was_signed(http):
    await setup(http)
    await loader.apply(definition.parse({"form": [SIGNED]}))
    fid = (
        await FormAssignment.select(FormAssignment.id)
        .where(FormAssignment.template.slug == "treatment-consent")
        .first()
    )["id"]
    fill = Page(await http.get(f"/forms/{fid}"))
    shown = re.search(r'name="_shown" value="([0-9a-f]+)"', fill.raw).group(1)
    r = await post(
        http,
        f"/forms/{fid}/submit",
        {"understood": "yes", "signature": "Alice Tester", "_shown": shown},
    )
    assert r.status_code == 303
    changed = {**SIGNED, "version": "2027-1", "intro": "I waive every right."}
    await loader.apply(definition.parse({"form": [changed]}))
    page = Page(await http.get(f"/forms/{fid}"))
    for expected in (
        "I agree to take part in counseling.",
        "Late cancellations may be charged.",
        "version 2026-1",
        "I have read and understood this consent",
        "Signed by Alice Tester",
    ):
        assert expected in page.text, (expected, page.text)
    assert "waive" not in page.text and "2027-1" not in page.text
    text = pdf_text(await http.get(f"/forms/{fid}/pdf"))
    for expected in (
        "I agree to take part in counseling.",
        "Late cancellations may be charged.",
        "version 2026-1",
        "Signed by Alice Tester",
    ):
        assert expected in text, (expected, text)
    assert "waive" not in text and "2027-1" not in text
    stored = (await row(fid))["submitted_definition"]
    assert stored["intro"] == SIGNED["intro"] and stored["version"] == "2026-1"


async def test_a_consent_changed_while_open_is_not_signed_unread(http):
    await setup(http)
    await loader.apply(definition.parse({"form": [SIGNED]}))
    fid = (
        await FormAssignment.select(FormAssignment.id)
        .where(FormAssignment.template.slug == "treatment-consent")
        .first()
    )["id"]
    fill = Page(await http.get(f"/forms/{fid}"))
    shown = re.search(r'name="_shown" value="([0-9a-f]+)"', fill.raw).group(1)
    changed = {**SIGNED, "version": "2027-1", "intro": "New terms apply."}
    await loader.apply(definition.parse({"form": [changed]}))
    data = {"understood": "yes", "signature": "Alice Tester", "_shown": shown}
    r = await post(http, f"/forms/{fid}/submit", data)
    assert r.status_code == 409 and "changed this form while you had it open" in r.text
    assert "New terms apply." in r.text and 'value="Alice Tester"' in r.raw
    assert (await row(fid))["status"] == "open"
    shown = re.search(r'name="_shown" value="([0-9a-f]+)"', r.raw).group(1)
    r = await post(http, f"/forms/{fid}/submit", {**data, "_shown": shown})
    assert r.status_code == 303
    assert (await row(fid))["submitted_definition"]["intro"] == "New terms apply."


# --- Who may see what ------------------------------------------------------------------------


async def test_another_clients_form_is_404_for_every_action(http, app):
    env = await setup(http)
    bobs = env["ids"]["bob"]["intake"]
    before = await row(bobs)
    assert (await http.get(f"/forms/{bobs}")).status_code == 404
    assert (await http.get(f"/forms/{bobs}", headers={"HX-Request": "true"})).status_code == 404
    assert (await post(http, f"/forms/{bobs}/draft", {"nickname": "Mallory"})).status_code == 404
    assert (await post(http, f"/forms/{bobs}/submit", GOOD)).status_code == 404
    assert (await http.get(f"/forms/{bobs}/pdf")).status_code == 404
    assert (await http.get("/forms/999999")).status_code == 404
    assert await row(bobs) == before
    # Bob's submitted form too.
    async with signed_in(app, "bob") as bob:
        r = await post_form(bob, f"/forms/{bobs}/submit", GOOD, page="/forms")
        assert r.status_code == 303
    assert (await http.get(f"/forms/{bobs}")).status_code == 404
    assert (await http.get(f"/forms/{bobs}/pdf")).status_code == 404
    page = Page(await http.get("/forms"))
    assert f"/forms/{bobs}" not in page.raw


async def test_forms_need_a_signed_in_client(http, app):
    env = await setup(http, sign_in_as=None)
    intake = env["ids"]["alice"]["intake"]
    r = await http.get(f"/forms/{intake}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await post_form(http, f"/forms/{intake}/submit", GOOD, page="/login")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (await row(intake))["status"] == "open"
    await factories.staff("owner")
    async with signed_in(app, "owner") as staff:
        assert (await staff.get("/forms")).status_code == 403
        assert (await staff.get(f"/forms/{intake}")).status_code == 403
        page = (await staff.get("/profile")).text
        assert 'id="menu-forms"' not in page


async def test_a_post_without_the_csrf_token_is_refused(http):
    env = await setup(http)
    intake = env["ids"]["alice"]["intake"]
    r = await http.post(f"/forms/{intake}/submit", data=GOOD)
    assert r.status_code == 403
    assert (await row(intake))["status"] == "open"

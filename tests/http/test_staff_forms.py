"""Staff › Settings › Forms, the domain side (the browser pages are not built yet): the
editor's checks (the file's rules), templates created, changed, retired and assigned in
bulk, and the consent text shown when filling and kept in the response and its PDF."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from pypdf import PdfReader

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.errors import Conflict
from portal.forms import assigning, editor, templates
from portal.tables import AuditEvent, FormAssignment
from portal.tables.scheduling import AppointmentStatus
from tests import factories
from tests.web import Page, post_form, sign_in

CONSENT_TEXT = "I consent to treatment at Harbor Counseling.\n\nI may withdraw at any time."


def typed(**extra) -> dict:
    rows = [
        {**editor.blank_row(), "label": "Full name", "kind": "short_text", "required": "yes"},
        {**editor.blank_row(), "label": "Sign here", "kind": "signature", "required": "yes"},
    ]
    return {"title": "Consent", "version": "1", "intro": "Please read.", "consent": CONSENT_TEXT,
            "rows": rows, **extra}  # fmt: skip


def test_the_editor_checks_by_the_files_rules_and_keeps_the_input():
    t, errors = editor.check(typed(), "consent")
    assert errors == {} and [f.name for f in t.fields] == ["full_name", "sign_here"]
    assert t.consent == CONSENT_TEXT and t.definition()["consent"] == CONSENT_TEXT
    bad = typed(title="  ")
    bad["rows"].append({**editor.blank_row(), "label": "Full name", "kind": "short_text"})
    bad["rows"].append({**editor.blank_row(), "label": "Pick", "kind": "single_choice"})
    bad["rows"].append({**editor.blank_row(), "label": "Essay", "kind": "essay"})
    bad["rows"].append(editor.blank_row())  # blank: not a field
    before = json.dumps(bad)
    t, errors = editor.check(bad, "consent")
    assert t is None and json.dumps(bad) == before  # the input kept as typed
    # In the editor's words (its labels), not the file's keys and quotes.
    assert errors["title"] == "Enter the title."
    assert (
        errors["row-1"]
        == errors["row-3"]
        == ("Another question has the name full_name: give each its own name.")
    )
    assert errors["row-4"] == "List the choices the client picks from, one a line."
    assert errors["row-5"] == "Choose the kind of answer."
    assert "row-6" not in errors
    for row, message in [
        ({"label": "Full name", "name": "bad name!"}, "A name holds lower-case letters"),
        ({"label": "x" * 501}, "Shorten the question: at most 500 characters."),
        ({"label": "Pick", "kind": "single_choice", "choices": "Yes\nYes"},
         "The choice “Yes” is listed twice."),
        ({"label": "Pick", "kind": "single_choice", "choices": "Yes"}, "Give at least two choices"),
        ({"label": "Age", "kind": "date", "choices": "1\n2"}, "Choices are only for One choice"),
    ]:  # fmt: skip
        _, errors = editor.check(typed(rows=[{**editor.blank_row(), **row}]), "consent")
        assert errors["row-1"].startswith(message), errors
        assert "'" not in errors["row-1"].replace("client's", "")
    _, errors = editor.check(typed(rows=[editor.blank_row()]), "consent")
    assert "Add at least one field" in errors["fields"]


def test_rows_move_and_are_removed_without_javascript():
    t = typed()
    assert editor.apply_op(t, "add") and len(t["rows"]) == 3
    assert editor.apply_op(t, "up-2") and t["rows"][0]["label"] == "Sign here"
    assert editor.apply_op(t, "remove-1") and [r["label"] for r in t["rows"]] == ["Full name", ""]
    assert not editor.apply_op(t, "save")


async def test_consent_is_shown_kept_in_the_response_and_its_pdf_and_edits_do_not_change_it(http):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    alice = await factories.client(p, "alice", first_name="Alice", last_name="Tester")
    t, _ = editor.check(typed(), await templates.new_slug("Consent"))
    template_id = await templates.create(p, t, Actor.system())
    assignment = await assigning.assign(p, alice["client_id"], template_id, Actor.system())
    await sign_in(http, "alice")
    page = Page(await http.get(f"/forms/{assignment}"))
    assert "I consent to treatment at Harbor Counseling." in page.text
    assert "By submitting this form you agree" in page.text
    data = {"full_name": "Alice Tester", "sign_here": "Alice Tester"}
    r = await post_form(http, f"/forms/{assignment}/submit", data, page=f"/forms/{assignment}")
    assert r.status_code == 303
    # The practice changes the consent: the response keeps what Alice agreed to.
    t2, _ = editor.check(typed(consent="Something else entirely."), t.slug)
    assert await templates.change(p, template_id, t2, Actor.system())
    [changed] = await AuditEvent.select().where(AuditEvent.action == "forms.template_changed")
    detail = (
        changed["detail"] if isinstance(changed["detail"], dict) else json.loads(changed["detail"])
    )
    assert detail["old"] == {"consent": CONSENT_TEXT}
    assert detail["new"] == {"consent": "Something else entirely."}
    page = Page(await http.get(f"/forms/{assignment}"))
    assert "What you agreed to" in page.text and "I may withdraw at any time." in page.text
    assert "Something else entirely" not in page.text
    pdf = await http.get(f"/forms/{assignment}/pdf")
    text = " ".join(pg.extract_text() for pg in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "I consent to treatment at Harbor Counseling." in text
    assert "Something else" not in text


async def test_retired_forms_are_not_assigned_and_the_upcoming_first_appointment_action():
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    doc = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz")
    svc = await factories.service(p)
    now = utcnow()
    future = (await factories.client(p, "fay"))["client_id"]  # first appointment to come
    past = (await factories.client(p, "pam"))["client_id"]  # seen before
    had = (await factories.client(p, "hal"))["client_id"]  # already has the form
    cancelled = (await factories.client(p, "cal"))["client_id"]  # only a cancelled past one
    for cid, when in (
        (future, 3),
        (past, -30),
        (past, 5),
        (had, 4),
        (cancelled, -2),
        (cancelled, 6),
    ):
        await factories.appointment(cid, doc["provider_id"], svc, now + timedelta(days=when))
    from portal.tables import Appointment

    first_of_cal = (
        await Appointment.select(Appointment.id)
        .where((Appointment.client == cancelled) & (Appointment.starts_at < now))
        .first()
    )
    await Appointment.update({Appointment.status: AppointmentStatus.cancelled}).where(
        Appointment.id == first_of_cal["id"]
    )
    t, _ = editor.check(typed(), await templates.new_slug("Consent"))
    tid = await templates.create(p, t, Actor.system())
    await assigning.assign(p, had, tid, Actor.system())
    assert await templates.assign_upcoming(p, tid, Actor.system()) == 2  # fay and cal
    assert await templates.assign_upcoming(p, tid, Actor.system()) == 0  # never twice
    given = {
        r["client"] for r in await FormAssignment.select().where(FormAssignment.template == tid)
    }
    assert given == {future, cancelled, had}
    assert await templates.set_active(p, tid, False, Actor.system())
    try:
        await assigning.assign(p, past, tid, Actor.system())
        raise AssertionError("a retired form was assigned")
    except Conflict:
        pass
    assert tid not in {r["id"] for r in await assigning.templates(p)}
    assert await templates.set_new_clients(p, tid, True, Actor.system())
    assert await assigning.assign_for_new_client(p, past, "new") == []  # retired: not given
    assert await templates.set_active(p, tid, True, Actor.system())
    assert await assigning.assign_for_new_client(p, past, "new") == ["Consent"]

"""A client's forms without HTTP: only an open form takes a draft or a submit, answers are
checked before anything is written, another client's form and an unsubmitted PDF are NotFound."""

from __future__ import annotations

import pytest

from portal.core.actor import Actor
from portal.core.errors import Conflict, Invalid, NotFound
from portal.forms import assignments, definition, loader
from portal.tables import AuditEvent, FormAssignment
from tests import factories

FORM = {
    "form": [
        {
            "slug": "intake",
            "title": "Intake",
            "assign": ["all"],
            "field": [
                {"name": "born", "type": "date", "label": "Date of birth"},
                {"name": "signature", "type": "signature", "label": "Signature"},
            ],
        }
    ]
}


async def _setup() -> dict:
    p = await factories.practice()
    ana = await factories.client(p, "ana")
    ben = await factories.client(p, "ben")
    await loader.apply(definition.parse(FORM))
    ids = {}
    for who in (ana, ben):
        row = await FormAssignment.select(FormAssignment.id).where(
            FormAssignment.client == who["client_id"]
        )
        ids[who["username"]] = (who["client_id"], row[0]["id"])
    actor = Actor(ana["user_id"], "client", "", "http://portal.example", None)
    return {"ids": ids, "actor": actor}


async def _stored(assignment_id: int) -> dict:
    return (
        await FormAssignment.select(FormAssignment.status, FormAssignment.answers)
        .where(FormAssignment.id == assignment_id)
        .output(load_json=True)
        .first()
    )


async def test_a_draft_with_a_wrong_value_is_invalid_and_keeps_nothing():
    env = await _setup()
    client_id, form_id = env["ids"]["ana"]
    a = await assignments.one(client_id, form_id)
    with pytest.raises(Invalid) as exc:
        await assignments.save_draft(client_id, a, {"born": "14/03/1985"}, actor=env["actor"])
    assert exc.value.errors == {"born": "Enter a date as year-month-day, like 1985-03-14."}
    assert (await _stored(form_id))["answers"] == {}
    # What is required only counts on submit: a partial draft is kept.
    kept = await assignments.save_draft(client_id, a, {"born": "1985-03-14"}, actor=env["actor"])
    assert kept.answers == {"born": "1985-03-14", "signature": ""} and kept.draft_saved_at
    assert (await _stored(form_id))["answers"] == kept.answers


async def test_a_submit_needs_every_required_answer_and_happens_once():
    env = await _setup()
    client_id, form_id = env["ids"]["ana"]
    a = await assignments.one(client_id, form_id)
    with pytest.raises(Invalid) as exc:
        await assignments.submit(client_id, a, {"born": ""}, actor=env["actor"])
    assert exc.value.errors == {"signature": "Type your full name to sign."}
    assert (await _stored(form_id))["status"] == "open"
    done = await assignments.submit(client_id, a, {"signature": "Ana Lima"}, actor=env["actor"])
    assert not done.is_open and done.answers["signature"]["name"] == "Ana Lima"
    assert done == await assignments.one(client_id, form_id)  # as now on file
    # The same (stale) open copy again, or a draft: Conflict, nothing changed.
    for write in (assignments.submit, assignments.save_draft):
        with pytest.raises(Conflict) as exc:
            await write(client_id, a, {"signature": "Someone Else"}, actor=env["actor"])
        assert exc.value.message == assignments.ALREADY
        with pytest.raises(Conflict):  # the form as on file: refused before any write
            await write(client_id, done, {"signature": "Someone Else"}, actor=env["actor"])
    assert (await _stored(form_id))["answers"]["signature"]["name"] == "Ana Lima"
    assert await AuditEvent.count().where(AuditEvent.action == "form.submitted") == 1


async def test_another_clients_form_and_an_open_forms_pdf_are_not_found():
    env = await _setup()
    ana_id, ana_form = env["ids"]["ana"]
    _, ben_form = env["ids"]["ben"]
    with pytest.raises(NotFound) as exc:
        await assignments.one(ana_id, ben_form)
    assert exc.value.message == "There is no such form."
    with pytest.raises(NotFound) as exc:
        await assignments.response(ana_id, ana_form)
    assert exc.value.message == "This form has not been submitted yet."
    a = await assignments.one(ana_id, ana_form)
    await assignments.submit(ana_id, a, {"signature": "Ana Lima"}, actor=env["actor"])
    assert (await assignments.response(ana_id, ana_form)).title == "Intake"

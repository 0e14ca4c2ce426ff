"""My Docs & Forms: a client's assigned forms, their drafts and submits, the open-forms task.

A draft is saved only while the form is open; submitting is one conditional
UPDATE (`... WHERE status = 'open'`), so two submits make one response, and
the definition is copied into the response so it reads the same later. The
answers are checked (`portal.forms.answers`) before either is written: `Invalid`
with a message per field, `Conflict` once the form was submitted.

Templates and who is assigned them come from `portal.forms.loader`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Conflict, Invalid, NotFound
from portal.dashboard.tasks import Task, TaskContext
from portal.forms.answers import changed_fields, check, stored
from portal.forms.definition import FieldDef
from portal.tables import FormAssignment

OPEN, SUBMITTED = "open", "submitted"

# The left menu's count of forms to complete (one of the counts portal.core.menu runs at once).
OPEN_COUNT = (
    "SELECT COUNT(*) FROM form_assignment WHERE status = 'open'"
    ' AND client = (SELECT id FROM client WHERE "user" = {})'
)

NO_SUCH_FORM = "There is no such form."
NOT_SUBMITTED = "This form has not been submitted yet."
ALREADY = "This form was already submitted, so nothing was changed. Here is the response on file."
TEXT_CHANGED = (
    "The practice changed this form while you had it open, so it was not submitted. "
    "Please read it again as it is now; your answers are kept."
)


class TextChanged(Conflict):
    """The form's text is not the one the client was shown (the template changed meanwhile)."""


# --- A client's forms ----------------------------------------------------------------------------


@dataclass
class Assignment:
    id: int
    slug: str
    title: str
    version: str
    intro: str
    fields: list[FieldDef]
    status: str
    answers: dict
    assigned_at: datetime
    draft_saved_at: datetime | None
    submitted_at: datetime | None
    consent: str = ""  # what the client agrees to by submitting (kept with the response)

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def snapshot(self) -> dict:
        """The form's words as the client reads them: kept with the response when submitted."""
        out = {
            "title": self.title,
            "version": self.version,
            "intro": self.intro,
            "fields": [f.to_json() for f in self.fields],
        }
        if self.consent:  # only when there is one: older responses' digests stay the same
            out["consent"] = self.consent
        return out

    @property
    def text_digest(self) -> str:
        """A fingerprint of `snapshot()`: the fill-in form carries it, the submit compares it."""
        raw = json.dumps(self.snapshot(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


_COLUMNS = (
    FormAssignment.id,
    FormAssignment.status,
    FormAssignment.answers,
    FormAssignment.assigned_at,
    FormAssignment.draft_saved_at,
    FormAssignment.submitted_at,
    FormAssignment.submitted_definition,
    FormAssignment.template.slug.as_alias("slug"),
    FormAssignment.template.title.as_alias("title"),
    FormAssignment.template.version.as_alias("version"),
    FormAssignment.template.definition.as_alias("definition"),
)


def _loads(value: Any) -> dict:
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


def _assignment(row: dict) -> Assignment:
    submitted = row["status"] == SUBMITTED
    snapshot = _loads(row["submitted_definition"]) if submitted else {}
    definition = snapshot or _loads(row["definition"])
    return Assignment(
        id=row["id"],
        slug=row["slug"],
        title=snapshot.get("title", row["title"]),
        version=snapshot.get("version", row["version"]),
        intro=definition.get("intro", ""),
        fields=[FieldDef.from_json(f) for f in definition.get("fields", [])],
        status=row["status"],
        answers=_loads(row["answers"]),
        assigned_at=row["assigned_at"],
        draft_saved_at=row["draft_saved_at"],
        submitted_at=row["submitted_at"],
        consent=definition.get("consent", ""),
    )


async def for_client(client_id: int) -> tuple[list[dict], list[dict]]:
    """The client's forms: (to complete, completed), without their answers."""
    rows = (
        await FormAssignment.select(
            FormAssignment.id,
            FormAssignment.status,
            FormAssignment.assigned_at,
            FormAssignment.draft_saved_at,
            FormAssignment.submitted_at,
            FormAssignment.template.title.as_alias("title"),
        )
        .where(FormAssignment.client == client_id)
        .order_by(FormAssignment.assigned_at)
        .order_by(FormAssignment.id)
    )
    to_do = [r for r in rows if r["status"] == OPEN]
    done = sorted(
        (r for r in rows if r["status"] == SUBMITTED),
        key=lambda r: r["submitted_at"],
        reverse=True,
    )
    return to_do, done


async def one(client_id: int, assignment_id: int) -> Assignment:
    """One of this client's forms; NotFound for anyone else's (a foreign id looks like no id)."""
    row = (
        await FormAssignment.select(*_COLUMNS)
        .where(FormAssignment.id == assignment_id, FormAssignment.client == client_id)
        .first()
    )
    if row is None:
        raise NotFound(NO_SUCH_FORM)
    return _assignment(row)


# A client's open forms, oldest first: what the dashboard's tasks list (it reads them in
# one query with the balance, see portal.dashboard.widgets).
OPEN_FORMS = (
    "SELECT fa.id AS id, ft.title AS title, fa.assigned_at AS assigned_at"
    " FROM form_assignment fa JOIN form_template ft ON ft.id = fa.template"
    " WHERE fa.client = {} AND fa.status = 'open'"
)


async def open_forms(ctx: TaskContext) -> list[Task]:
    return [
        Task(key=f"form-{r['id']}", text=task_text(r["title"]), href=f"/forms/{r['id']}")
        for r in ctx.open_forms
    ]


def task_text(title: str) -> str:
    return f"Complete the {title}" + ("" if title.lower().endswith(" form") else " form")


async def response(client_id: int, assignment_id: int) -> Assignment:
    """One of this client's submitted responses (for its PDF); NotFound while still open."""
    a = await one(client_id, assignment_id)
    if a.is_open:
        raise NotFound(NOT_SUBMITTED)
    return a


# --- Drafts and submits -------------------------------------------------------------------------


def _checked(a: Assignment, values: dict[str, Any], *, final: bool) -> dict[str, Any]:
    """The answers as kept, when `a` is open and they pass; Conflict or Invalid otherwise."""
    if not a.is_open:
        raise Conflict(ALREADY)
    if errors := check(a.fields, values, final=final):
        raise Invalid(errors=errors)
    return stored(a.fields, values)


async def save_draft(
    client_id: int, a: Assignment, values: dict[str, Any], *, actor: Actor,
    now: datetime | None = None,
) -> Assignment:  # fmt: skip
    """Keep the answers so far (the shape of each checked, not what is required).

    Returns the form as it now stands. Invalid: a value is wrong (nothing kept);
    Conflict: the form is no longer open (submitted meanwhile, maybe in another tab).
    """
    answers = _checked(a, values, final=False)
    now = now or utcnow()
    async with write_transaction():
        changed = (
            await FormAssignment.update(
                {FormAssignment.answers: answers, FormAssignment.draft_saved_at: now}
            )
            .where(
                FormAssignment.id == a.id,
                FormAssignment.client == client_id,
                FormAssignment.status == OPEN,
            )
            .returning(FormAssignment.id)
        )
        if not changed:
            raise Conflict(ALREADY)
        await audit.record(
            "form.draft_saved",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"form_assignment:{a.id}",
            detail={
                "form": a.slug,
                "fields_changed": changed_fields(a.fields, a.answers, answers),
            },
        )
    return dataclasses.replace(a, answers=answers, draft_saved_at=now)


async def submit(
    client_id: int, a: Assignment, values: dict[str, Any], *, actor: Actor,
    now: datetime | None = None, shown: str = "",
) -> Assignment:  # fmt: skip
    """Lock the response (every required answer given); returns it as now on file.

    The form's text (title, version, intro, consent, every label and help) is kept with the
    answers, so what was signed reads the same after the template changes. `shown` is
    the `text_digest` of the form the client read: TextChanged when the template changed
    since (nothing written). One conditional UPDATE: of two submits, however close, one
    changes the row and the other changes nothing (Conflict). Invalid: an answer is
    missing or wrong.
    """
    if a.is_open and shown and shown != a.text_digest:
        raise TextChanged(TEXT_CHANGED)
    answers = _checked(a, values, final=True)
    now = now or utcnow()
    for f in a.fields:
        if f.type == "signature" and answers.get(f.name):
            answers[f.name] = {"name": answers[f.name], "signed_at": now.isoformat()}
    snapshot = a.snapshot()
    async with write_transaction():
        changed = (
            await FormAssignment.update(
                {
                    FormAssignment.answers: answers,
                    FormAssignment.status: SUBMITTED,
                    FormAssignment.submitted_at: now,
                    FormAssignment.submitted_definition: snapshot,
                }
            )
            .where(
                FormAssignment.id == a.id,
                FormAssignment.client == client_id,
                FormAssignment.status == OPEN,
            )
            .returning(FormAssignment.id)
        )
        if not changed:
            raise Conflict(ALREADY)
        await audit.record(
            "form.submitted",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"form_assignment:{a.id}",
            detail={
                "form": a.slug,
                "version": a.version,
                "signed": [
                    f.name for f in a.fields if f.type == "signature" and answers.get(f.name)
                ],
            },
        )
    return dataclasses.replace(a, status=SUBMITTED, answers=answers, submitted_at=now)

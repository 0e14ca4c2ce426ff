"""Staff › Settings › Forms: the practice's form templates, created, changed, retired and
restored in the browser, and assigned to clients in bulk.

Owners and managers use it (the page's guard). A template is never deleted: its
responses refer to it. Changing one never changes a submitted response: each keeps the
form's words as they were (`form_assignment.submitted_definition`, with the consent
text), and a client filling in an open copy sees the new words at once (a submit of the
old text is refused, `assignments.TextChanged`). A retired template is no longer
assigned (to one client, to new clients or in bulk); what was assigned stays, open
copies can still be filled in and responses read.

Each change is one write transaction and one audit event with the old and new values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Count, Min

from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.errors import Conflict, NotFound
from portal.forms.assignments import OPEN, SUBMITTED
from portal.forms.definition import TemplateDef
from portal.tables import Appointment, FormAssignment, FormTemplate
from portal.tables.scheduling import AppointmentStatus

NO_SUCH_FORM = "There is no such form."


@dataclass(frozen=True)
class TemplateItem:
    id: int
    slug: str
    title: str
    version: str
    definition: dict
    active: bool
    assign_to_new_clients: bool
    updated_at: datetime | None
    open: int = 0
    submitted: int = 0

    @property
    def fields(self) -> list[dict]:
        return self.definition.get("fields", [])

    @property
    def file_assign(self) -> list[str]:
        """What the forms file's `assign` says of new clients ("all", "status:new"...)."""
        return [
            a for a in self.definition.get("assign", []) if a == "all" or a.startswith("status:")
        ]


def _loads(value: Any) -> dict:
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


_COLUMNS = (
    FormTemplate.id, FormTemplate.slug, FormTemplate.title, FormTemplate.version,
    FormTemplate.definition, FormTemplate.active, FormTemplate.assign_to_new_clients,
    FormTemplate.updated_at,
)  # fmt: skip


def _item(row: dict, counts: dict | None = None) -> TemplateItem:
    counts = counts or {}
    return TemplateItem(
        **{k: row[k] for k in ("id", "slug", "title", "version", "active", "updated_at")},
        definition=_loads(row["definition"]),
        assign_to_new_clients=row["assign_to_new_clients"],
        open=counts.get((row["id"], OPEN), 0),
        submitted=counts.get((row["id"], SUBMITTED), 0),
    )


async def listing(practice_id: int) -> list[TemplateItem]:
    """Every template of the practice with how many copies are open and submitted: active
    first, each group by title. Two queries, whatever the number."""
    rows = await FormTemplate.select(*_COLUMNS).where(FormTemplate.practice == practice_id)
    counts = {
        (r["template"], r["status"]): r["count"]
        for r in await FormAssignment.select(
            FormAssignment.template, FormAssignment.status, Count()
        )
        .where(FormAssignment.template.practice == practice_id)
        .group_by(FormAssignment.template, FormAssignment.status)
    }
    items = [_item(r, counts) for r in rows]
    return sorted(items, key=lambda t: (not t.active, t.title.casefold(), t.id))


async def one(practice_id: int, template_id: int) -> TemplateItem:
    """One template of the practice; NotFound for another practice's or none."""
    row = (
        await FormTemplate.select(*_COLUMNS)
        .where((FormTemplate.id == template_id) & (FormTemplate.practice == practice_id))
        .first()
    )
    if row is None:
        raise NotFound(NO_SUCH_FORM)
    return _item(row)


async def new_slug(title: str) -> str:
    """A slug for a new template, from its title, not used by any template yet."""
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:70].strip("-") or "form"
    if not base[0].isalnum():
        base = f"form-{base}"
    taken = {
        r["slug"]
        for r in await FormTemplate.select(FormTemplate.slug).where(
            FormTemplate.slug.like(f"{base}%")
        )
    }
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _facts(t: TemplateDef) -> dict[str, Any]:
    return {"title": t.title, "version": t.version, "intro": t.intro, "consent": t.consent,
            "fields": [f.to_json() for f in t.fields]}  # fmt: skip


def _old_facts(item: TemplateItem) -> dict[str, Any]:
    d = item.definition
    return {"title": item.title, "version": item.version, "intro": d.get("intro", ""),
            "consent": d.get("consent", ""), "fields": d.get("fields", [])}  # fmt: skip


async def _record(action: str, template_id: int, actor: Actor, **detail: Any) -> None:
    await audit.record(
        action,
        actor_id=actor.user_id,
        ip=actor.ip,
        subject=f"form_template:{template_id}",
        detail={"template": template_id, **detail},
    )


async def create(practice_id: int, t: TemplateDef, actor: Actor) -> int:
    """A new active template from the editor (`t` checked by `editor.check`)."""
    now = utcnow()
    async with write_transaction():
        rows = await FormTemplate.insert(
            FormTemplate(practice=practice_id, slug=t.slug, title=t.title, version=t.version,
                         definition=t.definition(), updated_at=now, active=True)
        ).returning(FormTemplate.id)  # fmt: skip
        template_id = rows[0]["id"]
        await _record("forms.template_created", template_id, actor, slug=t.slug, new=_facts(t))
    return template_id


async def change(practice_id: int, template_id: int, t: TemplateDef, actor: Actor) -> bool:
    """Save the editor's template over the old one (its `assign` list kept); the audit event
    holds what changed, old and new. False when nothing changed (nothing written)."""
    async with write_transaction():
        old = await one(practice_id, template_id)
        before, after = _old_facts(old), _facts(t)
        changed = [k for k in after if before[k] != after[k]]
        if not changed:
            return False
        definition = t.definition() | {"assign": old.definition.get("assign", [])}
        await FormTemplate.update(
            {FormTemplate.title: t.title, FormTemplate.version: t.version,
             FormTemplate.definition: definition, FormTemplate.updated_at: utcnow()}
        ).where(FormTemplate.id == template_id)  # fmt: skip
        await _record(
            "forms.template_changed", template_id, actor,
            old={k: before[k] for k in changed}, new={k: after[k] for k in changed},
        )  # fmt: skip
    return True


async def set_active(practice_id: int, template_id: int, active: bool, actor: Actor) -> bool:
    """Retire (`active` False) or restore; False when it already was (nothing written)."""
    async with write_transaction():
        old = await one(practice_id, template_id)
        if old.active == active:
            return False
        await FormTemplate.update({FormTemplate.active: active}).where(
            FormTemplate.id == template_id
        )
        await _record(
            f"forms.template_{'restored' if active else 'retired'}", template_id, actor,
            title=old.title, old={"active": old.active}, new={"active": active},
        )  # fmt: skip
    return True


async def set_new_clients(practice_id: int, template_id: int, on: bool, actor: Actor) -> bool:
    """Give the form to every client added from now on (by staff or an approved
    self-registration), or stop. Stopping also takes "all" and "status:..." out of the
    forms file's `assign` list, which says the same for new clients, so the switch is the
    whole truth. False when nothing changed."""
    async with write_transaction():
        old = await one(practice_id, template_id)
        kept = [a for a in old.definition.get("assign", []) if a not in old.file_assign]
        was = old.assign_to_new_clients or bool(old.file_assign)
        if was == on and old.assign_to_new_clients == on:
            return False
        values: dict = {FormTemplate.assign_to_new_clients: on}
        if not on and old.file_assign:
            values[FormTemplate.definition] = old.definition | {"assign": kept}
        await FormTemplate.update(values).where(FormTemplate.id == template_id)
        await _record(
            "forms.template_new_clients", template_id, actor, title=old.title,
            old={"assign_to_new_clients": old.assign_to_new_clients, "file_assign": old.file_assign},
            new={"assign_to_new_clients": on, "file_assign": old.file_assign if on else []},
        )  # fmt: skip
    return True


async def assign_upcoming(practice_id: int, template_id: int, actor: Actor,
                          now: datetime | None = None) -> int:  # fmt: skip
    """A one-off: give the form to every client of the practice whose first appointment
    ever (not cancelled) is still to come and who has never been given this form (open or
    submitted). Returns how many were given it now; audited with their ids."""
    now = now or utcnow()
    async with write_transaction():
        t = await one(practice_id, template_id)
        if not t.active:
            raise Conflict(f"{t.title} is retired: restore it before assigning it.")
        firsts = (
            await Appointment.select(Appointment.client, Min(Appointment.starts_at, alias="first"))
            .where(
                (Appointment.client.practice == practice_id)
                & (Appointment.status != AppointmentStatus.cancelled)
            )
            .group_by(Appointment.client)
        )
        have = {
            r["client"]
            for r in await FormAssignment.select(FormAssignment.client).where(
                FormAssignment.template == template_id
            )
        }
        new = sorted(
            r["client"] for r in firsts if _after(r["first"], now) and r["client"] not in have
        )
        if new:
            await FormAssignment.insert(
                *(FormAssignment(client=c, template=template_id, assigned_at=now) for c in new)
            )
        await _record("forms.assigned_upcoming", template_id, actor, title=t.title, clients=new)
    return len(new)


def _after(first: Any, now: datetime) -> bool:
    """`first` (MIN over a timestamp: a datetime, or on SQLite its stored text) is after now."""
    if isinstance(first, str):
        first = datetime.fromisoformat(first)
    if first is None:
        return False
    if first.tzinfo is None:
        first = first.replace(tzinfo=now.tzinfo)
    return first > now

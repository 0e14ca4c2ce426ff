"""My Docs & Forms: loading checked templates into the database and assigning them to clients.

`portal forms load FILE` parses the file (`portal.forms.definition`), then `apply`
writes every template and assignment in one transaction. A template is found
again by its slug, so loading a file again updates it.

Assignment: a form's `assign` list names who must fill it in: "all" (every
client who is not inactive), "status:new", "status:active", "status:inactive",
or client usernames ("user:NAME" spells out a username that reads like one of
the words above). A client is assigned a template once per version: loading
again adds nobody twice; raising `version` gives a new open copy to clients
whose response was to an older version. Loading never removes assignments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from piccolo.query.functions.aggregate import Count

from portal.core import audit
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.forms.assignments import OPEN, SUBMITTED
from portal.forms.definition import (
    FIELD_KEYS,
    TEXT_LIMITS,
    FormDefinitionError,
    TemplateDef,
    parse,
    read_file,
)
from portal.tables import Client, FormAssignment, FormTemplate, Practice
from portal.tables.people import ClientStatus


@dataclass
class LoadResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    assigned: int = 0


async def _targets(t: TemplateDef, practice_id: int) -> set[int]:
    """The client ids a template's `assign` list names (usernames checked to exist)."""
    ids: set[int] = set()
    where = f"form {t.slug!r}"
    for entry in t.assign:
        query = Client.select(Client.id).where(Client.practice == practice_id)
        if entry == "all":
            query = query.where(Client.status != ClientStatus.inactive)
        elif entry.startswith("status:"):
            query = query.where(Client.status == entry[7:])
        else:
            username = entry[5:] if entry.startswith("user:") else entry
            query = query.where(Client.user.username == username.strip().lower())
            rows = await query
            if not rows:
                raise FormDefinitionError(
                    f"{where}: assign {entry!r}: no client has the username {username!r}"
                )
            ids.update(r["id"] for r in rows)
            continue
        ids.update(r["id"] for r in await query)
    return ids


async def apply(templates: list[TemplateDef], *, now: datetime | None = None) -> LoadResult:
    """Check the assignments, then write every template and assignment in one transaction."""
    now = now or utcnow()
    practice = await Practice.select(Practice.id).order_by(Practice.id).first()
    if practice is None:
        raise FormDefinitionError(
            "the database holds no practice yet (run `portal demo` or set one up first)"
        )
    targets = {t.slug: await _targets(t, practice["id"]) for t in templates}
    result = LoadResult()
    async with write_transaction():
        for t in templates:
            row = (
                await FormTemplate.select(FormTemplate.id)
                .where(FormTemplate.slug == t.slug)
                .first()
            )
            values = {
                FormTemplate.title: t.title,
                FormTemplate.version: t.version,
                FormTemplate.definition: t.definition(),
                FormTemplate.updated_at: now,
            }
            if row is None:
                template_id = (
                    await FormTemplate.insert(
                        FormTemplate(
                            practice=practice["id"],
                            slug=t.slug,
                            title=t.title,
                            version=t.version,
                            definition=t.definition(),
                            updated_at=now,
                        )
                    ).returning(FormTemplate.id)
                )[0]["id"]
                result.created.append(t.slug)
            else:
                template_id = row["id"]
                await FormTemplate.update(values).where(FormTemplate.id == template_id)
                result.updated.append(t.slug)
            wanted = targets[t.slug]
            if not wanted:
                continue
            # Who already has this template: open (any version), or answered at this version.
            have = (
                await FormAssignment.select(
                    FormAssignment.client,
                    FormAssignment.status,
                    FormAssignment.submitted_definition,
                )
                .where(FormAssignment.template == template_id)
                .output(load_json=True)
            )
            covered = {
                a["client"]
                for a in have
                if a["status"] == OPEN
                or (a["submitted_definition"] or {}).get("version") == t.version
            }
            new = sorted(wanted - covered)
            if new:
                await FormAssignment.insert(
                    *(
                        FormAssignment(
                            client=c, template=template_id, assigned_at=now, answers={}, status=OPEN
                        )
                        for c in new
                    )
                )
            result.assigned += len(new)
        await audit.record(
            "form.templates_loaded",
            actor_id=None,
            detail={
                "created": result.created,
                "updated": result.updated,
                "assigned": result.assigned,
            },
        )
    return result


async def load_file(path: Path) -> LoadResult:
    return await apply(parse(read_file(path)))


async def describe() -> str:
    """Every template with its version and how many are open and submitted, as text."""
    templates = await FormTemplate.select(
        FormTemplate.id, FormTemplate.slug, FormTemplate.title, FormTemplate.version
    ).order_by(FormTemplate.slug)
    if not templates:
        return "No form templates yet: load some with `portal forms load FILE`."
    counts = {
        (r["template"], r["status"]): r["count"]
        for r in await FormAssignment.select(
            FormAssignment.template, FormAssignment.status, Count()
        ).group_by(FormAssignment.template, FormAssignment.status)
    }
    lines = []
    for t in templates:
        lines.append(
            f"{t['slug']}: {t['title']} (version {t['version']}): "
            f"{counts.get((t['id'], OPEN), 0)} open, {counts.get((t['id'], SUBMITTED), 0)} submitted"
        )
    return "\n".join(lines)


async def export() -> dict:
    """The practice's active templates as a forms file (`portal forms export`): the same
    structure `portal forms load` reads (JSON), so a practice can keep its forms in a file,
    edit them there or in the browser, and load them again. Retired templates are left out
    (loading the file must not bring them back)."""
    rows = await (
        FormTemplate.select(
            FormTemplate.slug, FormTemplate.title, FormTemplate.version, FormTemplate.definition
        )
        .where(FormTemplate.active.eq(True))
        .order_by(FormTemplate.slug)
    )
    forms = []
    for r in rows:
        d = r["definition"] if isinstance(r["definition"], dict) else json.loads(r["definition"])
        form = {"slug": r["slug"], "title": r["title"], "version": r["version"],
                "intro": d.get("intro", "")}  # fmt: skip
        if d.get("consent"):
            form["consent"] = d["consent"]
        if d.get("assign"):
            form["assign"] = list(d["assign"])
        # `max_length` is the file's only for text fields (a signature's is fixed).
        form["field"] = [
            {k: v for k, v in f.items() if k in FIELD_KEYS and v not in ("", None)
             and (k != "max_length" or f.get("type") in TEXT_LIMITS)}
            for f in d.get("fields", [])
        ]  # fmt: skip
        forms.append(form)
    return {"form": forms}

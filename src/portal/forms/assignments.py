"""My Docs & Forms: form templates from a declarative file, assigned to clients, filled in.

Templates come from a TOML (or JSON) file loaded with `portal forms load FILE`;
`src/portal/data/demo-forms.toml` is the example and the README describes the
format. The whole file is checked before anything is written (every problem is
reported with where it is: form, field, key), then written in one transaction.
A template is found again by its slug, so loading a file again updates it.

Assignment: a form's `assign` list names who must fill it in: "all" (every
client who is not inactive), "status:new", "status:active", "status:inactive",
or client usernames ("user:NAME" spells out a username that reads like one of
the words above). A client is assigned a template once per version: loading
again adds nobody twice; raising `version` gives a new open copy to clients
whose response was to an older version. Loading never removes assignments.

Answers are checked here, whatever the browser did: required fields, lengths,
ISO dates, choices among the choices, a signature that is a typed name. A
draft is saved only while the form is open; submitting is one conditional
UPDATE (`... WHERE status = 'open'`), so two submits make one response, and
the definition is copied into the response so it reads the same later.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from piccolo.engine.sqlite import TransactionType
from piccolo.query.functions.aggregate import Count

from portal.core import audit
from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.dashboard.tasks import Task, TaskContext
from portal.tables import Client, FormAssignment, FormTemplate, Practice
from portal.tables.people import ClientStatus

FIELD_TYPES = (
    "short_text",
    "long_text",
    "date",
    "single_choice",
    "multiple_choice",
    "checkbox",
    "signature",
)
TEXT_LIMITS = {"short_text": (200, 500), "long_text": (4000, 20000)}  # default, highest
SIGNATURE_MAX = 200
MAX_FIELDS = 100
MAX_CHOICES = 50
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FORM_KEYS = {"slug", "title", "version", "intro", "assign", "field"}
FIELD_KEYS = {"name", "type", "label", "help", "required", "max_length", "choices"}
OPEN, SUBMITTED = "open", "submitted"

# The left menu's count of forms to complete (one of the counts portal.core.menu runs at once).
OPEN_COUNT = (
    "SELECT COUNT(*) FROM form_assignment WHERE status = 'open'"
    ' AND client = (SELECT id FROM client WHERE "user" = {})'
)


class FormDefinitionError(ValueError):
    """A template file that cannot be loaded; the message says where the problem is."""


class FormNotFound(LookupError):
    """No such form for this client (answered as 404: a foreign id looks like no id)."""


# --- Definitions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    label: str
    help: str = ""
    required: bool = False
    max_length: int = 0
    choices: tuple[str, ...] = ()

    def to_json(self) -> dict:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "label": self.label,
            "required": self.required,
            "help": self.help,
        }
        if self.max_length:
            out["max_length"] = self.max_length
        if self.choices:
            out["choices"] = list(self.choices)
        return out

    @classmethod
    def from_json(cls, d: dict) -> FieldDef:
        return cls(
            name=d["name"],
            type=d["type"],
            label=d["label"],
            help=d.get("help", ""),
            required=bool(d.get("required", False)),
            max_length=int(d.get("max_length", 0) or 0),
            choices=tuple(d.get("choices", ())),
        )


@dataclass(frozen=True)
class TemplateDef:
    slug: str
    title: str
    version: str
    intro: str
    fields: tuple[FieldDef, ...]
    assign: tuple[str, ...] = ()

    def definition(self) -> dict:
        return {"intro": self.intro, "fields": [f.to_json() for f in self.fields]}


def _text(value: Any, where: str, key: str, *, limit: int, required: bool = True) -> str:
    if value is None:
        if required:
            raise FormDefinitionError(f"{where}: '{key}' is missing")
        return ""
    if not isinstance(value, str):
        raise FormDefinitionError(f"{where}: '{key}' must be text (in quotes)")
    value = value.strip()
    if required and not value:
        raise FormDefinitionError(f"{where}: '{key}' is empty")
    if len(value) > limit:
        raise FormDefinitionError(f"{where}: '{key}' is longer than {limit} characters")
    return value


def _unknown_keys(d: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise FormDefinitionError(
            f"{where}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} "
            f"(known: {', '.join(sorted(allowed))})"
        )


def _field(d: Any, form_where: str, index: int) -> FieldDef:
    where = f"{form_where}, field #{index}"
    if not isinstance(d, dict):
        raise FormDefinitionError(f"{where}: must be a table ([[form.field]])")
    name = d.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise FormDefinitionError(
            f"{where}: 'name' must be lower-case letters, digits and _, starting with a "
            f"letter, at most 40 characters (got {name!r})"
        )
    where = f"{form_where}, field #{index} ({name})"
    _unknown_keys(d, FIELD_KEYS, where)
    kind = d.get("type")
    if kind not in FIELD_TYPES:
        raise FormDefinitionError(f"{where}: 'type' must be one of {', '.join(FIELD_TYPES)}")
    label = _text(d.get("label"), where, "label", limit=500)
    help_text = _text(d.get("help"), where, "help", limit=1000, required=False)
    required = d.get("required", kind == "signature")
    if not isinstance(required, bool):
        raise FormDefinitionError(f"{where}: 'required' must be true or false")
    max_length = 0
    if kind in TEXT_LIMITS:
        default, highest = TEXT_LIMITS[kind]
        max_length = d.get("max_length", default)
        if isinstance(max_length, bool) or not isinstance(max_length, int):
            raise FormDefinitionError(f"{where}: 'max_length' must be a whole number")
        if not 1 <= max_length <= highest:
            raise FormDefinitionError(f"{where}: 'max_length' must be from 1 to {highest}")
    elif "max_length" in d:
        raise FormDefinitionError(f"{where}: 'max_length' is only for short_text and long_text")
    elif kind == "signature":
        max_length = SIGNATURE_MAX
    choices: tuple[str, ...] = ()
    if kind in ("single_choice", "multiple_choice"):
        raw = d.get("choices")
        if not isinstance(raw, list) or not raw:
            raise FormDefinitionError(f"{where}: 'choices' must be a list of options")
        if len(raw) > MAX_CHOICES:
            raise FormDefinitionError(f"{where}: at most {MAX_CHOICES} choices")
        seen: set[str] = set()
        out = []
        for j, c in enumerate(raw, 1):
            c = _text(c, where, f"choices #{j}", limit=200)
            if c in seen:
                raise FormDefinitionError(f"{where}: choice {c!r} is listed twice")
            seen.add(c)
            out.append(c)
        if kind == "single_choice" and len(out) < 2:
            raise FormDefinitionError(f"{where}: a single_choice needs at least two choices")
        choices = tuple(out)
    elif "choices" in d:
        raise FormDefinitionError(
            f"{where}: 'choices' is only for single_choice and multiple_choice"
        )
    return FieldDef(name, kind, label, help_text, required, max_length, choices)


def _assign(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise FormDefinitionError(
            f'{where}: \'assign\' must be a list like ["all"], ["status:new"] or usernames'
        )
    out = []
    for v in value:
        v = v.strip()
        if v.startswith("status:") and v[7:] not in {s.value for s in ClientStatus}:
            raise FormDefinitionError(
                f"{where}: assign {v!r}: the statuses are new, active and inactive"
            )
        out.append(v)
    return tuple(out)


def parse(data: dict) -> list[TemplateDef]:
    """Check a whole definition file (already read into a dict); the templates it defines."""
    if not isinstance(data, dict):
        raise FormDefinitionError("the file must hold [[form]] tables")
    _unknown_keys(data, {"form"}, "top level")
    forms = data.get("form")
    if not isinstance(forms, list) or not forms:
        raise FormDefinitionError("the file defines no form: add a [[form]] table")
    out: list[TemplateDef] = []
    slugs: set[str] = set()
    for i, f in enumerate(forms, 1):
        where = f"form #{i}"
        if not isinstance(f, dict):
            raise FormDefinitionError(f"{where}: must be a table ([[form]])")
        slug = f.get("slug")
        if not isinstance(slug, str) or not SLUG.match(slug):
            raise FormDefinitionError(
                f"{where}: 'slug' must be lower-case letters, digits and -, at most 80 "
                f"characters (got {slug!r})"
            )
        where = f"form {slug!r}"
        if slug in slugs:
            raise FormDefinitionError(f"{where}: this slug is used by two forms in the file")
        slugs.add(slug)
        _unknown_keys(f, FORM_KEYS, where)
        title = _text(f.get("title"), where, "title", limit=200)
        version = f.get("version", "1")
        if isinstance(version, bool) or not isinstance(version, (str, int)):
            raise FormDefinitionError(f"{where}: 'version' must be text like \"2026-1\"")
        version = _text(str(version), where, "version", limit=40)
        intro = _text(f.get("intro"), where, "intro", limit=4000, required=False)
        intro = intro.replace("\r\n", "\n")
        raw_fields = f.get("field")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise FormDefinitionError(f"{where}: no fields: add [[form.field]] tables")
        if len(raw_fields) > MAX_FIELDS:
            raise FormDefinitionError(f"{where}: at most {MAX_FIELDS} fields")
        fields = [_field(d, where, j) for j, d in enumerate(raw_fields, 1)]
        names = [fd.name for fd in fields]
        for name in names:
            if names.count(name) > 1:
                raise FormDefinitionError(f"{where}: field name {name!r} is used twice")
        out.append(
            TemplateDef(slug, title, version, intro, tuple(fields), _assign(f.get("assign"), where))
        )
    return out


def read_file(path: Path) -> dict:
    """A definition file as a dict: JSON when it ends in .json, TOML otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormDefinitionError(f"{path}: cannot be read ({exc})") from exc
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormDefinitionError(f"{path}: not valid TOML: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise FormDefinitionError(f"{path}: not valid JSON: {exc}") from exc


# --- Loading and assigning ---------------------------------------------------------------------


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

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


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
    """One of this client's forms; FormNotFound for anyone else's."""
    row = (
        await FormAssignment.select(*_COLUMNS)
        .where(FormAssignment.id == assignment_id, FormAssignment.client == client_id)
        .first()
    )
    if row is None:
        raise FormNotFound(assignment_id)
    return _assignment(row)


async def open_forms(ctx: TaskContext) -> list[Task]:
    rows = (
        await FormAssignment.select(
            FormAssignment.id, FormAssignment.template.title.as_alias("title")
        )
        .where(FormAssignment.client == ctx.client_id, FormAssignment.status == OPEN)
        .order_by(FormAssignment.assigned_at)
        .order_by(FormAssignment.id)
    )
    return [
        Task(key=f"form-{r['id']}", text=task_text(r["title"]), href=f"/forms/{r['id']}")
        for r in rows
    ]


def task_text(title: str) -> str:
    return f"Complete the {title}" + ("" if title.lower().endswith(" form") else " form")


# --- Answers -------------------------------------------------------------------------------------


def read_answers(fields: list[FieldDef], form: Any) -> dict[str, Any]:
    """What the client entered, per field, as typed (the form shows it back on an error).

    `form` is a multi-dict (`get`, `getall`): text as str, multiple choice as a list,
    a checkbox as True/False.
    """
    values: dict[str, Any] = {}
    for f in fields:
        if f.type == "multiple_choice":
            getall = getattr(form, "getall", None)
            raw = getall(f.name, []) if getall else form.get(f.name, [])
            values[f.name] = [str(v) for v in (raw if isinstance(raw, list) else [raw])]
        elif f.type == "checkbox":
            values[f.name] = str(form.get(f.name, "")) == "yes"
        else:
            text = str(form.get(f.name, "") or "").replace("\r\n", "\n").replace("\r", "\n")
            if f.type == "signature":
                text = " ".join(text.split())
            values[f.name] = text.strip()
    return values


def _missing(f: FieldDef) -> str:
    return {
        "single_choice": "Choose an option.",
        "multiple_choice": "Choose at least one option.",
        "checkbox": "Tick this box to continue.",
        "date": "Enter a date.",
        "signature": "Type your full name to sign.",
    }.get(f.type, "Answer this question.")


def _date_problem(text: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return "Enter a date as year-month-day, like 1985-03-14."
    try:
        d = date.fromisoformat(text)
    except ValueError:
        return "That date does not exist. Check the day and month."
    if not 1900 <= d.year <= 2100:
        return "Enter a year between 1900 and 2100."
    return ""


def check(fields: list[FieldDef], values: dict[str, Any], *, final: bool) -> dict[str, str]:
    """Problems per field name: the value's shape always, and on `final` also what is required."""
    errors: dict[str, str] = {}
    for f in fields:
        v = values.get(f.name)
        empty = v in (None, "", [], False)
        if empty:
            if final and f.required:
                errors[f.name] = _missing(f)
            continue
        if f.type in ("short_text", "long_text", "signature"):
            if len(v) > f.max_length:
                errors[f.name] = (
                    f"Keep this to {f.max_length:,} characters or fewer (it has {len(v):,})."
                )
            elif f.type == "signature" and sum(ch.isalpha() for ch in v) < 2:
                errors[f.name] = "Type your full name, in letters, to sign."
        elif f.type == "date":
            if problem := _date_problem(v):
                errors[f.name] = problem
        elif f.type == "single_choice":
            if v not in f.choices:
                errors[f.name] = "Choose one of the options shown."
        elif f.type == "multiple_choice":
            if any(c not in f.choices for c in v):
                errors[f.name] = "Choose only from the options shown."
    return errors


def _stored(fields: list[FieldDef], values: dict[str, Any]) -> dict[str, Any]:
    """Answers as kept: only the template's fields, choices in the template's order."""
    out: dict[str, Any] = {}
    for f in fields:
        v = values.get(f.name)
        if f.type == "multiple_choice":
            chosen = set(v or [])
            out[f.name] = [c for c in f.choices if c in chosen]
        elif f.type == "checkbox":
            out[f.name] = bool(v)
        else:
            out[f.name] = v or ""
    return out


def form_values(a: Assignment) -> dict[str, Any]:
    """The saved answers in the shape the fill-in form shows them."""
    values: dict[str, Any] = {}
    for f in a.fields:
        v = a.answers.get(f.name)
        if f.type == "signature" and isinstance(v, dict):
            v = v.get("name", "")
        values[f.name] = v
    return values


def _changed_fields(fields: list[FieldDef], old: dict, new: dict) -> list[str]:
    return [f.name for f in fields if old.get(f.name) != new.get(f.name)]


def _write_transaction():  # noqa: ANN202
    db = FormAssignment._meta.db
    if db.engine_type == "sqlite":
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


async def save_draft(
    client_id: int, a: Assignment, values: dict[str, Any], *, actor_id: int, ip: str,
    now: datetime | None = None,
) -> bool:  # fmt: skip
    """Keep the answers so far (already checked with final=False). False: no longer open."""
    now = now or utcnow()
    answers = _stored(a.fields, values)
    async with _write_transaction():
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
            return False
        await audit.record(
            "form.draft_saved",
            actor_id=actor_id,
            ip=ip,
            subject=f"form_assignment:{a.id}",
            detail={
                "form": a.slug,
                "fields_changed": _changed_fields(a.fields, a.answers, answers),
            },
        )
    return True


async def submit(
    client_id: int, a: Assignment, values: dict[str, Any], *, actor_id: int, ip: str,
    now: datetime | None = None,
) -> bool:  # fmt: skip
    """Lock the response (already checked with final=True). False: it was submitted already.

    One conditional UPDATE: of two submits, however close, one changes the row and the
    other changes nothing.
    """
    now = now or utcnow()
    answers = _stored(a.fields, values)
    for f in a.fields:
        if f.type == "signature" and answers.get(f.name):
            answers[f.name] = {"name": answers[f.name], "signed_at": now.isoformat()}
    snapshot = {
        "title": a.title,
        "version": a.version,
        "intro": a.intro,
        "fields": [f.to_json() for f in a.fields],
    }
    async with _write_transaction():
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
            return False
        await audit.record(
            "form.submitted",
            actor_id=actor_id,
            ip=ip,
            subject=f"form_assignment:{a.id}",
            detail={
                "form": a.slug,
                "version": a.version,
                "signed": [
                    f.name for f in a.fields if f.type == "signature" and answers.get(f.name)
                ],
            },
        )
    return True


# --- Showing a response ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownAnswer:
    label: str
    type: str
    text: str  # "" when not answered
    lines: tuple[str, ...] = ()  # multiple choice
    signed_at: datetime | None = None


def shown(a: Assignment) -> list[ShownAnswer]:
    """A submitted response, question by question, as words (for the page and the PDF)."""
    out = []
    for f in a.fields:
        v = a.answers.get(f.name)
        signed_at = None
        lines: tuple[str, ...] = ()
        text = ""
        if f.type == "checkbox":
            text = "Yes" if v else "No"
        elif f.type == "multiple_choice":
            lines = tuple(v or ())
            text = ", ".join(lines)
        elif f.type == "date" and v:
            try:
                text = date.fromisoformat(v).strftime("%-d %B %Y")
            except ValueError:
                text = str(v)
        elif f.type == "signature" and isinstance(v, dict):
            text = v.get("name", "")
            if v.get("signed_at"):
                signed_at = datetime.fromisoformat(v["signed_at"])
        else:
            text = str(v or "")
        out.append(ShownAnswer(f.label, f.type, text, lines, signed_at))
    return out

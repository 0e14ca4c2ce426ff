"""My Docs & Forms: a client's answers, read from the posted form, checked, kept and shown.

Answers are checked here, whatever the browser did: required fields, lengths,
ISO dates, choices among the choices, a signature that is a typed name.
Pure functions over a template's fields: `portal.forms.assignments` writes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from portal.forms.definition import FieldDef

if TYPE_CHECKING:
    from portal.forms.assignments import Assignment


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


def stored(fields: list[FieldDef], values: dict[str, Any]) -> dict[str, Any]:
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


def changed_fields(fields: list[FieldDef], old: dict, new: dict) -> list[str]:
    return [f.name for f in fields if old.get(f.name) != new.get(f.name)]


@dataclass(frozen=True)
class ShownAnswer:
    label: str
    type: str
    text: str  # "" when not answered
    lines: tuple[str, ...] = ()  # multiple choice
    signed_at: datetime | None = None
    help: str = ""  # the field's help text as the client saw it (kept with the response)


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
        out.append(ShownAnswer(f.label, f.type, text, lines, signed_at, f.help))
    return out

"""My Docs & Forms: definition files, checked and compiled into templates (FieldDef, TemplateDef).

Templates come from a TOML (or JSON) file loaded with `portal forms load FILE`
(`portal.forms.loader` writes them); `src/portal/data/demo-forms.toml` is the
example and docs/file-formats.md describes the format. The whole file is checked here
before anything is written: every problem is reported with where it is (form,
field, key) as a `FormDefinitionError`. That stays a ValueError, not a domain
error: it is an operator's file read by the command line, never a user's input.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.core.errors import unknown_keys
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
FORM_KEYS = {"slug", "title", "version", "intro", "consent", "assign", "field"}
CONSENT_MAX = 4000
FIELD_KEYS = {"name", "type", "label", "help", "required", "max_length", "choices"}


class FormDefinitionError(ValueError):
    """A template file that cannot be loaded; the message says where the problem is, in the
    file's terms. `plain` says it for staff in the browser's forms editor, which has no
    keys or quotes: its inputs' labels instead (empty: the message will do)."""

    def __init__(self, message: str, plain: str = "") -> None:
        super().__init__(message)
        self.plain = plain


# How the forms editor names what a file calls by its key.
PLAIN_NAMES = {"title": "the title", "version": "the version", "intro": "the introduction",
               "consent": "the consent text", "label": "the question", "help": "the help text"}  # fmt: skip


def _plain(key: str) -> str:
    return PLAIN_NAMES.get(key, "each choice" if key.startswith("choices") else key)


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
    # What the client agrees to by submitting: shown above the submit button, kept with
    # the response and printed in its PDF.
    consent: str = ""

    def definition(self) -> dict:
        # `assign` is kept so that a client created later gets the forms meant for them
        # (portal.forms.assigning.assign_for_new_client).
        out = {
            "intro": self.intro,
            "fields": [f.to_json() for f in self.fields],
            "assign": list(self.assign),
        }
        if self.consent:
            out["consent"] = self.consent
        return out


def _text(value: Any, where: str, key: str, *, limit: int, required: bool = True) -> str:
    if value is None:
        if required:
            raise FormDefinitionError(f"{where}: '{key}' is missing", f"Enter {_plain(key)}.")
        return ""
    if not isinstance(value, str):
        raise FormDefinitionError(f"{where}: '{key}' must be text (in quotes)")
    value = value.strip()
    if required and not value:
        raise FormDefinitionError(f"{where}: '{key}' is empty", f"Enter {_plain(key)}.")
    if len(value) > limit:
        raise FormDefinitionError(
            f"{where}: '{key}' is longer than {limit} characters",
            f"Shorten {_plain(key)}: at most {limit:,} characters.",
        )
    return value


def _unknown_keys(d: dict, allowed: set[str], where: str) -> None:
    if message := unknown_keys(d, allowed, where):
        raise FormDefinitionError(message)


def field(d: Any, form_where: str, index: int) -> FieldDef:
    where = f"{form_where}, field #{index}"
    if not isinstance(d, dict):
        raise FormDefinitionError(f"{where}: must be a table ([[form.field]])")
    name = d.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise FormDefinitionError(
            f"{where}: 'name' must be lower-case letters, digits and _, starting with a "
            f"letter, at most 40 characters (got {name!r})",
            "A name holds lower-case letters, digits and _ only, starts with a letter and has "
            "at most 40 characters, like date_of_birth. Leave it empty to make one from the "
            "question.",
        )
    where = f"{form_where}, field #{index} ({name})"
    _unknown_keys(d, FIELD_KEYS, where)
    kind = d.get("type")
    if kind not in FIELD_TYPES:
        raise FormDefinitionError(
            f"{where}: 'type' must be one of {', '.join(FIELD_TYPES)}", "Choose the kind of answer."
        )
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
            raise FormDefinitionError(
                f"{where}: 'choices' must be a list of options",
                "List the choices the client picks from, one a line.",
            )
        if len(raw) > MAX_CHOICES:
            raise FormDefinitionError(
                f"{where}: at most {MAX_CHOICES} choices", f"Give {MAX_CHOICES} choices at most."
            )
        seen: set[str] = set()
        out = []
        for j, c in enumerate(raw, 1):
            c = _text(c, where, f"choices #{j}", limit=200)
            if c in seen:
                raise FormDefinitionError(
                    f"{where}: choice {c!r} is listed twice", f"The choice “{c}” is listed twice."
                )
            seen.add(c)
            out.append(c)
        if kind == "single_choice" and len(out) < 2:
            raise FormDefinitionError(
                f"{where}: a single_choice needs at least two choices",
                "Give at least two choices: the client picks one of them.",
            )
        choices = tuple(out)
    elif "choices" in d:
        raise FormDefinitionError(
            f"{where}: 'choices' is only for single_choice and multiple_choice",
            "Choices are only for One choice and Several choices answers: remove them, or "
            "change the kind of answer.",
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
        t = check_form(f, i)
        if t.slug in slugs:
            raise FormDefinitionError(
                f"form {t.slug!r}: this slug is used by two forms in the file"
            )
        slugs.add(t.slug)
        out.append(t)
    return out


def check_form(f: Any, i: int = 1) -> TemplateDef:
    """One [[form]] table checked: the rules of the file and of the staff editor
    (portal.forms.editor builds the same table from the browser's form)."""
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
    _unknown_keys(f, FORM_KEYS, where)
    title, version, intro, consent = form_texts(f, where)
    raw_fields = f.get("field")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise FormDefinitionError(f"{where}: no fields: add [[form.field]] tables")
    if len(raw_fields) > MAX_FIELDS:
        raise FormDefinitionError(f"{where}: at most {MAX_FIELDS} fields")
    fields = [field(d, where, j) for j, d in enumerate(raw_fields, 1)]
    if twice := repeated_names(fields):
        raise FormDefinitionError(f"{where}: field name {twice[0]!r} is used twice")
    assign = _assign(f.get("assign"), where)
    return TemplateDef(slug, title, version, intro, tuple(fields), assign, consent)


# A form's texts: the most characters of each, and whether it must be given.
FORM_TEXTS = {"title": (200, True), "version": (40, True), "intro": (4000, False),
              "consent": (CONSENT_MAX, False)}  # fmt: skip


def form_text(f: dict, where: str, key: str) -> str:
    """One of a form's texts (`FORM_TEXTS`), checked; line ends made "\\n"."""
    limit, required = FORM_TEXTS[key]
    value = f.get(key, "1" if key == "version" else None)
    if key == "version":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise FormDefinitionError(f"{where}: 'version' must be text like \"2026-1\"")
        value = str(value)
    return _text(value, where, key, limit=limit, required=required).replace("\r\n", "\n")


def form_texts(f: dict, where: str) -> tuple[str, str, str, str]:
    """A form's title, version, intro and consent text, checked."""
    return tuple(form_text(f, where, key) for key in FORM_TEXTS)  # type: ignore[return-value]


def repeated_names(fields: list[FieldDef]) -> list[str]:
    """The field names used more than once, in order."""
    names = [fd.name for fd in fields]
    return [n for i, n in enumerate(names) if names.count(n) > 1 and names.index(n) == i]


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

"""Staff › Settings › Forms: the browser's form editor, read and checked.

The editor posts a form's texts and its field rows (`field-N-label`, `field-N-kind`...;
`rows` says how many). Rows are edited without JavaScript: every row has move up, move
down and remove buttons, and "Add a field" adds a blank row (`apply_op`); each posts
the whole editor back with `op` naming the button, and nothing is saved until "Save".
A row left wholly blank is not a field.

`check` builds the same [[form]] table a forms file holds and checks it with the file's
rules (`portal.forms.definition`): one set of rules for both, and the messages say which
text or row is wrong (`title`, `consent`, `row-3`...). Pure functions: no database.
"""

from __future__ import annotations

import re
from typing import Any

from portal.forms.definition import (
    FIELD_TYPES,
    FORM_TEXTS,
    MAX_FIELDS,
    NAME,
    FieldDef,
    FormDefinitionError,
    TemplateDef,
    check_form,
    field,
    form_text,
    repeated_names,
)

ROW_KEYS = ("name", "label", "kind", "required", "choices", "help", "max_length")
ROW_LIMITS = {"name": 41, "label": 501, "kind": 20, "required": 3, "choices": 12000,
              "help": 1001, "max_length": 6}  # fmt: skip
TEXT_LIMITS = {key: limit + 1 for key, (limit, _) in FORM_TEXTS.items()}
KIND_NAMES = {
    "short_text": "Short answer",
    "long_text": "Long answer",
    "date": "Date",
    "single_choice": "One choice",
    "multiple_choice": "Several choices",
    "checkbox": "Checkbox (for example “I agree”)",
    "signature": "Signature (typed name)",
}
assert set(KIND_NAMES) == set(FIELD_TYPES)


def blank_row() -> dict[str, str]:
    return {k: "" for k in ROW_KEYS} | {"kind": "short_text"}


def _is_blank(row: dict[str, str]) -> bool:
    return not any(row.get(k, "").strip() for k in ("name", "label", "choices", "help"))


def _read(form: Any, name: str, limit: int) -> str:
    return str(form.get(name, "")).replace("\r\n", "\n").strip()[:limit]


def typed_from_form(form: Any) -> dict[str, Any]:
    """What the editor posted, as typed (cut at each input's maxlength)."""
    typed: dict[str, Any] = {k: _read(form, k, n) for k, n in TEXT_LIMITS.items()}
    count = str(form.get("rows", "0"))
    rows = []
    for i in range(1, min(int(count) if count.isascii() and count.isdigit() else 0,
                          MAX_FIELDS + 5) + 1):  # fmt: skip
        rows.append({k: _read(form, f"field-{i}-{k}", ROW_LIMITS[k]) for k in ROW_KEYS})
    typed["rows"] = rows
    return typed


def typed_from_template(title: str, version: str, definition: dict) -> dict[str, Any]:
    """A template as the editor shows it."""
    rows = []
    for f in definition.get("fields", []):
        fd = FieldDef.from_json(f)
        default_length = {"short_text": 200, "long_text": 4000}.get(fd.type)
        rows.append({
            "name": fd.name, "label": fd.label, "kind": fd.type,
            "required": "yes" if fd.required else "", "choices": "\n".join(fd.choices),
            "help": fd.help,
            "max_length": str(fd.max_length) if fd.max_length != default_length
            and fd.type in ("short_text", "long_text") else "",
        })  # fmt: skip
    return {"title": title, "version": version, "intro": definition.get("intro", ""),
            "consent": definition.get("consent", ""), "rows": rows}  # fmt: skip


def apply_op(typed: dict[str, Any], op: str) -> bool:
    """Add, move or remove a row as the button `op` says ("add", "up-3", "down-3",
    "remove-3"); True when `op` was one of them (the editor is shown again, unsaved)."""
    rows: list = typed["rows"]
    if op == "add":
        if len(rows) < MAX_FIELDS:
            rows.append(blank_row())
        return True
    m = re.fullmatch(r"(up|down|remove)-(\d{1,3})", op)
    if not m:
        return False
    i = int(m.group(2)) - 1
    if not 0 <= i < len(rows):
        return True
    if m.group(1) == "remove":
        rows.pop(i)
    else:
        j = i - 1 if m.group(1) == "up" else i + 1
        if 0 <= j < len(rows):
            rows[i], rows[j] = rows[j], rows[i]
    return True


def _name_from(label: str) -> str:
    """A field name made from its label ("Date of birth" -> "date_of_birth")."""
    name = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40].rstrip("_")
    if name and not name[0].isalpha():
        name = f"q_{name}"[:40]
    return name if NAME.match(name or "-") else ""


def _table_row(row: dict[str, str]) -> dict[str, Any]:
    """One row as a [[form.field]] table: what the file would say."""
    d: dict[str, Any] = {
        "name": row["name"] or _name_from(row["label"]),
        "type": row["kind"],
        "label": row["label"],
        "required": row["required"] == "yes",
    }
    if row["help"]:
        d["help"] = row["help"]
    if row["choices"]:
        d["choices"] = [c.strip() for c in row["choices"].split("\n") if c.strip()]
    elif row["kind"] in ("single_choice", "multiple_choice"):
        d["choices"] = []
    if row["max_length"]:
        text = row["max_length"]
        d["max_length"] = int(text) if text.isascii() and text.isdigit() else text
    return d


def _problem(exc: FormDefinitionError) -> str:
    """The rule's message in the editor's words (it is shown by its input), else the file's
    message without where it is."""
    return exc.plain or str(exc).split(": ", 1)[-1]


def check(
    typed: dict[str, Any], slug: str, assign: tuple[str, ...] = ()
) -> tuple[TemplateDef | None, dict[str, str]]:
    """The editor's input checked by the forms file's rules: (the template, {}) or
    (None, messages by `title`, `version`, `intro`, `consent`, `fields`, `row-N`)."""
    where = f"form {slug!r}"
    errors: dict[str, str] = {}
    for key in FORM_TEXTS:
        try:
            form_text(typed, where, key)
        except FormDefinitionError as exc:
            errors[key] = _problem(exc)
    tables: list[tuple[int, dict]] = [
        (i, _table_row(row)) for i, row in enumerate(typed["rows"], 1) if not _is_blank(row)
    ]
    checked: list[tuple[int, FieldDef]] = []
    for n, (i, d) in enumerate(tables, 1):
        try:
            checked.append((i, field(d, where, n)))
        except FormDefinitionError as exc:
            errors[f"row-{i}"] = _problem(exc)
    for twice in repeated_names([fd for _, fd in checked]):
        for i, fd in checked:
            if fd.name == twice:
                errors[f"row-{i}"] = (
                    f"Another question has the name {twice}: give each its own name."
                )
    if not tables:
        errors["fields"] = "Add at least one field: a form with no questions asks nothing."
    elif len(tables) > MAX_FIELDS:
        errors["fields"] = f"A form has at most {MAX_FIELDS} fields."
    if errors:
        return None, errors
    table = {k: typed[k] for k in FORM_TEXTS} | {"slug": slug, "field": [d for _, d in tables]}
    if assign:
        table["assign"] = list(assign)
    try:
        return check_form(table), {}
    except FormDefinitionError as exc:  # not expected: every rule was applied above
        return None, {"fields": _problem(exc)}

"""Demographics staff keep about a client: the top three (gender, marital status,
employment, columns of `client`) and the practice's own custom ones.

The practice defines its custom demographics (label, kind, choices, order); staff fill
them in on the client record and when creating a client. They are staff-only: nothing
in a client's page or fragment reads `custom_field` or `custom_field_value`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from portal.core import audit
from portal.core.actor import Actor
from portal.core.db import write_transaction
from portal.core.errors import Invalid, NotFound
from portal.tables import Client, CustomField, CustomFieldValue

# The top demographics, offered as choices; an empty answer means "not recorded".
TOP_CHOICES: dict[str, tuple[str, ...]] = {
    "gender": ("Female", "Male", "Non-binary", "Another identity", "Prefers not to say"),
    "marital_status": (
        "Single",
        "Married",
        "Domestic partnership",
        "Separated",
        "Divorced",
        "Widowed",
    ),
    "employment": (
        "Employed full-time",
        "Employed part-time",
        "Self-employed",
        "Unemployed",
        "Student",
        "Retired",
        "Unable to work",
    ),
}
TOP_LABELS = {"gender": "Gender", "marital_status": "Marital status", "employment": "Employment"}

KINDS = {"text": "Text", "choice": "Choice", "date": "Date", "yesno": "Yes or no"}
MAX_LABEL = 100
MAX_VALUE = 500
MAX_CHOICES = 30
MAX_FIELDS = 50


@dataclass(frozen=True)
class Field:
    id: int
    label: str
    kind: str
    choices: tuple[str, ...]
    position: int

    @property
    def name(self) -> str:
        """The form field's name on staff pages."""
        return f"custom_{self.id}"


def _field(row: dict) -> Field:
    choices = tuple(c.strip() for c in (row["choices"] or "").splitlines() if c.strip())
    return Field(row["id"], row["label"], row["kind"], choices, row["position"])


async def fields(practice_id: int) -> list[Field]:
    rows = await (
        CustomField.select()
        .where(CustomField.practice == practice_id)
        .order_by(CustomField.position)
        .order_by(CustomField.id)
    )
    return [_field(r) for r in rows]


def check_definition(label: str, kind: str, choices: str) -> tuple[dict, dict[str, str]]:
    """A field's definition from a staff form: (clean values, errors by field name)."""
    errors: dict[str, str] = {}
    label = " ".join(label.split())
    options = [c.strip() for c in choices.splitlines() if c.strip()]
    if not label:
        errors["label"] = "Give the field a label."
    elif len(label) > MAX_LABEL:
        errors["label"] = f"Keep the label under {MAX_LABEL} characters."
    if kind not in KINDS:
        errors["kind"] = "Choose what kind of answer the field takes."
    elif kind == "choice":
        if len(options) < 2:
            errors["choices"] = "A choice needs at least two options, one per line."
        elif len(options) > MAX_CHOICES or any(len(o) > MAX_LABEL for o in options):
            errors["choices"] = f"Up to {MAX_CHOICES} options of under {MAX_LABEL} characters."
        elif len(set(options)) != len(options):
            errors["choices"] = "Each option only once."
    clean = {
        "label": label,
        "kind": kind,
        "choices": "\n".join(options) if kind == "choice" else "",
    }
    return clean, errors


async def define(practice_id: int, definition: Mapping[str, str], actor: Actor) -> int:
    """Add a custom field at the end; `definition` comes from `check_definition`."""
    async with write_transaction():
        existing = await CustomField.count().where(CustomField.practice == practice_id)
        if existing >= MAX_FIELDS:
            raise Invalid(f"A practice keeps up to {MAX_FIELDS} custom fields.")
        rows = await CustomField.insert(
            CustomField(practice=practice_id, position=existing + 1, **definition)
        ).returning(CustomField.id)
        await audit.record(
            "staff.custom_field_added",
            actor_id=actor.user_id,
            ip=actor.ip,
            detail={"field": rows[0]["id"], "label": definition["label"]},
        )
    return rows[0]["id"]


async def change(
    practice_id: int, field_id: int, definition: Mapping[str, str], actor: Actor
) -> None:
    async with write_transaction():
        found = await CustomField.exists().where(
            (CustomField.id == field_id) & (CustomField.practice == practice_id)
        )
        if not found:
            raise NotFound("No such field.")
        await CustomField.update(dict(definition)).where(CustomField.id == field_id)
        await audit.record(
            "staff.custom_field_changed",
            actor_id=actor.user_id,
            ip=actor.ip,
            detail={"field": field_id, "label": definition["label"]},
        )


async def remove(practice_id: int, field_id: int, actor: Actor) -> None:
    """Remove a field and every client's answer to it."""
    async with write_transaction():
        row = (
            await CustomField.select(CustomField.label)
            .where((CustomField.id == field_id) & (CustomField.practice == practice_id))
            .first()
        )
        if row is None:
            raise NotFound("No such field.")
        await CustomFieldValue.delete().where(CustomFieldValue.field == field_id)
        await CustomField.delete().where(CustomField.id == field_id)
        await audit.record(
            "staff.custom_field_removed",
            actor_id=actor.user_id,
            ip=actor.ip,
            detail={"field": field_id, "label": row["label"]},
        )


async def move(practice_id: int, field_id: int, offset: int, actor: Actor) -> None:
    """Move a field one place up (offset -1) or down (+1) in the order staff see."""
    async with write_transaction():
        order = [f.id for f in await fields(practice_id)]
        if field_id not in order:
            raise NotFound("No such field.")
        i = order.index(field_id)
        j = max(0, min(len(order) - 1, i + offset))
        order.insert(j, order.pop(i))
        for position, fid in enumerate(order, start=1):
            await CustomField.update({CustomField.position: position}).where(CustomField.id == fid)
        await audit.record(
            "staff.custom_field_moved",
            actor_id=actor.user_id,
            ip=actor.ip,
            detail={"field": field_id, "position": j + 1},
        )


def check_values(
    custom: list[Field], form: Mapping[str, str]
) -> tuple[dict[str, str], dict[int, str], dict[str, str]]:
    """Top and custom demographics from a staff form.

    Returns (top values by column, custom values by field id, errors by form field name)."""
    errors: dict[str, str] = {}
    top: dict[str, str] = {}
    for column, options in TOP_CHOICES.items():
        value = (form.get(column) or "").strip()
        if value and value not in options:
            errors[column] = f"Choose one of the listed options for {TOP_LABELS[column].lower()}."
        top[column] = value
    values: dict[int, str] = {}
    for f in custom:
        value = (form.get(f.name) or "").strip()
        if len(value) > MAX_VALUE:
            errors[f.name] = f"Keep it under {MAX_VALUE} characters."
        elif value and f.kind == "choice" and value not in f.choices:
            errors[f.name] = "Choose one of the listed options."
        elif value and f.kind == "yesno" and value not in ("yes", "no"):
            errors[f.name] = "Choose yes or no."
        elif value and f.kind == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                errors[f.name] = "Enter a date, for example 2024-03-31."
        values[f.id] = value
    return top, values, errors


async def values_of(client_id: int) -> dict[int, str]:
    rows = await CustomFieldValue.select(CustomFieldValue.field, CustomFieldValue.value).where(
        CustomFieldValue.client == client_id
    )
    return {r["field"]: r["value"] for r in rows}


async def save(client_id: int, top: Mapping[str, str], values: Mapping[int, str]) -> None:
    """Write a client's demographics; the caller holds the write transaction and audits."""
    if top:
        await Client.update({getattr(Client, k): v for k, v in top.items()}).where(
            Client.id == client_id
        )
    if values:
        await CustomFieldValue.delete().where(
            (CustomFieldValue.client == client_id) & CustomFieldValue.field.is_in(list(values))
        )
        kept = [
            CustomFieldValue(client=client_id, field=fid, value=v) for fid, v in values.items() if v
        ]
        if kept:
            await CustomFieldValue.insert(*kept)


async def update(
    client_id: int, top: Mapping[str, str], values: Mapping[int, str], actor: Actor
) -> None:
    """Save a client's demographics from the record's edit form, audited."""
    async with write_transaction():
        await save(client_id, top, values)
        await audit.record(
            "staff.demographics_changed",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"client:{client_id}",
            detail={"client": client_id, "fields": sorted(top) + [f"custom_{i}" for i in values]},
        )

"""My Insurance: a client's primary insurance, with every earlier version kept.

A client answers once: no insurance (self or private pay), or their policy's
details. Entering details again replaces the current policy: the old row gets
`replaced_at` and stays as history, the new row becomes current, in one
transaction (and one writer per client at a time). What is current is what
staff read as the client's Primary Insurance: `current_policy(client_id)`
works for any client id; callers decide who may see it.

Card images are stored through `portal.core.uploads` (images only, judged by their
bytes) and may be fetched only through a policy of the same client. A side left
empty keeps its image only when the details are still the same card (the same
payer and member id): a new policy has only the images given for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from portal.core import audit, uploads
from portal.core.actor import Actor
from portal.core.db import write_transaction
from portal.core.errors import Invalid
from portal.core.uploads import IMAGE_TYPES, Checked, UploadError
from portal.dashboard.tasks import Task, TaskContext
from portal.tables import Client, InsurancePolicy

# Client.insurance_choice values.
NOT_ANSWERED = ""
NONE = "none"
INSURED = "insured"

# The subscriber's (policy holder's) relationship to the client.
RELATIONSHIPS = {
    "self": "Self: I am the subscriber",
    "spouse": "Spouse or partner",
    "parent": "Parent",
    "other": "Other",
}
# How the page names the subscriber beside their name.
RELATIONSHIP_PHRASES = {
    "self": "you",
    "spouse": "your spouse or partner",
    "parent": "your parent",
    "other": "other relationship",
}

# Form fields and their maximum lengths (the table's column lengths).
TEXT_FIELDS = {
    "payer": 150,
    "member_id": 60,
    "group_number": 60,
    "plan": 150,
    "subscriber_name": 150,
    "subscriber_date_of_birth": 10,
    "subscriber_relationship": 20,
}
CARD_SIDES = ("front", "back")

_CARD_CODE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 \-]*[A-Za-z0-9])?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
EARLIEST_BIRTH = date(1900, 1, 1)

_COLUMNS = (
    InsurancePolicy.id,
    InsurancePolicy.client,
    InsurancePolicy.payer,
    InsurancePolicy.member_id,
    InsurancePolicy.group_number,
    InsurancePolicy.plan,
    InsurancePolicy.subscriber_name,
    InsurancePolicy.subscriber_date_of_birth,
    InsurancePolicy.subscriber_relationship,
    InsurancePolicy.card_front,
    InsurancePolicy.card_back,
    InsurancePolicy.created_at,
    InsurancePolicy.replaced_at,
    InsurancePolicy.card_front.display_name.as_alias("card_front_name"),
    InsurancePolicy.card_front.size.as_alias("card_front_size"),
    InsurancePolicy.card_back.display_name.as_alias("card_back_name"),
    InsurancePolicy.card_back.size.as_alias("card_back_size"),
)


@dataclass(frozen=True)
class Details:
    """A policy's details as the client entered them, already checked."""

    payer: str
    member_id: str
    group_number: str
    plan: str
    subscriber_name: str
    subscriber_date_of_birth: date
    subscriber_relationship: str


@dataclass(frozen=True)
class Overview:
    """Everything the My Insurance page shows for one client."""

    choice: str
    choice_at: datetime | None
    current: dict | None
    history: list[dict] = field(default_factory=list)


def parse_date(text: str) -> date | None:
    """YYYY-MM-DD (what a date field sends) or MM/DD/YYYY (typed by hand)."""
    text = text.strip()
    try:
        if m := _US_DATE.match(text):
            return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None


def validate(values: Mapping[str, str], *, today: date) -> tuple[Details | None, dict[str, str]]:
    """The details, or the problems keyed by field name (with what to do about each)."""
    v = {name: (values.get(name) or "").strip()[:limit] for name, limit in TEXT_FIELDS.items()}
    errors: dict[str, str] = {}
    if not v["payer"]:
        errors["payer"] = "Enter the name of your insurance company, as on your card."
    if not v["member_id"]:
        errors["member_id"] = "Enter your member ID, as on your card."
    elif not _CARD_CODE.match(v["member_id"]):
        errors["member_id"] = "Use only the letters, digits, spaces and dashes on your card."
    if v["group_number"] and not _CARD_CODE.match(v["group_number"]):
        errors["group_number"] = "Use only the letters, digits, spaces and dashes on your card."
    if not v["subscriber_name"]:
        errors["subscriber_name"] = "Enter the subscriber's full name (the policy holder)."
    born = parse_date(v["subscriber_date_of_birth"])
    if not v["subscriber_date_of_birth"]:
        errors["subscriber_date_of_birth"] = "Enter the subscriber's date of birth."
    elif born is None:
        errors["subscriber_date_of_birth"] = "Enter the date as MM/DD/YYYY, for example 04/21/1986."
    elif born > today:
        errors["subscriber_date_of_birth"] = "The date of birth cannot be in the future."
    elif born < EARLIEST_BIRTH:
        errors["subscriber_date_of_birth"] = "Check the year of the date of birth."
    if v["subscriber_relationship"] not in RELATIONSHIPS:
        errors["subscriber_relationship"] = "Choose the subscriber's relationship to you."
    if errors:
        return None, errors
    assert born is not None
    return Details(
        payer=v["payer"],
        member_id=v["member_id"],
        group_number=v["group_number"],
        plan=v["plan"],
        subscriber_name=v["subscriber_name"],
        subscriber_date_of_birth=born,
        subscriber_relationship=v["subscriber_relationship"],
    ), {}


def check_card(data: bytes, filename: str) -> Checked:
    """A card image: JPG, PNG, GIF or BMP by its bytes, at most 10 MB (raises UploadError)."""
    return uploads.check(data, filename or "card image", allowed=IMAGE_TYPES)


def check_submission(
    values: Mapping[str, str], files: Mapping[str, tuple[bytes, str]], *, today: date
) -> tuple[Details, dict[str, Checked | None]]:
    """The details form with its card images (`files`: side -> bytes and name, only those
    chosen; a side not chosen keeps its current image). Invalid lists every problem."""
    details, errors = validate(values, today=today)
    cards: dict[str, Checked | None] = dict.fromkeys(CARD_SIDES)
    for side, (data, filename) in files.items():
        try:
            cards[side] = check_card(data, filename)
        except UploadError as exc:
            errors[f"card_{side}"] = str(exc)
    if errors or details is None:
        raise Invalid(errors=errors)
    return details, cards


# --- Reading -------------------------------------------------------------------------------


async def current_policy(client_id: int) -> dict | None:
    """The client's Primary Insurance: the policy not replaced yet (any client id)."""
    return (
        await InsurancePolicy.select(*_COLUMNS)
        .where((InsurancePolicy.client == client_id) & InsurancePolicy.replaced_at.is_null())
        .order_by(InsurancePolicy.id, ascending=False)
        .first()
    )


async def history(client_id: int) -> list[dict]:
    """Earlier policies, the most recently replaced first."""
    return (
        await InsurancePolicy.select(*_COLUMNS)
        .where((InsurancePolicy.client == client_id) & InsurancePolicy.replaced_at.is_not_null())
        .order_by(InsurancePolicy.replaced_at, ascending=False)
        .order_by(InsurancePolicy.id, ascending=False)
    )


async def overview(client_id: int) -> Overview:
    row = (
        await Client.select(Client.insurance_choice, Client.insurance_choice_at)
        .where(Client.id == client_id)
        .first()
    )
    return Overview(
        choice=row["insurance_choice"] if row else NOT_ANSWERED,
        choice_at=row["insurance_choice_at"] if row else None,
        current=await current_policy(client_id),
        history=await history(client_id),
    )


def form_defaults(ov: Overview, client: Mapping) -> dict[str, str]:
    """What the details form starts with: the current policy, or the client as subscriber."""
    if ov.current:
        c = ov.current
        born = c["subscriber_date_of_birth"]
        return {
            "payer": c["payer"],
            "member_id": c["member_id"],
            "group_number": c["group_number"],
            "plan": c["plan"],
            "subscriber_name": c["subscriber_name"],
            "subscriber_date_of_birth": born.isoformat() if born else "",
            "subscriber_relationship": c["subscriber_relationship"],
        }
    born = client.get("date_of_birth")
    return {
        "payer": "",
        "member_id": "",
        "group_number": "",
        "plan": "",
        "subscriber_name": f"{client.get('first_name', '')} {client.get('last_name', '')}".strip(),
        "subscriber_date_of_birth": born.isoformat() if born else "",
        "subscriber_relationship": "self",
    }


async def card_for_client(client_id: int, file_id: int) -> dict | None:
    """A card image with its bytes, only if a policy of this client (current or earlier) has it."""
    owned = await InsurancePolicy.exists().where(
        (InsurancePolicy.client == client_id)
        & ((InsurancePolicy.card_front == file_id) | (InsurancePolicy.card_back == file_id))
    )
    if not owned:
        return None
    return await uploads.fetch(file_id)


# --- Changing ------------------------------------------------------------------------------


def _summary(row: Mapping | None) -> dict | None:
    """A policy's details for the audit trail (no image bytes: their file ids)."""
    if not row:
        return None
    born = row["subscriber_date_of_birth"]
    return {
        "payer": row["payer"],
        "member_id": row["member_id"],
        "group_number": row["group_number"],
        "plan": row["plan"],
        "subscriber_name": row["subscriber_name"],
        "subscriber_date_of_birth": born.isoformat() if born else None,
        "subscriber_relationship": row["subscriber_relationship"],
        "card_front": row["card_front"],
        "card_back": row["card_back"],
    }


def _same_card(old: Mapping | None, details: Details) -> bool:
    """Whether `details` are the card `old` was entered from: its payer and member id
    (case, spaces and dashes aside). Only then do its images carry over."""
    if not old:
        return False

    def key(payer: str, member_id: str) -> tuple[str, str]:
        return " ".join(payer.split()).casefold(), re.sub(r"[\W_]", "", member_id).casefold()

    return key(old["payer"], old["member_id"]) == key(details.payer, details.member_id)


async def save(
    client_id: int,
    details: Details,
    *,
    cards: Mapping[str, Checked | None],
    actor: Actor,
    now: datetime,
) -> int:
    """Make `details` the current policy; the one it replaces becomes history.

    `cards` maps "front"/"back" to a checked new image, or None to keep the
    current policy's image of that side when it is the same card (`_same_card`);
    a new company or member id starts with no image for a side not given.
    """
    async with write_transaction(lock_client=client_id):
        old = await current_policy(client_id)
        choice = (
            await Client.select(Client.insurance_choice).where(Client.id == client_id).first()
        )["insurance_choice"]
        keep = _same_card(old, details)
        card_ids: dict[str, int | None] = {}
        for side in CARD_SIDES:
            new = cards.get(side)
            if new is not None:
                card_ids[side] = await uploads.store(new, uploaded_by=actor.user_id)
            else:
                card_ids[side] = old[f"card_{side}"] if keep else None
        if old:
            await InsurancePolicy.update({InsurancePolicy.replaced_at: now}).where(
                InsurancePolicy.id == old["id"]
            )
        row = await InsurancePolicy.insert(
            InsurancePolicy(
                client=client_id,
                card_front=card_ids["front"],
                card_back=card_ids["back"],
                created_at=now,
                **asdict(details),
            )
        ).returning(InsurancePolicy.id)
        policy_id = row[0]["id"]
        await Client.update(
            {Client.insurance_choice: INSURED, Client.insurance_choice_at: now}
        ).where(Client.id == client_id)
        new_summary = {
            **asdict(details),
            "subscriber_date_of_birth": details.subscriber_date_of_birth.isoformat(),
            "card_front": card_ids["front"],
            "card_back": card_ids["back"],
        }
        await audit.record(
            "insurance.saved",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"client:{client_id}",
            detail={
                "policy": policy_id,
                "replaced_policy": old["id"] if old else None,
                "old": _summary(old),
                "new": new_summary,
                "old_choice": choice,
                "new_choice": INSURED,
            },
        )
    return policy_id


async def choose_none(client_id: int, *, actor: Actor, now: datetime) -> bool:
    """No insurance (self or private pay). A current policy becomes history.

    Returns False when that was already the answer (nothing written).
    """
    async with write_transaction(lock_client=client_id):
        old = await current_policy(client_id)
        choice = (
            await Client.select(Client.insurance_choice).where(Client.id == client_id).first()
        )["insurance_choice"]
        if choice == NONE and old is None:
            return False
        if old:
            await InsurancePolicy.update({InsurancePolicy.replaced_at: now}).where(
                InsurancePolicy.id == old["id"]
            )
        await Client.update({Client.insurance_choice: NONE, Client.insurance_choice_at: now}).where(
            Client.id == client_id
        )
        await audit.record(
            "insurance.none_chosen",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"client:{client_id}",
            detail={
                "replaced_policy": old["id"] if old else None,
                "old": _summary(old),
                "new": None,
                "old_choice": choice,
                "new_choice": NONE,
            },
        )
    return True


async def insurance_not_answered(ctx: TaskContext) -> list[Task]:
    if ctx.client["insurance_choice"] != NOT_ANSWERED:
        return []
    return [Task(key="insurance", text="Add your insurance", href="/insurance")]

"""Staff › Clients › New client: every field checked at once (each error by its field),
then one write transaction makes the client, their primary email, phones, providers and
demographics, assigns the practice's forms for new clients, and audits it
(`staff.client_created`). The client has no portal account until invited. Demographics (top and custom) are set
only by a role that may read them (`Part.demographics`); for any other (the scheduler)
they are left empty, whatever was posted.

Who may: the roles that keep contact details and invite (owner, manager, scheduler, a
provider, whose new client is theirs); never the biller (a 404, as everything outside
the access policy).
"""

from __future__ import annotations

from datetime import date

from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import parse_id, write_transaction
from portal.core.errors import Invalid, NotFound
from portal.forms import assigning
from portal.profile.contact_points import optional_email, optional_phone
from portal.staff import demographics
from portal.staff.access import Part, Staff
from portal.staff.clients import STATUSES, parse_date, practice_providers
from portal.tables import Client, ClientEmail, ClientPhone, ClientProvider

TEXT_FIELDS = {
    "first_name": 100,
    "last_name": 100,
    "preferred_name": 100,
    "date_of_birth": 20,
    "email": 254,
    "phone_mobile": 40,
    "phone_home": 40,
    "phone_work": 40,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "status": 10,
}
PHONE_FIELDS = {"phone_mobile": "mobile", "phone_home": "home", "phone_work": "work"}
EMAIL_TAKEN = (
    "This email address is already used by another account or client. "
    "Enter another one, or leave it empty."
)
OLDEST = date(1900, 1, 1)


def _required_name(value: str, label: str, errors: dict[str, str], name: str) -> None:
    if not value:
        errors[name] = f"Enter the client's {label}."


def _birth_date(text: str, today: date, errors: dict[str, str]) -> date | None:
    if not text:
        errors["date_of_birth"] = "Enter the client's date of birth."
        return None
    born = parse_date(text)
    if born is None:
        errors["date_of_birth"] = "Enter a real date, for example 1985-03-14 or 03/14/1985."
    elif born >= today:
        errors["date_of_birth"] = "The date of birth must be in the past."
    elif born < OLDEST:
        errors["date_of_birth"] = "Check the year of birth."
    else:
        return born
    return None


def check_new_client(
    typed: dict, custom: list, provider_ids: set[int], today: date
) -> tuple[dict, dict[str, str]]:
    """The new client's values from the staff form, and every error by field name.

    `typed`: the form's text fields (TEXT_FIELDS), `providers` (a list of ids as typed),
    the top demographics and the custom fields' `custom_<id>`; `custom` the practice's
    custom fields; `provider_ids` the practice's providers."""

    errors: dict[str, str] = {}
    _required_name(typed["first_name"], "first name", errors, "first_name")
    _required_name(typed["last_name"], "last name", errors, "last_name")
    born = _birth_date(typed["date_of_birth"], today, errors)
    email = optional_email(typed["email"], "email", errors)
    phones = {
        kind: number
        for name, kind in PHONE_FIELDS.items()
        if (number := optional_phone(typed[name], name, errors))
    }
    status = typed["status"] or "new"
    if status not in STATUSES:
        errors["status"] = "Choose new, active or inactive."
    chosen = [parse_id(str(v)) for v in typed.get("providers", [])]
    if any(pid not in provider_ids for pid in chosen):
        errors["providers"] = "Choose from the practice's providers listed."
    top, values, demo_errors = demographics.check_values(custom, typed)
    errors.update(demo_errors)
    clean = {
        "client": {
            "first_name": typed["first_name"],
            "last_name": typed["last_name"],
            "preferred_name": typed["preferred_name"],
            "date_of_birth": born,
            "address_line1": typed["address_line1"],
            "address_line2": typed["address_line2"],
            "city": typed["city"],
            "region": typed["region"],
            "postal_code": typed["postal_code"],
            "status": status,
        },
        "email": email,
        "phones": phones,
        "providers": sorted({pid for pid in chosen if pid is not None}),
        "top": top,
        "custom": values,
    }
    return clean, errors


async def email_taken(address: str) -> bool:
    """Whether an account (`User.email`) or a client's primary email already uses `address`."""
    rows = await Client.raw(
        "SELECT 1 AS found FROM portal_user WHERE lower(email) = {}"
        " UNION ALL SELECT 1 FROM client_email WHERE is_primary = {} AND lower(address) = {}"
        " LIMIT 1",
        address.lower(),
        True,
        address.lower(),
    )
    return bool(rows)


async def create(practice_id: int, staff: Staff, typed: dict, actor: Actor) -> int:
    """Make the client from the staff form; raises Invalid (every error by field) and then
    writes nothing. A provider's new client is assigned to that provider."""

    if not may_create(staff):
        raise NotFound("No such page.")
    if staff.may(Part.demographics):
        custom = await demographics.fields(practice_id)
    else:  # the scheduler: no demographics, whatever was posted
        custom = []
        typed = {k: v for k, v in typed.items() if k not in demographics.TOP_CHOICES}
    ids = {p["id"] for p in await practice_providers(practice_id)}
    now = utcnow()
    clean, errors = check_new_client(typed, custom, ids, now.date())
    if clean["email"] and "email" not in errors and await email_taken(clean["email"]):
        errors["email"] = EMAIL_TAKEN
    if errors:
        raise Invalid("Please correct the fields marked below.", errors=errors)
    providers = set(clean["providers"])
    if staff.provider_id is not None:
        providers.add(staff.provider_id)
    async with write_transaction():
        if clean["email"] and await email_taken(clean["email"]):
            raise Invalid(errors={"email": EMAIL_TAKEN})
        row = await Client.insert(
            Client(practice=practice_id, created_at=now, **clean["client"])
        ).returning(Client.id)
        client_id = row[0]["id"]
        if clean["email"]:
            await ClientEmail.insert(
                ClientEmail(
                    client=client_id, address=clean["email"], is_primary=True, created_at=now
                )
            )
        phones = [
            ClientPhone(client=client_id, kind=kind, number=number, created_at=now)
            for kind, number in clean["phones"].items()
        ]
        if phones:
            await ClientPhone.insert(*phones)
        if providers:
            await ClientProvider.insert(
                *[ClientProvider(client=client_id, provider=pid) for pid in sorted(providers)]
            )
        await demographics.save(client_id, clean["top"], clean["custom"])
        forms = await assigning.assign_for_new_client(
            practice_id, client_id, clean["client"]["status"]
        )
        await audit.record(
            "staff.client_created",
            actor_id=actor.user_id,
            ip=actor.ip,
            subject=f"client:{client_id}",
            detail={
                "client": client_id,
                "status": clean["client"]["status"],
                "providers": sorted(providers),
                "forms": forms,
            },
        )
    return client_id


def may_create(staff: Staff) -> bool:
    """Who may create a client: the roles that keep contact details and invite (owner,
    manager, scheduler, a provider with a provider row); never the biller."""
    if not (staff.may(Part.contact) and staff.may(Part.invite)):
        return False
    return staff.sees_all_clients or staff.provider_id is not None

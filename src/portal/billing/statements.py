"""My Account's documents: the ledger with a running balance, receipts, statements,
superbills and flexible-spending statements. Read-only; every figure from the ledger.

Which documents a client may open follows the practice's setting
(`require_document`); the period a client asks for is read and checked by
`period`. A superbill covers a period too (one date of service or many): what an
insurer needs to reimburse the client, from the ledger's charges and their
appointments (CPT, ICD-10, provider and NPI, place), the practice (NPI, tax id) and
the client (name, date of birth, address, insurance on file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from portal.billing.ledger import signed
from portal.core.errors import Invalid, NotFound
from portal.tables import Client, LedgerEntry, Practice
from portal.tables.ledger import EntryKind

DOCUMENTS = ("receipts", "statements", "superbills", "fsa")
DEFAULT_DAYS = 365  # a period not given is the last year
LONGEST_DAYS = 3 * 366


async def visible_documents(practice_id: int) -> set[str]:
    """Which documents the practice lets clients see (practice.settings["client_documents"])."""
    row = await Practice.select(Practice.settings).where(Practice.id == practice_id).first()
    raw = row["settings"] if row else "{}"
    settings = json.loads(raw) if isinstance(raw, str) else (raw or {})
    chosen = settings.get("client_documents")
    return set(DOCUMENTS) if chosen is None else set(chosen) & set(DOCUMENTS)


async def require_document(practice_id: int, kind: str) -> None:
    """NotFound unless the practice lets clients see this kind of document."""
    if kind not in await visible_documents(practice_id):
        raise NotFound("Your practice does not offer this document online.")


async def letterhead(practice_id: int) -> dict:
    """The practice's row, for the letterhead every document carries."""
    return await Practice.select().where(Practice.id == practice_id).first()


@dataclass(frozen=True)
class Period:
    """The dates a statement covers; `problem` says what was wrong with the dates asked for."""

    start: date
    end: date
    problem: Invalid | None = None

    @property
    def error(self) -> str:
        return self.problem.message if self.problem else ""


def period(start: str, end: str, *, today: date, default_days: int = DEFAULT_DAYS) -> Period:
    """The period from the query string (YYYY-MM-DD), by default the last `default_days`.

    Dates that cannot be read give the default period; an end before the start,
    or more than three years, are kept as asked. Either way with a problem.
    """
    try:
        s = date.fromisoformat(start) if start else today - timedelta(days=default_days)
        e = date.fromisoformat(end) if end else today
    except ValueError:
        problem = Invalid("Enter dates like 2026-01-31.")
        return Period(today - timedelta(days=default_days), today, problem)
    if e < s:
        return Period(s, e, Invalid("The end date is before the start date."))
    if (e - s).days > LONGEST_DAYS:
        return Period(s, e, Invalid("Choose a range of at most three years."))
    return Period(s, e)


@dataclass
class Line:
    id: int
    on: date
    kind: str
    description: str
    cents: int  # as entered (positive)
    running: int  # balance after this line
    cpt: str = ""
    provider: str = ""
    diagnosis: str = ""  # ICD-10 codes, comma-separated, from the appointment
    provider_npi: str = ""
    provider_credentials: str = ""
    place: str = ""  # "Office" or "Telehealth" when the line is an appointment's

    @property
    def diagnoses(self) -> list[str]:
        return [c.strip() for c in self.diagnosis.replace(";", ",").split(",") if c.strip()]

    @property
    def is_credit(self) -> bool:
        return self.kind in CREDITS

    @property
    def is_payment(self) -> bool:
        return self.kind == EntryKind.payment


_COLUMNS = (
    LedgerEntry.id,
    LedgerEntry.entry_date,
    LedgerEntry.kind,
    LedgerEntry.description,
    LedgerEntry.amount_cents,
    LedgerEntry.created_at,
    LedgerEntry.appointment.service.cpt_code.as_alias("cpt"),
    LedgerEntry.appointment.provider.display_name.as_alias("provider"),
    LedgerEntry.appointment.provider.npi.as_alias("provider_npi"),
    LedgerEntry.appointment.diagnosis_codes.as_alias("diagnosis"),
    LedgerEntry.appointment.provider.credentials.as_alias("provider_credentials"),
    LedgerEntry.appointment.telehealth.as_alias("telehealth"),
    LedgerEntry.appointment.id.as_alias("appointment_id"),
    LedgerEntry.cpt_code,
    LedgerEntry.diagnosis_codes,
)


async def lines(client_id: int) -> list[Line]:
    """Every ledger line, oldest first, with the balance after each (one query)."""
    rows = (
        await LedgerEntry.select(*_COLUMNS)
        .where(LedgerEntry.client == client_id)
        .order_by(LedgerEntry.entry_date)
        .order_by(LedgerEntry.id)
    )
    out, running = [], 0
    for r in rows:
        running += signed(r["kind"], r["amount_cents"])
        out.append(
            Line(
                id=r["id"],
                on=r["entry_date"],
                kind=r["kind"],
                description=r["description"],
                cents=r["amount_cents"],
                running=running,
                # The charge's own codes (staff post them), else its appointment's.
                cpt=r["cpt_code"] or r["cpt"] or "",
                provider=r["provider"] or "",
                diagnosis=r["diagnosis_codes"] or r["diagnosis"] or "",
                provider_npi=r["provider_npi"] or "",
                provider_credentials=r["provider_credentials"] or "",
                place=""
                if r["appointment_id"] is None
                else ("Telehealth" if r["telehealth"] else "Office"),
            )
        )
    return out


# The kinds that lower the balance (shown with a minus on documents).
CREDITS = (EntryKind.payment, EntryKind.adjustment, EntryKind.write_off)


@dataclass
class Statement:
    start: date
    end: date
    opening: int
    closing: int
    lines: list[Line] = field(default_factory=list)

    @property
    def charges(self) -> int:
        return sum(x.cents for x in self.lines if x.kind in (EntryKind.charge, EntryKind.refund))

    @property
    def credits(self) -> int:
        return sum(x.cents for x in self.lines if x.kind in CREDITS)

    @property
    def payments(self) -> int:
        return sum(x.cents for x in self.lines if x.kind == EntryKind.payment)

    @property
    def adjustments(self) -> int:
        """Adjustments and write-offs: what lowers the balance without a payment."""
        return sum(
            x.cents for x in self.lines if x.kind in (EntryKind.adjustment, EntryKind.write_off)
        )

    @property
    def outstanding(self) -> int:
        return max(self.closing, 0)

    @property
    def available_credit(self) -> int:
        return max(-self.closing, 0)


def statement(all_lines: list[Line], start: date, end: date) -> Statement:
    before = [x for x in all_lines if x.on < start]
    within = [x for x in all_lines if start <= x.on <= end]
    opening = before[-1].running if before else 0
    closing = opening + sum(signed(x.kind, x.cents) for x in within)
    return Statement(start, end, opening, closing, within)


def service_lines(all_lines: list[Line], start: date, end: date) -> list[Line]:
    """Charges for services in a date range: what superbills and FSA statements list."""
    return [x for x in all_lines if x.kind == EntryKind.charge and start <= x.on <= end]


def total(lines: list[Line]) -> int:
    return sum(x.cents for x in lines)


async def receipt(client_id: int, entry_id: int) -> Line:
    """A payment of this client's, for its receipt (NotFound for anything else)."""
    line = next((x for x in await lines(client_id) if x.id == entry_id and x.is_payment), None)
    if line is None:
        raise NotFound()
    return line


@dataclass(frozen=True)
class Superbill:
    """Every service in `start`..`end`, with who was seen and who treated them."""

    start: date
    end: date
    lines: list[Line]
    client: dict  # first_name, last_name, date_of_birth, address_line1/2, city, region, postal_code
    policy: dict | None = None  # the insurance on file (payer, member_id, group_number, ...)

    @property
    def total(self) -> int:
        return total(self.lines)

    @property
    def dates(self) -> list[date]:
        return sorted({x.on for x in self.lines})

    @property
    def diagnoses(self) -> list[str]:
        """Every ICD-10 code on the lines, in the order they first appear."""
        return list(dict.fromkeys(c for x in self.lines for c in x.diagnoses))

    @property
    def providers(self) -> list[tuple[str, str, str]]:
        """(name, credentials, NPI) of each rendering provider on the lines."""
        seen = {
            (x.provider, x.provider_credentials, x.provider_npi): None
            for x in self.lines
            if x.provider
        }
        return list(seen)


async def superbill(client_id: int, start: date, end: date) -> Superbill:
    """The services of `start`..`end` (one day when equal); NotFound when there were none."""
    services = service_lines(await lines(client_id), start, end)
    if not services:
        raise NotFound(
            "There was no service on that date."
            if start == end
            else "There was no service between those dates."
        )
    from portal.insurance.policy import current_policy

    who = await (
        Client.select(
            Client.first_name,
            Client.last_name,
            Client.date_of_birth,
            Client.address_line1,
            Client.address_line2,
            Client.city,
            Client.region,
            Client.postal_code,
        )
        .where(Client.id == client_id)
        .first()
    )
    return Superbill(start, end, services, who or {}, await current_policy(client_id))


async def service_dates(client_id: int) -> list[date]:
    rows = (
        await LedgerEntry.select(LedgerEntry.entry_date)
        .where(LedgerEntry.client == client_id, LedgerEntry.kind == EntryKind.charge)
        .distinct()
        .order_by(LedgerEntry.entry_date, ascending=False)
    )
    return [r["entry_date"] for r in rows]

"""My Account's documents: the ledger with a running balance, receipts, statements,
superbills and flexible-spending statements. Read-only; every figure from the ledger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from portal.billing.ledger import signed
from portal.tables import Appointment, LedgerEntry, Practice
from portal.tables.ledger import EntryKind

DOCUMENTS = ("receipts", "statements", "superbills", "fsa")


async def visible_documents(practice_id: int) -> set[str]:
    """Which documents the practice lets clients see (practice.settings["client_documents"])."""
    row = await Practice.select(Practice.settings).where(Practice.id == practice_id).first()
    raw = row["settings"] if row else "{}"
    settings = json.loads(raw) if isinstance(raw, str) else (raw or {})
    chosen = settings.get("client_documents")
    return set(DOCUMENTS) if chosen is None else set(chosen) & set(DOCUMENTS)


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
    diagnosis: str = ""

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
                cpt=r["cpt"] or "",
                provider=r["provider"] or "",
                diagnosis=r["diagnosis"] or "",
            )  # fmt: skip
        )
    return out


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
        return sum(
            x.cents for x in self.lines if x.kind in (EntryKind.payment, EntryKind.adjustment)
        )

    @property
    def payments(self) -> int:
        return sum(x.cents for x in self.lines if x.kind == EntryKind.payment)

    @property
    def adjustments(self) -> int:
        return sum(x.cents for x in self.lines if x.kind == EntryKind.adjustment)

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


async def service_dates(client_id: int) -> list[date]:
    rows = (
        await LedgerEntry.select(LedgerEntry.entry_date)
        .where(LedgerEntry.client == client_id, LedgerEntry.kind == EntryKind.charge)
        .distinct()
        .order_by(LedgerEntry.entry_date, ascending=False)
    )
    return [r["entry_date"] for r in rows]


async def provider_npis(client_id: int) -> dict[str, str]:
    rows = (
        await Appointment.select(
            Appointment.provider.display_name.as_alias("name"),
            Appointment.provider.npi.as_alias("npi"),
        )
        .where(Appointment.client == client_id)
        .distinct()
    )
    return {r["name"]: r["npi"] for r in rows}

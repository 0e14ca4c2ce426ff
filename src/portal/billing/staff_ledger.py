"""What billing staff write to a client's ledger: charges (from an appointment or on their
own), adjustments and write-offs (with a reason), payments taken at the desk; and the
ledger as staff read it (who posted each line, what of a card payment is still refundable).

Every amount is read strictly (`parse_amount`); each write is one transaction, holding the
client's row on PostgreSQL (`write_transaction(lock_client=...)`) so an appointment is
never charged twice, with one audit event naming the line before (nothing) and after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from portal.billing.ledger import signed
from portal.core import audit
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.db import parse_id, write_transaction
from portal.core.errors import Conflict, Invalid, NotFound
from portal.core.templating import money
from portal.tables import Appointment, LedgerEntry
from portal.tables.accounts import Role
from portal.tables.ledger import EntryKind

MAX_CENTS = 100_000_00  # $100,000.00: more is a typing slip
# "$1,170.50", "1170.5", "25": digits grouped by commas in threes, or not at all.
_AMOUNT = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
# ICD-10-CM: a letter, a digit, a digit or letter, then optionally a dot and 1-4 more.
_ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")
_CPT = re.compile(r"[0-9]{4}[0-9A-Z]")
MAX_DIAGNOSES = 12
# Who writes to a client's ledger (charges, adjustments, desk payments, refunds).
WRITERS = frozenset({Role.owner, Role.manager, Role.biller})
DESK_METHODS = {"cash": "Cash", "cheque": "Cheque", "card_desk": "Card at the desk"}
ADJUSTMENTS = {EntryKind.adjustment.value: "Adjustment", EntryKind.write_off.value: "Write-off"}
TEXT_FIELDS = {
    "appointment": 12,
    "description": 300,
    "amount": 30,
    "on": 20,
    "cpt": 10,
    "diagnoses": 200,
    "kind": 20,
    "reason": 300,
    "shown": 300,
    "method": 20,
    "reference": 200,
}


def parse_amount(text: str, field: str = "amount") -> int:
    """Dollars as typed ("$1,170.50", "25", "25.5") to cents; Invalid for anything else,
    for zero and for a negative amount, each with its own message."""
    cleaned = text.strip()
    if not cleaned:
        raise Invalid(errors={field: "Enter the amount, like 150.00."})
    if cleaned.startswith("-") or cleaned.startswith("$-"):
        raise Invalid(errors={field: "Enter the amount without a minus sign: the kind of line "
                                     "says which way it goes."})  # fmt: skip
    match = _AMOUNT.fullmatch(cleaned)
    if not match:
        raise Invalid(errors={field: "Enter an amount in dollars and cents, like 1,170.50."})
    cents = int(Decimal(match.group(1).replace(",", "") + "." + (match.group(2) or "0")) * 100)
    if cents == 0:
        raise Invalid(errors={field: "The amount must be more than $0.00."})
    if cents > MAX_CENTS:
        raise Invalid(errors={field: f"The amount cannot be more than {money(MAX_CENTS)}."})
    return cents


def parse_date(text: str, today: date, field: str = "on") -> date:
    try:
        on = date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(errors={field: "Enter the date like 2026-01-31."}) from None
    if on > today:
        raise Invalid(errors={field: "The date cannot be in the future."})
    if on.year < 2000:
        raise Invalid(errors={field: "Enter a date from 2000 on."})
    return on


def parse_diagnoses(text: str) -> str:
    """ICD-10 codes separated by commas or spaces, upper-cased, each once, at most 12."""
    codes = list(dict.fromkeys(c.upper() for c in re.split(r"[\s,;]+", text.strip()) if c))
    bad = [c for c in codes if not _ICD10.fullmatch(c)]
    if bad:
        raise Invalid(errors={"diagnoses": f"{bad[0][:12]} is not an ICD-10 code: write codes "
                                           "like F41.1, separated by commas."})  # fmt: skip
    if len(codes) > MAX_DIAGNOSES:
        raise Invalid(errors={"diagnoses": f"A charge can carry at most {MAX_DIAGNOSES} "
                                           "diagnosis codes."})  # fmt: skip
    return ", ".join(codes)


def parse_cpt(text: str, *, required: bool) -> str:
    code = text.strip().upper()
    if not code and not required:
        return ""
    if not _CPT.fullmatch(code):
        raise Invalid(errors={"cpt": "Enter a five-character CPT code, like 90834."})
    return code


def _collect(checks: list) -> dict:
    """Run each (name, thunk) check, gathering every field's message; the clean values."""
    clean, errors = {}, {}
    for name, check in checks:
        try:
            clean[name] = check()
        except Invalid as exc:
            errors.update(exc.errors)
    if errors:
        raise Invalid("Please check the fields marked below.", errors=errors)
    return clean


# --- Reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    id: int
    on: date
    kind: str
    description: str
    cents: int
    running: int
    method: str
    cpt: str
    diagnoses: str
    posted_by: str
    external_id: str
    refund_of: int | None
    refundable: int  # of a card payment: what is not yet refunded (0 for other lines)
    note: str = ""  # staff only: why an adjustment, write-off or refund was made

    @property
    def signed_cents(self) -> int:
        return signed(self.kind, self.cents)

    @property
    def is_card_payment(self) -> bool:
        return self.kind == EntryKind.payment and self.external_id.startswith("pi_")


async def entries(client_id: int) -> list[Entry]:
    """The client's ledger, oldest first, with a running balance (two queries)."""
    rows = (
        await LedgerEntry.select(
            LedgerEntry.id,
            LedgerEntry.entry_date,
            LedgerEntry.kind,
            LedgerEntry.description,
            LedgerEntry.amount_cents,
            LedgerEntry.method,
            LedgerEntry.cpt_code,
            LedgerEntry.diagnosis_codes,
            LedgerEntry.external_id,
            LedgerEntry.refund_of,
            LedgerEntry.note,
            LedgerEntry.posted_by.username.as_alias("poster"),
        )  # fmt: skip
        .where(LedgerEntry.client == client_id)
        .order_by(LedgerEntry.entry_date)
        .order_by(LedgerEntry.id)
    )
    from portal.billing.refunds import refunded_by_payment

    refunded = await refunded_by_payment(client_id)
    out, running = [], 0
    for r in rows:
        running += signed(r["kind"], r["amount_cents"])
        ext = r["external_id"] or ""
        card = r["kind"] == EntryKind.payment and ext.startswith("pi_")
        out.append(
            Entry(
                id=r["id"], on=r["entry_date"], kind=r["kind"], description=r["description"],
                cents=r["amount_cents"], running=running, method=r["method"] or "",
                cpt=r["cpt_code"] or "", diagnoses=r["diagnosis_codes"] or "",
                posted_by=r["poster"] or "", external_id=ext, refund_of=r["refund_of"],
                refundable=max(r["amount_cents"] - refunded.get(r["id"], 0), 0) if card else 0,
                note=r["note"] or "",
            )
        )  # fmt: skip
    return out


async def unbilled_appointments(client_id: int, limit: int = 50) -> list[dict]:
    """The client's appointments not yet charged (cancelled ones too: a late cancel may be
    billed), newest first, for the charge form's choice (one query)."""
    charged = LedgerEntry.select(LedgerEntry.appointment).where(
        LedgerEntry.client == client_id,
        LedgerEntry.kind == EntryKind.charge,
        LedgerEntry.appointment.is_not_null(),
    )
    return (
        await Appointment.select(
            Appointment.id,
            Appointment.starts_at,
            Appointment.status,
            Appointment.service.name.as_alias("service"),
            Appointment.service.cpt_code.as_alias("cpt"),
            Appointment.service.price_cents.as_alias("fee"),
            Appointment.provider.display_name.as_alias("provider"),
        )  # fmt: skip
        .where(Appointment.client == client_id, Appointment.id.not_in(charged))
        .order_by(Appointment.starts_at, ascending=False)
        .limit(limit)
    )


# --- Writing --------------------------------------------------------------------------------


def _line(row: dict) -> dict:
    """What the audit keeps of a ledger line."""
    keys = ("id", "kind", "amount_cents", "entry_date", "description", "appointment", "method",
            "cpt_code", "diagnosis_codes", "refund_of", "external_id", "note")  # fmt: skip
    return {k: (str(row[k]) if isinstance(row.get(k), date) else row.get(k)) for k in keys}


async def _insert(client_id: int, values: dict, actor: Actor, action: str) -> int:
    """Insert one ledger line posted by `actor` and audit it (old: none, new: the line)."""
    row = {"client": client_id, "created_at": utcnow(), "posted_by": actor.user_id, **values}
    inserted = await LedgerEntry.insert(LedgerEntry(**row)).returning(LedgerEntry.id)
    entry_id = inserted[0]["id"]
    await audit.record(
        action,
        actor_id=actor.user_id,
        ip=actor.ip,
        subject=f"ledger:{entry_id}",
        detail={"client": client_id, "old": None, "new": _line({"id": entry_id, **values})},
    )
    return entry_id


async def post_charge(client_id: int, typed: dict, *, tz: ZoneInfo, actor: Actor) -> int:
    """A charge for one of the client's appointments (CPT and fee defaulted from its service,
    the date its day) or on its own (description, amount and date required)."""
    today = utcnow().astimezone(tz).date()
    appointment_id = None
    if typed.get("appointment"):
        appointment_id = parse_id(typed["appointment"])
        if appointment_id is None:
            raise NotFound("No such appointment.")
    async with write_transaction(lock_client=client_id):
        appt = None
        if appointment_id is not None:
            appt = await (
                Appointment.select(
                    Appointment.id,
                    Appointment.starts_at,
                    Appointment.service.name.as_alias("service"),
                    Appointment.service.cpt_code.as_alias("cpt"),
                    Appointment.service.price_cents.as_alias("fee"),
                    Appointment.diagnosis_codes,
                )  # fmt: skip
                .where(Appointment.id == appointment_id, Appointment.client == client_id)
                .first()
            )
            if appt is None:
                raise NotFound("No such appointment for this client.")
        clean = _collect(
            [
                ("cents", lambda: parse_amount(typed.get("amount", ""))
                 if typed.get("amount") or appt is None or not appt["fee"]
                 else appt["fee"]),
                ("on", lambda: parse_date(typed.get("on", ""), today)
                 if typed.get("on") or appt is None
                 else appt["starts_at"].astimezone(tz).date()),
                ("cpt", lambda: parse_cpt(typed.get("cpt", "") or (appt or {}).get("cpt") or "",
                                          required=appt is not None)),
                # The provider's codes on the appointment, unless the biller types others.
                ("diagnoses", lambda: parse_diagnoses(
                    typed.get("diagnoses", "") or (appt or {}).get("diagnosis_codes") or "")),
                ("description", lambda: _description(typed, appt)),
            ]
        )  # fmt: skip
        if appt is not None:
            earlier = await (
                LedgerEntry.select(LedgerEntry.entry_date)
                .where(
                    LedgerEntry.appointment == appointment_id,
                    LedgerEntry.kind == EntryKind.charge,
                )
                .first()
            )
            if earlier:
                raise Conflict(
                    "This appointment is already charged (the charge dated "
                    f"{earlier['entry_date'].strftime('%-d %b %Y')}): adjust that line instead."
                )
        values = {
            "kind": EntryKind.charge, "amount_cents": clean["cents"], "entry_date": clean["on"],
            "description": clean["description"], "appointment": appointment_id,
            "cpt_code": clean["cpt"], "diagnosis_codes": clean["diagnoses"],
        }  # fmt: skip
        return await _insert(client_id, values, actor, "billing.charge_posted")


def _description(typed: dict, appt: dict | None) -> str:
    text = typed.get("description", "").strip()
    if text:
        return text[:300]
    if appt is not None:
        return appt["service"] or "Appointment"
    raise Invalid(errors={"description": "Say what the charge is for."})


async def post_adjustment(client_id: int, typed: dict, *, tz: ZoneInfo, actor: Actor) -> int:
    """An adjustment or a write-off: lowers the balance. The reason is required and kept
    for staff (the line's note); the client reads the description, "Adjustment" or
    "Write-off" unless staff word it (`shown`)."""
    today = utcnow().astimezone(tz).date()

    def kind() -> str:
        if typed.get("kind") not in ADJUSTMENTS:
            raise Invalid(errors={"kind": "Choose adjustment or write-off."})
        return typed["kind"]

    def reason() -> str:
        if not typed.get("reason", "").strip():
            raise Invalid(errors={"reason": "Give the reason: staff see it with the line."})
        return typed["reason"].strip()[:300]

    clean = _collect(
        [
            ("kind", kind),
            ("cents", lambda: parse_amount(typed.get("amount", ""))),
            ("on", lambda: parse_date(typed.get("on", ""), today) if typed.get("on") else today),
            ("reason", reason),
        ]
    )
    async with write_transaction(lock_client=client_id):
        values = {"kind": clean["kind"], "amount_cents": clean["cents"],
                  "entry_date": clean["on"], "note": clean["reason"],
                  "description": typed.get("shown", "").strip()[:300]
                  or ADJUSTMENTS[clean["kind"]]}  # fmt: skip
        return await _insert(client_id, values, actor, f"billing.{clean['kind']}_posted")


async def post_desk_payment(client_id: int, typed: dict, *, tz: ZoneInfo, actor: Actor) -> int:
    """A payment taken at the desk: cash, cheque, or a card outside the portal."""
    today = utcnow().astimezone(tz).date()

    def method() -> str:
        if typed.get("method") not in DESK_METHODS:
            raise Invalid(errors={"method": "Choose how it was paid."})
        return typed["method"]

    clean = _collect(
        [
            ("method", method),
            ("cents", lambda: parse_amount(typed.get("amount", ""))),
            ("on", lambda: parse_date(typed.get("on", ""), today) if typed.get("on") else today),
        ]
    )
    reference = typed.get("reference", "").strip()[:200]
    description = f"{DESK_METHODS[clean['method']]} payment" + (
        f": {reference}" if reference else ""
    )
    async with write_transaction(lock_client=client_id):
        values = {"kind": EntryKind.payment, "amount_cents": clean["cents"],
                  "entry_date": clean["on"], "method": clean["method"],
                  "description": description[:300]}  # fmt: skip
        return await _insert(client_id, values, actor, "billing.payment_posted")

"""The migration that moves staff reasons written before `ledger_entry.note` existed into
it: the client's documents then read "Adjustment", "Write-off" or "Card refund"."""

from __future__ import annotations

import importlib

from piccolo.engine import engine_finder

from portal.tables import LedgerEntry
from portal.tables.ledger import EntryKind
from tests import factories

MIGRATION = importlib.import_module("portal.tables.migrations.portal_2026_12_03t19_45_00_000000")


async def test_old_reasons_become_staff_notes_and_the_client_reads_neutral_words():
    p = await factories.practice()
    alice = (await factories.client(p, "alice"))["client_id"]
    bill = await factories.staff("bill")
    old = [
        (EntryKind.adjustment, "Hardship: lost her job", bill),
        (EntryKind.write_off, "Collections gave up", bill),
        (EntryKind.refund, "Card refund: session missed", bill),
        (EntryKind.refund, "Card refund", None),  # a dashboard refund: nothing to move
        (EntryKind.charge, "Individual therapy", bill),  # not a reason
    ]
    for kind, description, poster in old:
        await factories.ledger(alice, kind, 1000, description=description, posted_by=poster)
    for statement in MIGRATION.FORWARDS:
        await engine_finder().run_ddl(statement)
    rows = await LedgerEntry.select(LedgerEntry.description, LedgerEntry.note).order_by(
        LedgerEntry.id
    )
    assert [(r["description"], r["note"]) for r in rows] == [
        ("Adjustment", "Hardship: lost her job"),
        ("Write-off", "Collections gave up"),
        ("Card refund", "session missed"),
        ("Card refund", ""),
        ("Individual therapy", ""),
    ]

"""Staff reasons written before ledger_entry.note existed move into it: an adjustment's or
write-off's description was the staff's reason, a portal refund's read "Card refund:
<reason>". The client now reads "Adjustment", "Write-off" or "Card refund"; staff read the
reason as the line's note. Hand-written, the same SQL on both engines; its own migration,
after the one that adds the column (Piccolo runs raw steps before generated operations).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T19:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger reasons to notes"

FORWARDS = [
    "UPDATE ledger_entry SET note = description, description = 'Adjustment'"
    " WHERE kind = 'adjustment' AND note = '' AND posted_by IS NOT NULL"
    " AND external_id IS NULL AND description <> 'Adjustment'",
    "UPDATE ledger_entry SET note = description, description = 'Write-off'"
    " WHERE kind = 'write_off' AND note = '' AND description <> 'Write-off'",
    "UPDATE ledger_entry SET note = SUBSTR(description, 14), description = 'Card refund'"
    " WHERE kind = 'refund' AND note = '' AND description LIKE 'Card refund: %'",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def up():
        for statement in FORWARDS:
            await engine_finder().run_ddl(statement)

    manager.add_raw(up)
    return manager

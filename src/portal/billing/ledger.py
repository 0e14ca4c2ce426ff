"""The client's ledger and balance, in integer cents.

Charges and refunds (money returned to the client) raise what the client owes;
payments and adjustments lower it. A negative balance is a credit.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.dashboard.tasks import Task, TaskContext
from portal.tables import LedgerEntry

BALANCE_SQL = """
SELECT COALESCE(SUM(CASE WHEN kind IN ('charge', 'refund') THEN amount_cents
                         ELSE -amount_cents END), 0) AS cents
FROM ledger_entry WHERE client = {}"""


@dataclass(frozen=True)
class Balance:
    cents: int

    @property
    def owed(self) -> int:
        return max(self.cents, 0)

    @property
    def credit(self) -> int:
        return max(-self.cents, 0)


def signed(kind: str, cents: int) -> int:
    return cents if kind in ("charge", "refund") else -cents


async def balance(client_id: int) -> Balance:
    rows = await LedgerEntry.raw(BALANCE_SQL, client_id)
    return Balance(int(rows[0]["cents"]))


async def balance_due(ctx: TaskContext) -> list[Task]:
    b = ctx.balance
    if not b.owed:
        return []
    from portal.core.templating import money

    return [
        Task(
            key="balance",
            text=f"You have a balance of {money(b.owed)} to pay",
            href="/#balance",
            # Without card payments /pay says how else to pay (phone, front desk).
            action="" if ctx.practice.pays_online else "How to pay",
        )
    ]

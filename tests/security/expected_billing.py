"""Access expectations for the staff billing routes (merged into access_expected.EXPECTED).

Reading a client's billing (ledger, documents) follows the policy's billing part: owner,
manager, biller, and Alice's provider; Dr. Ben (not her provider) 404; the scheduler 403
(the part is not granted to the role). Writing (charges, adjustments, payments, refunds)
is the owner's, the manager's and the biller's: providers and the scheduler 403.
"""

from __future__ import annotations

from tests.security.access_world import STAFF

_CLIENTS = {"anon": "login", "alice": "403", "bob": "403"}
READ = {**_CLIENTS, **{s: "ok" for s in STAFF}, "drb": "404", "scheduler": "403"}
WRITE = {**_CLIENTS, **{s: "ok" if s in ("owner", "manager", "biller") else "403" for s in STAFF}}
_BASE = "/staff/clients/{client_id:int}/billing"

EXPECTED: dict[str, dict[str, str]] = {
    f"GET {_BASE}/ledger": READ,
    f"POST {_BASE}/charges": WRITE,
    f"POST {_BASE}/adjustments": WRITE,
    f"POST {_BASE}/payments": WRITE,
    f"GET {_BASE}/payments/{{entry_id:int}}/refund": WRITE,
    f"POST {_BASE}/payments/{{entry_id:int}}/refund": WRITE,
    f"GET {_BASE}/documents/{{document:str}}": READ,
    f"GET {_BASE}/documents/{{document:str}}/pdf": READ,
}

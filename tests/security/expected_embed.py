"""Access expectations for `/embed/` and `/api/` (merged into access_expected.EXPECTED).

The matrix asks with each persona's portal session (the same-site way); the API-token and
embed-session ways are tested in tests/http/test_embed.py and tests/browser/test_embed.py.
Nobody but staff gets in (401, "login": the clear message, never a sign-in form); staff get
what their role may see of Alice (Dr. Ana's client): Dr. Ben 404, the scheduler no balance
(billing), the biller no appointments, and never an action (403).
"""

from __future__ import annotations

from tests.security.access_world import PERSONAS, STAFF

NOBODY = {"anon": "login", "alice": "login", "bob": "login"}
EVERYONE_OUT = {p: "login" for p in PERSONAS}  # no token or secret: 401 for all
PUBLIC = {p: "any" for p in PERSONAS}
# As the rest of the settings: clients get the staff-only page (403), other staff 403.
MANAGERS = {
    "anon": "login",
    "alice": "403",
    "bob": "403",
    **{s: "ok" if s in ("owner", "manager") else "403" for s in STAFF},
}

EXPECTED: dict[str, dict[str, str]] = {
    # {widget} is filled with "balance".
    "GET /embed/clients/{client_id:int}/{widget:str}": {
        **NOBODY, "owner": "ok", "manager": "ok", "dra": "ok", "drb": "404",
        "scheduler": "404", "biller": "ok",
    },
    "GET /embed/clients/{client_id:int}/balance": {
        **NOBODY, "owner": "ok", "manager": "ok", "dra": "ok", "drb": "404",
        "scheduler": "404", "biller": "ok",
    },
    # A desk payment: the ledger's writers only (403 before the client is looked at).
    "POST /embed/clients/{client_id:int}/balance/payments": {
        **NOBODY, "owner": "ok", "manager": "ok", "dra": "403", "drb": "403",
        "scheduler": "403", "biller": "ok",
    },
    "GET /embed/clients/{client_id:int}/appointments": {
        **NOBODY, "owner": "ok", "manager": "ok", "dra": "ok", "drb": "404",
        "scheduler": "ok", "biller": "404",
    },
    "POST /embed/clients/{client_id:int}/appointments/{appointment_id:int}/confirm": {
        **NOBODY, "owner": "ok", "manager": "ok", "dra": "ok", "drb": "404",
        "scheduler": "ok", "biller": "403",
    },
    "POST /embed/clients/{client_id:int}/appointments/{appointment_id:int}/cancel": {
        **NOBODY, "owner": "ok", "manager": "ok", "dra": "ok", "drb": "404",
        "scheduler": "ok", "biller": "403",
    },
    "POST /embed/start": EVERYONE_OUT,
    "POST /api/embed-sessions": EVERYONE_OUT,
    "GET /embed/embed.js": PUBLIC,
    "GET /embed/theme.css": PUBLIC,
    # Staff › Embedding: the owner and managers only.
    **{route: MANAGERS for route in (
        "GET /staff/settings/embedding",
        "POST /staff/settings/embedding/origins",
        "POST /staff/settings/embedding/tokens",
        "POST /staff/settings/embedding/tokens/{token_id:int}/revoke",
    )},
}  # fmt: skip

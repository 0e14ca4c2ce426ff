"""Access expectations for the staff providers routes (merged into access_expected.EXPECTED)."""

from __future__ import annotations

from tests.security.access_world import STAFF

# (Written out rather than taken from access_expected, which imports this module.)
_CLIENTS = {"anon": "login", "alice": "403", "bob": "403"}
# Settings › Providers: owner, manager and providers; scheduler and biller 403.
PROVIDERS = {**_CLIENTS, **{s: "403" if s in ("scheduler", "biller") else "ok" for s in STAFF}}
# Dr. Ana's settings: Dr. Ben (another provider) gets 404, as if she did not exist.
DR_ANA = {**PROVIDERS, "drb": "404"}
# Agenda › Requests: every staff role but the biller; a provider sees their own.
REQUESTS = {**_CLIENTS, **{s: "403" if s == "biller" else "ok" for s in STAFF}}
# Deciding on Alice's appointment (Dr. Ana's; 409 "already handled" counts as served).
REQUEST = {**REQUESTS, "drb": "404"}

EXPECTED: dict[str, dict[str, str]] = {
    "GET /staff/settings/providers": PROVIDERS,
    "GET /staff/settings/providers/{provider_id:int}": DR_ANA,
    "POST /staff/settings/providers/{provider_id:int}": DR_ANA,
    "GET /staff/agenda/requests": REQUESTS,
    "POST /staff/agenda/requests/{appointment_id:int}/approve": REQUEST,
    "POST /staff/agenda/requests/{appointment_id:int}/decline": REQUEST,
}

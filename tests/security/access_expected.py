"""What each persona may get from each route: the access matrix's expectations, written by
hand from the access policy (portal.staff.access) and the issue, never generated from the
app. Path parameters name client A's (Alice's) records (tests/security/access_world.py).

Personas: anon; alice (client A) and bob (client B); owner, manager; dra (Alice's provider),
drb (a provider who is not hers); scheduler; biller.
"""

from __future__ import annotations

from tests.security.access_world import PERSONAS, STAFF

_ALL = ("owner", "manager", "dra", "scheduler", "biller")  # every role that may reach Alice


def _row(anon: str, alice: str, bob: str, staff: dict[str, str]) -> dict[str, str]:
    return {"anon": anon, "alice": alice, "bob": bob, **staff}


# Public: sign-in, password reset, invitations, registration, health, static, webhooks.
PUBLIC = {p: "any" for p in PERSONAS}
# A client's own page: staff are sent away (403 "This page is for clients").
CLIENT = _row("login", "ok", "ok", {s: "403" for s in STAFF})
# A client's page naming one of Alice's records: Bob gets 404, as if it did not exist.
CLIENT_A = {**CLIENT, "bob": "404"}
# Any signed-in user: My Profile's account pages, Help.
SIGNED_IN = _row("login", "ok", "ok", {s: "ok" for s in STAFF})
# Any staff member; clients get 403 "This page is for practice staff".
STAFF_ANY = _row("login", "403", "403", {s: "ok" for s in STAFF})
# Owner and manager only (practice settings): other staff 403, as the settings guard says.
MANAGERS = _row(
    "login", "403", "403", {s: "ok" if s in ("owner", "manager") else "403" for s in STAFF}
)


def record(*roles: str) -> dict[str, str]:
    """A part of Alice's record: the roles given are served, every other staff member gets
    404 (drb always: she is not his client)."""
    return _row("login", "403", "403", {s: "ok" if s in roles else "404" for s in STAFF})


def staff_except(*roles: str) -> dict[str, str]:
    return _row("login", "403", "403", {s: "404" if s in roles else "ok" for s in STAFF})


CONTACT = record(*_ALL)
CLINICAL = record("owner", "manager", "dra")  # demographics, forms, security
APPOINTMENTS = record("owner", "manager", "dra", "scheduler")
MONEY = record("owner", "manager", "dra", "biller")  # billing, insurance
INVITE = record("owner", "manager", "dra", "scheduler")
MANAGE = record("owner", "manager")
# Alice's thread to Dr. Ana: hers, and the owner's and manager's (who read every thread).
THREAD = record("owner", "manager", "dra")

EXPECTED: dict[str, dict[str, str]] = {
    # --- Public --------------------------------------------------------------------------
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "GET /login/two-factor": PUBLIC,
    "POST /login/two-factor": PUBLIC,
    "POST /logout": PUBLIC,
    "GET /password-reset": PUBLIC,
    "POST /password-reset": PUBLIC,
    "GET /password-reset/{token:str}": PUBLIC,
    "POST /password-reset/{token:str}": PUBLIC,
    "GET /invitations/{token:str}": PUBLIC,
    "POST /invitations/date-of-birth": PUBLIC,
    "POST /invitations/account": PUBLIC,
    "GET /register": PUBLIC,
    "POST /register": PUBLIC,
    "GET /register/verify/{token:str}": PUBLIC,
    "POST /register/verify/{token:str}": PUBLIC,
    "POST /register/verify/{token:str}/account": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /static/{name:path}": PUBLIC,
    "POST /webhooks/stripe": PUBLIC,
    # --- Signed in, any role -------------------------------------------------------------
    # The dashboard sends staff to /staff (a redirect, not a refusal).
    "GET /": SIGNED_IN,
    "GET /help": SIGNED_IN,
    "GET /help/client-portal-guide.pdf": SIGNED_IN,
    "GET /profile": SIGNED_IN,
    "GET /profile/login-history": SIGNED_IN,
    "GET /profile/sessions": SIGNED_IN,
    "POST /profile/sessions/sign-out-others": SIGNED_IN,
    "GET /profile/two-factor": SIGNED_IN,
    "POST /profile/two-factor/enable": SIGNED_IN,
    "POST /profile/two-factor/disable": SIGNED_IN,
    "POST /profile/two-factor/recovery-codes": SIGNED_IN,
    "GET /profile/username-password": SIGNED_IN,
    "POST /profile/username": SIGNED_IN,
    "POST /profile/password": SIGNED_IN,
    # No terms are published in the matrix's world: 404 for everyone signed in.
    "GET /terms": {**SIGNED_IN, **{p: "404" for p in PERSONAS if p != "anon"}},
    "GET /terms/pdf": {**SIGNED_IN, **{p: "404" for p in PERSONAS if p != "anon"}},
    "GET /terms/accept": {**SIGNED_IN, **{p: "404" for p in PERSONAS if p != "anon"}},
    "POST /terms/accept": {**SIGNED_IN, **{p: "404" for p in PERSONAS if p != "anon"}},
    # --- A client's own pages --------------------------------------------------------------
    "GET /dashboard/widgets/{name:str}": CLIENT,
    "POST /dashboard/two-factor-prompt/dismiss": CLIENT,
    "GET /appointments/print": CLIENT,
    "GET /appointments.ics": CLIENT,
    "GET /appointments.pdf": CLIENT,
    "GET /appointments/{appointment_id:int}/calendar.ics": CLIENT_A,
    "POST /appointments/{appointment_id:int}/confirm": CLIENT_A,
    "POST /appointments/{appointment_id:int}/cancel": CLIENT_A,
    "GET /schedule": CLIENT,
    "GET /schedule/review": CLIENT,
    "POST /schedule/book": CLIENT,
    "GET /schedule/booked/{appointment_id:int}": CLIENT_A,
    "GET /messages": CLIENT,
    "POST /messages": CLIENT,
    "GET /messages/new": CLIENT,
    "GET /messages/{thread_id:int}": CLIENT_A,
    "POST /messages/{thread_id:int}/reply": CLIENT_A,
    # An attachment: the thread's client and the staff member it is written to; every other
    # staff member reads it from the staff inbox, by the policy, not here.
    "GET /messages/attachments/{attachment_id:int}": record("dra")
    | {"anon": "login", "alice": "ok", "bob": "404"},
    "GET /account": CLIENT,
    "GET /account/cards": CLIENT,
    "POST /account/cards": CLIENT,
    "POST /account/cards/setup": CLIENT,
    "POST /account/cards/{card_id:int}/remove": CLIENT_A,
    "GET /account/fsa": CLIENT,
    "GET /account/fsa/pdf": CLIENT,
    "GET /account/receipts/{entry_id:int}": CLIENT_A,
    "GET /account/receipts/{entry_id:int}/pdf": CLIENT_A,
    "GET /account/statement": CLIENT,
    "GET /account/statement/pdf": CLIENT,
    # Bob has had nothing billed, so there is no superbill to make for him.
    "GET /account/superbill": CLIENT_A,
    "GET /account/superbill/pdf": CLIENT_A,
    "GET /pay": CLIENT,
    "POST /pay": CLIENT,
    "POST /pay/setup": CLIENT,
    # Without a payment to return from there is nothing to show: 404 to the client too.
    "GET /pay/return": {**CLIENT, "alice": "404", "bob": "404"},
    "GET /forms": CLIENT,
    "GET /forms/{assignment_id:int}": CLIENT_A,
    "GET /forms/{assignment_id:int}/pdf": CLIENT_A,
    "POST /forms/{assignment_id:int}/draft": CLIENT_A,
    "POST /forms/{assignment_id:int}/submit": CLIENT_A,
    "GET /insurance": CLIENT,
    "POST /insurance": CLIENT,
    "POST /insurance/none": CLIENT,
    "GET /insurance/cards/{file_id:int}": CLIENT_A,
    "GET /profile/phones": CLIENT,
    "POST /profile/phones": CLIENT,
    "POST /profile/phones/{phone_id:int}": CLIENT_A,
    "POST /profile/phones/{phone_id:int}/delete": CLIENT_A,
    "GET /profile/emails": CLIENT,
    "POST /profile/emails": CLIENT,
    "POST /profile/emails/{email_id:int}/primary": CLIENT_A,
    "POST /profile/emails/{email_id:int}/delete": CLIENT_A,
    "GET /profile/contacts": CLIENT,
    "POST /profile/contacts": CLIENT,
    "POST /profile/contacts/{contact_id:int}": CLIENT_A,
    "POST /profile/contacts/{contact_id:int}/delete": CLIENT_A,
    "GET /profile/reminders": CLIENT,
    "POST /profile/reminders": CLIENT,
    "GET /profile/photo-id": CLIENT,
    "POST /profile/photo-id": CLIENT,
    # Neither client has uploaded a photo ID: nothing to download.
    "GET /profile/photo-id/{side:str}": {**CLIENT, "alice": "404", "bob": "404"},
    # --- Staff ---------------------------------------------------------------------------
    "GET /staff": STAFF_ANY,
    "GET /staff/clients": STAFF_ANY,
    # Creating a client: every role but the biller (whose work is money, not people).
    "GET /staff/clients/new": staff_except("biller"),
    "POST /staff/clients": staff_except("biller"),
    "GET /staff/clients/{client_id:int}": CONTACT,
    "GET /staff/clients/{client_id:int}/profile": CONTACT,
    "GET /staff/clients/{client_id:int}/demographics": CLINICAL,
    "POST /staff/clients/{client_id:int}/demographics": CLINICAL,
    "GET /staff/clients/{client_id:int}/appointments": APPOINTMENTS,
    "GET /staff/clients/{client_id:int}/insurance": MONEY,
    "GET /staff/clients/{client_id:int}/insurance/{policy_id:int}/{side:str}": MONEY,
    "GET /staff/clients/{client_id:int}/billing": MONEY,
    "GET /staff/clients/{client_id:int}/forms": CLINICAL,
    "POST /staff/clients/{client_id:int}/forms": CLINICAL,
    "GET /staff/clients/{client_id:int}/forms/{assignment_id:int}": CLINICAL,
    "GET /staff/clients/{client_id:int}/forms/{assignment_id:int}/pdf": CLINICAL,
    # The section lists only the threads each may read (the biller: billing's).
    "GET /staff/clients/{client_id:int}/messages": CONTACT,
    "GET /staff/clients/{client_id:int}/security": CLINICAL,
    "POST /staff/clients/{client_id:int}/deactivate": MANAGE,
    "POST /staff/clients/{client_id:int}/reactivate": MANAGE,
    "POST /staff/clients/{client_id:int}/sessions/end": MANAGE,
    "POST /staff/clients/{client_id:int}/two-factor/reset": MANAGE,
    "POST /staff/clients/{client_id:int}/unlock": MANAGE,
    "GET /staff/clients/{client_id:int}/invitation": INVITE,
    "POST /staff/clients/{client_id:int}/invitation": INVITE,
    "POST /staff/clients/{client_id:int}/approval": INVITE,
    "GET /staff/inbox": STAFF_ANY,
    "GET /staff/inbox/{thread_id:int}": THREAD,
    "GET /staff/inbox/{thread_id:int}/attachments/{attachment_id:int}": THREAD,
    "POST /staff/inbox/{thread_id:int}/reply": THREAD,
    "POST /staff/inbox/{thread_id:int}/assign": THREAD,
    "POST /staff/inbox/{thread_id:int}/done": THREAD,
    "GET /staff/settings/payments": MANAGERS,
    "POST /staff/settings/payments": MANAGERS,
    "GET /staff/settings/demographics": MANAGERS,
    "POST /staff/settings/demographics": MANAGERS,
    "POST /staff/settings/demographics/{field_id:int}": MANAGERS,
    "POST /staff/settings/demographics/{field_id:int}/move": MANAGERS,
    "POST /staff/settings/demographics/{field_id:int}/delete": MANAGERS,
    "GET /staff/settings/practice": MANAGERS,
    "POST /staff/settings/practice/details": MANAGERS,
    "POST /staff/settings/practice/rules": MANAGERS,
    "POST /staff/settings/practice/terms": MANAGERS,
    "GET /staff/settings/services": MANAGERS,
    "POST /staff/settings/services": MANAGERS,
    "POST /staff/settings/services/{service_id:int}": MANAGERS,
    "POST /staff/settings/services/{service_id:int}/retire": MANAGERS,
    "POST /staff/settings/services/{service_id:int}/restore": MANAGERS,
    "GET /staff/settings/locations": MANAGERS,
    "POST /staff/settings/locations": MANAGERS,
    "POST /staff/settings/locations/{location_id:int}": MANAGERS,
    "POST /staff/settings/locations/{location_id:int}/retire": MANAGERS,
    "POST /staff/settings/locations/{location_id:int}/restore": MANAGERS,
    "GET /staff/settings/registration": MANAGERS,
    "POST /staff/settings/registration": MANAGERS,
}


# Issue 15's staff areas, one module each (providers, availability, agenda, billing, forms).
from tests.security import (  # noqa: E402
    expected_agenda,
    expected_availability,
    expected_billing,
    expected_embed,
    expected_forms,
    expected_providers,
)

for _area in (expected_providers, expected_availability, expected_agenda, expected_billing,
              expected_forms, expected_embed):  # fmt: skip
    EXPECTED.update(_area.EXPECTED)

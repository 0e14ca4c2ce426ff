"""Access expectations for the staff agenda routes (merged into access_expected.EXPECTED)."""

from __future__ import annotations

from tests.security.access_world import STAFF

# The agenda: every staff role but the biller (403); a provider sees their own agenda.
# (Written out rather than taken from access_expected, which imports this module.)
AGENDA = {"anon": "login", "alice": "403", "bob": "403",
          **{s: "403" if s == "biller" else "ok" for s in STAFF}}  # fmt: skip
# One of Alice's appointments (Dr. Ana's): Dr. Ben gets 404, the biller 403 (the guard).
VISIT = {**AGENDA, "drb": "404"}

EXPECTED: dict[str, dict[str, str]] = {
    "GET /staff/agenda": AGENDA,
    "GET /staff/agenda/week": AGENDA,
    "GET /staff/agenda/book": AGENDA,
    "POST /staff/agenda/book": AGENDA,
    "GET /staff/agenda/appointments/{appointment_id:int}": VISIT,
    "POST /staff/agenda/appointments/{appointment_id:int}/move": VISIT,
    "POST /staff/agenda/appointments/{appointment_id:int}/cancel": VISIT,
    "POST /staff/agenda/appointments/{appointment_id:int}/mark": VISIT,
    # Diagnosis codes are clinical: the provider of the visit, the owner and managers.
    "POST /staff/agenda/appointments/{appointment_id:int}/diagnoses": {
        **VISIT,
        "scheduler": "403",
    },
}

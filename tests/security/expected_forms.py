"""Access expectations for the staff forms routes (merged into access_expected.EXPECTED)."""

from __future__ import annotations

from tests.security.access_world import STAFF

# Owner and manager only (the settings guard); clients 403, signed-out to the sign-in page.
# (Written out rather than taken from access_expected, which imports this module.)
MANAGERS = {"anon": "login", "alice": "403", "bob": "403",
            **{s: "ok" if s in ("owner", "manager") else "403" for s in STAFF}}  # fmt: skip

EXPECTED: dict[str, dict[str, str]] = {
    "GET /staff/settings/forms": MANAGERS,
    "POST /staff/settings/forms": MANAGERS,
    "GET /staff/settings/forms/new": MANAGERS,
    "GET /staff/settings/forms/{template_id:int}": MANAGERS,
    "POST /staff/settings/forms/{template_id:int}": MANAGERS,
    "GET /staff/settings/forms/{template_id:int}/preview": MANAGERS,
    "POST /staff/settings/forms/{template_id:int}/assign": {
        **MANAGERS,
        "owner": "404",
        "manager": "404",
    },
    "POST /staff/settings/forms/{template_id:int}/retire": MANAGERS,
    "POST /staff/settings/forms/{template_id:int}/restore": MANAGERS,
    "POST /staff/settings/forms/{template_id:int}/new-clients": MANAGERS,
    "POST /staff/settings/forms/{template_id:int}/assign-upcoming": MANAGERS,
}

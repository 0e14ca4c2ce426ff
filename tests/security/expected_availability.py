"""Access expectations for the staff availability routes (merged into access_expected.EXPECTED)."""

from __future__ import annotations

from tests.security.access_world import STAFF


def _row(anon: str, alice: str, bob: str, staff: dict[str, str]) -> dict[str, str]:
    return {"anon": anon, "alice": alice, "bob": bob, **staff}


# Owner, manager and scheduler keep everyone's hours; a provider their own (another
# provider's are 404: drb is not Dr. Ana); a biller is refused (403).
_CHOOSE = _row("login", "403", "403", {s: "403" if s == "biller" else "ok" for s in STAFF})
_HOURS = _row(
    "login", "403", "403",
    {s: {"biller": "403", "drb": "404"}.get(s, "ok") for s in STAFF},
)  # fmt: skip

EXPECTED: dict[str, dict[str, str]] = {
    "GET /staff/availability": _CHOOSE,
    "GET /staff/availability/{provider_id:int}": _HOURS,
    "POST /staff/availability/{provider_id:int}/blocks": _HOURS,
    "POST /staff/availability/{provider_id:int}/blocks/{block_id:int}": _HOURS,
    "POST /staff/availability/{provider_id:int}/blocks/{block_id:int}/delete": _HOURS,
    "POST /staff/availability/{provider_id:int}/exceptions": _HOURS,
    "POST /staff/availability/{provider_id:int}/exceptions/{exception_id:int}/delete": _HOURS,
}

"""Terms of service: read, download, and accept a new version at the next sign-in."""

from __future__ import annotations

import io

from pypdf import PdfReader

from portal.practice import terms
from portal.tables import AuditEvent, TermsAcceptance
from portal.tables.accounts import Role
from tests import factories
from tests.web import csrf_from, post_form, sign_in, signed_in


async def test_new_terms_are_accepted_at_the_next_sign_in(http, app):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    await factories.staff("owner", Role.owner)
    first = await terms.publish("2026-01", "First paragraph.\n\nSecond paragraph.")
    r = await sign_in(http, "alice")
    assert r.headers["location"] == "/"
    # Nothing else opens until the terms are accepted; htmx requests are redirected whole.
    assert (await http.get("/")).headers["location"] == "/terms/accept"
    assert (await http.get("/dashboard/widgets/balance", headers={"HX-Request": "true"})).headers[
        "hx-redirect"
    ] == "/terms/accept"
    page = await http.get("/terms/accept")
    assert (
        page.status_code == 200
        and "Second paragraph." in page.text
        and "version 2026-01" in page.text
    )
    r = await http.post(
        "/terms/accept", data={"terms_id": str(first), "_csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 422 and "Tick the box" in r.text
    r = await http.post(
        "/terms/accept",
        data={"terms_id": str(first), "agree": "yes", "_csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 303 and (await http.get("/")).status_code == 200
    assert await TermsAcceptance.count().where(TermsAcceptance.user == c["user_id"]) == 1
    assert await AuditEvent.count().where(AuditEvent.action == "terms.accepted") == 1
    shown = (await http.get("/terms")).text
    assert "You accepted version 2026-01" in shown

    # Signing in again: nothing to accept. A new version: asked again, the old acceptance kept.
    await post_form(http, "/logout")
    await sign_in(http, "alice")
    assert (await http.get("/")).status_code == 200
    second = await terms.publish("2026-06", "Changed terms.")
    await post_form(http, "/logout")
    await sign_in(http, "alice")
    page = await http.get("/terms/accept")
    assert "The terms have changed" in page.text
    # Accepting an outdated version does not count.
    r = await http.post(
        "/terms/accept",
        data={"terms_id": str(first), "agree": "yes", "_csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 422 and "replaced by a newer version" in r.text
    r = await http.post(
        "/terms/accept",
        data={"terms_id": str(second), "agree": "yes", "_csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 303
    assert await TermsAcceptance.count().where(TermsAcceptance.user == c["user_id"]) == 2
    # Staff are not asked.
    async with signed_in(app, "owner") as staff:
        assert (await staff.get("/staff")).status_code == 200


async def test_terms_download_as_pdf(http):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice")
    await terms.publish("2026-01", "The portal is not for emergencies.")
    await sign_in(http, "alice")
    r = await http.get("/terms/pdf")
    assert r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "not for emergencies" in text and "2026-01" in text


async def test_without_published_terms_nothing_is_asked(http):
    p = await factories.practice(two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    assert (await http.get("/")).status_code == 200
    assert (await http.get("/terms")).status_code == 404

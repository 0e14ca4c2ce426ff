"""Staff › Settings › Providers over HTTP: the owner and managers set up every provider, a
provider only their own (another's is 404), schedulers and billers none (403); each change
validated (422, input kept) and audited with its old and new values."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from portal.core.clock import utcnow
from portal.core.diagnostics import count_queries
from portal.practice.providers import npi_valid
from portal.tables import AuditEvent, Provider
from portal.tables.scheduling import AppointmentStatus
from tests import factories
from tests.conftest import client_for
from tests.http.test_html_valid import as_document, check, required_vnu_jar
from tests.http.test_staff_clients import people
from tests.web import Page, post_form, sign_in, signed_in

PROVIDERS = "/staff/settings/providers"
GOOD = {
    "display_name": "Dr. Elena Ruiz",
    "credentials": "PsyD",
    "npi": "1234567893",
    "clients_may_confirm": "yes",
    "clients_may_cancel": "no",
    "cancellation_window_hours": "48",
    "statuses": ["new", "active"],
    "min_notice_hours": "12",
    "horizon_days": "90",
    "online_booking_limit": "2",
    "online_needs_approval": "yes",
}


async def events(action: str) -> list[dict]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)
    return [r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]) for r in rows]


def statuses(row: dict) -> list[str]:
    raw = row["self_schedule_statuses"]
    return json.loads(raw) if isinstance(raw, str) else list(raw)


def test_the_npi_check_digit():
    assert npi_valid("1234567893")
    assert not npi_valid("1234567890")
    assert not npi_valid("123456789") and not npi_valid("12345678a3")


async def test_a_manager_lists_and_changes_a_provider(http):
    env = await people()
    ruiz = env["ruiz"]["provider_id"]
    await sign_in(http, "marcus")
    page = Page(await http.get(PROVIDERS))
    assert page.status_code == 200
    assert "Dr. Elena Ruiz" in page.text and "James Chen" in page.text
    url = f"{PROVIDERS}/{ruiz}"
    form = Page(await http.get(url))
    assert form.status_code == 200 and f'action="{url}"' in form.raw

    r = await post_form(http, url, GOOD, page=url)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?done=saved"
    row = await Provider.select().where(Provider.id == ruiz).first()
    assert (row["credentials"], row["npi"]) == ("PsyD", "1234567893")
    assert row["clients_may_confirm"] and not row["clients_may_cancel"]
    assert (row["cancellation_window_hours"], row["min_notice_hours"], row["horizon_days"]) == (
        48, 12, 90,
    )  # fmt: skip
    assert statuses(row) == ["new", "active"]
    assert row["online_booking_limit"] == 2 and row["online_needs_approval"]
    [event] = await events("practice.provider_changed")
    assert event["provider"] == ruiz
    assert event["old"]["npi"] == "" and event["new"]["npi"] == "1234567893"
    assert (
        event["old"]["online_booking_limit"] is None and event["new"]["online_booking_limit"] == 2
    )
    assert "display_name" not in event["new"]  # unchanged: not recorded
    assert "Provider settings saved." in Page(await http.get(f"{url}?done=saved")).text

    # Empty limit: the practice's again. Saving the same again writes nothing.
    r = await post_form(http, url, {**GOOD, "online_booking_limit": ""}, page=url, htmx=True)
    assert r.status_code == 200 and "Provider settings saved." in r.text
    row = await Provider.select().where(Provider.id == ruiz).first()
    assert row["online_booking_limit"] is None
    await post_form(http, url, {**GOOD, "online_booking_limit": ""}, page=url)
    assert len(await events("practice.provider_changed")) == 2


async def test_bad_input_is_422_with_messages_and_the_input_kept(http):
    env = await people()
    ruiz = env["ruiz"]["provider_id"]
    await sign_in(http, "owner")
    url = f"{PROVIDERS}/{ruiz}"
    bad = {
        **GOOD, "display_name": "  ", "npi": "1234567890", "cancellation_window_hours": "-3",
        "min_notice_hours": "abc", "horizon_days": "0", "online_booking_limit": "51",
        "credentials": "Typed credentials", "statuses": ["active", "retired"],
    }  # fmt: skip
    for htmx in (False, True):
        r = (
            await post_form(http, url, bad, page=url, htmx=True)
            if htmx
            else await post_form(http, url, bad, page=url)
        )
        page = Page(r)
        assert r.status_code == 422
        assert "Give the provider's name" in page.text
        assert "this one does not" in page.text
        assert "The cancellation window is a whole number from 0 to 720." in page.text
        assert "The minimum notice is a whole number" in page.text
        assert "How far ahead clients may book is a whole number from 1 to 366." in page.text
        assert "or leave it empty for the practice's limit" in page.text
        assert "Choose among the client statuses listed." in page.text
        assert 'value="Typed credentials"' in page.raw and 'value="1234567890"' in page.raw
        assert page.raw.count('aria-invalid="true"') >= 6
    row = await Provider.select().where(Provider.id == ruiz).first()
    assert row["npi"] == "" and row["display_name"] == "Dr. Elena Ruiz"
    assert await events("practice.provider_changed") == []


async def test_a_provider_sets_up_only_their_own_and_others_are_refused(http, app):
    env = await people()
    ruiz, chen = env["ruiz"]["provider_id"], env["chen"]["provider_id"]
    await sign_in(http, "ruiz")
    page = Page(await http.get(PROVIDERS))
    assert (
        page.status_code == 200 and "Dr. Elena Ruiz" in page.text and "James Chen" not in page.text
    )
    assert (await http.get(f"{PROVIDERS}/{chen}")).status_code == 404
    r = await post_form(http, f"{PROVIDERS}/{chen}", GOOD, page=PROVIDERS)
    assert r.status_code == 404
    r = await post_form(
        http, f"{PROVIDERS}/{ruiz}", {**GOOD, "display_name": "Elena Ruiz"}, page=PROVIDERS
    )
    assert r.status_code == 303
    assert (await Provider.select().where(Provider.id == ruiz).first())[
        "display_name"
    ] == "Elena Ruiz"
    assert (await Provider.select().where(Provider.id == chen).first())["npi"] == ""
    # Another practice's provider: as if none, for the owner too.
    other = await factories.practice(name="Elsewhere")
    far = await factories.provider(other, "far", display_name="Dr. Far")
    async with signed_in(app, "owner") as owner:
        assert (await owner.get(f"{PROVIDERS}/{far['provider_id']}")).status_code == 404
    for username in ("priya", "tom"):
        async with signed_in(app, username) as staff:
            assert (await staff.get(PROVIDERS)).status_code == 403
            assert (await staff.get(f"{PROVIDERS}/{ruiz}")).status_code == 403
            r = await post_form(staff, f"{PROVIDERS}/{ruiz}", GOOD, page="/profile")
            assert r.status_code == 403
    async with client_for(app) as anonymous:
        r = await anonymous.get(PROVIDERS)
        assert r.status_code in (302, 303, 401)
    assert (await Provider.select().where(Provider.id == chen).first())["npi"] == ""


async def test_the_list_costs_the_same_queries_for_many_providers(http, app):
    env = await people()
    await sign_in(http, "owner")
    counts = {}
    for n in (2, 12):
        while await Provider.count() < n:
            k = await Provider.count()
            await factories.provider(env["practice"], f"prov{k}", display_name=f"Provider {k}")
        await http.get(PROVIDERS)
        with count_queries(app.state.engine) as seen:
            assert (await http.get(PROVIDERS)).status_code == 200
        counts[n] = len(seen)
    assert counts[2] == counts[12] <= 4, counts


async def test_the_pages_are_valid_html_with_every_field_in_error(http, tmp_path):
    jar = required_vnu_jar()
    env = await people()
    ruiz = env["ruiz"]["provider_id"]
    await factories.appointment(
        env["alice"], ruiz, env["service"], utcnow() + timedelta(days=3),
        status=AppointmentStatus.requested, booked_online=True,
    )  # fmt: skip
    await sign_in(http, "owner")
    url = f"{PROVIDERS}/{ruiz}"
    bad = {k: "?" for k in GOOD} | {"statuses": ["nope"]}
    docs = {
        "list": (await http.get(PROVIDERS)).text,
        "form": (await http.get(f"{url}?done=saved")).text,
        "requests": (await http.get("/staff/agenda/requests")).text,
    }
    for htmx in (False, True):
        r = await post_form(http, url, bad, page=url, htmx=htmx)
        assert r.status_code == 422
        docs[f"refused {htmx}"] = as_document(r.text) if htmx else r.text
    errors = await asyncio.to_thread(check, jar, docs, tmp_path)
    assert not errors, f"{len(errors)} HTML errors in {len(docs)} documents:\n" + "\n".join(errors)

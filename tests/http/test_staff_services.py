"""Staff › Settings › Services and Locations over HTTP: added, changed, retired and restored
by the owner or a manager only (each action validated and audited with old and new values),
and the client's /schedule following every change at once."""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import timedelta
from urllib.parse import unquote

from portal.core.diagnostics import count_queries
from portal.demo.practice import seed
from portal.scheduling import availability
from portal.tables import Appointment, AuditEvent, Location, Practice, Service
from portal.tables.accounts import Role
from portal.tables.people import ClientStatus
from tests import factories
from tests.conftest import client_for
from tests.http.test_html_valid import as_document, check, required_vnu_jar
from tests.http.test_html_valid_staff import DEMO_PASSWORD
from tests.http.test_schedule import practice_with_hours, slot_links
from tests.http.test_staff_clients import people
from tests.web import Page, csrf_token, post_form, sign_in, signed_in

SERVICES = "/staff/settings/services"
LOCATIONS = "/staff/settings/locations"
SERVICE = {
    "name": "Couples therapy",
    "cpt_code": "90847",
    "minutes": "50",
    "fee": "$1,170.50",
    "client_may_schedule": "yes",
    "telehealth_allowed": "no",
    "offered_to": "all",
}
LOCATION = {
    "name": "Riverside office",
    "address_line1": "9 River Road",
    "address_line2": "Floor 2",
    "city": "Cambridge",
    "region": "MA",
    "postal_code": "02139-4307",
    "phone": "617.555.0199",
}


async def events(action: str) -> list[dict]:
    rows = await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)
    return [r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]) for r in rows]


async def service_row(name: str) -> dict:
    return await Service.select().where(Service.name == name).first()


# --- Services --------------------------------------------------------------------------


async def test_a_manager_adds_changes_retires_and_restores_a_service(http):
    env = await people()
    await sign_in(http, "marcus")
    page = Page(await http.get(SERVICES))
    assert page.status_code == 200 and "Individual therapy" in page.text
    assert 'action="/staff/settings/services"' in page.raw

    r = await post_form(http, SERVICES, SERVICE, page=SERVICES)
    assert r.status_code == 303 and r.headers["location"] == f"{SERVICES}?done=added"
    row = await service_row("Couples therapy")
    assert row["price_cents"] == 117050 and isinstance(row["price_cents"], int)
    assert (row["cpt_code"], row["duration_minutes"]) == ("90847", 50)
    assert row["client_may_schedule"] and not row["telehealth_allowed"]
    assert not row["new_clients_only"] and row["active"] and row["practice"] == env["practice"]
    [added] = await events("practice.service_added")
    assert added["service"] == row["id"] and added["new"]["price_cents"] == 117050

    page = Page(await http.get(f"{SERVICES}?done=added"))
    assert "Service added." in page.text and "$1,170.50" in page.text and "CPT 90847" in page.text
    assert 'value="1170.50"' in page.raw  # the edit form shows the fee in dollars

    # htmx: the card comes back alone; a Category III code and a new-clients-only offer.
    changed = {**SERVICE, "name": "Couples  therapy, 50 min ", "cpt_code": "0591t",
               "fee": "120", "offered_to": "new"}  # fmt: skip
    r = await post_form(http, f"{SERVICES}/{row['id']}", changed, page=SERVICES, htmx=True)
    assert r.status_code == 200 and "<html" not in r.text and 'id="services"' in r.text
    assert "Service saved." in r.text and "booked online by new clients only" in r.text
    [change] = await events("practice.service_changed")
    assert change["old"] == {"name": "Couples therapy", "cpt_code": "90847",
                             "price_cents": 117050, "new_clients_only": False}  # fmt: skip
    assert change["new"] == {"name": "Couples therapy, 50 min", "cpt_code": "0591T",
                             "price_cents": 12000, "new_clients_only": True}  # fmt: skip
    # Saving it unchanged writes nothing.
    same = {**changed, "name": "Couples therapy, 50 min", "cpt_code": "0591T"}
    assert (
        await post_form(http, f"{SERVICES}/{row['id']}", same, page=SERVICES)
    ).status_code == 303
    assert len(await events("practice.service_changed")) == 1

    r = await post_form(http, f"{SERVICES}/{row['id']}/retire", {}, page=SERVICES)
    assert r.status_code == 303 and r.headers["location"] == f"{SERVICES}?done=retired"
    assert not (await Service.select().where(Service.id == row["id"]).first())["active"]
    page = Page(await http.get(f"{SERVICES}?done=retired"))
    assert "no longer offered for new bookings" in page.text and "Retired" in page.text
    assert f'action="{SERVICES}/{row["id"]}/restore"' in page.raw
    # A new active service may take the retired one's name; restoring it then is refused.
    await post_form(http, SERVICES, {**SERVICE, "name": "COUPLES THERAPY, 50 MIN"}, page=SERVICES)
    r = await post_form(http, f"{SERVICES}/{row['id']}/restore", {}, page=SERVICES, htmx=True)
    assert r.status_code == 422 and "Another active service is named" in html.unescape(r.text)
    assert not (await Service.select().where(Service.id == row["id"]).first())["active"]
    await Service.update({Service.active: False}).where(Service.name == "COUPLES THERAPY, 50 MIN")
    r = await post_form(http, f"{SERVICES}/{row['id']}/restore", {}, page=SERVICES, htmx=True)
    assert r.status_code == 200 and "Service restored." in r.text
    [retired] = await events("practice.service_retired")
    [restored] = await events("practice.service_restored")
    assert retired["old"] == {"active": True} and retired["new"] == {"active": False}
    assert restored["service"] == row["id"] and restored["new"] == {"active": True}
    # Retiring it twice: nothing more is recorded. Nothing is ever deleted.
    await post_form(http, f"{SERVICES}/{row['id']}/retire", {}, page=SERVICES)
    await post_form(http, f"{SERVICES}/{row['id']}/retire", {}, page=SERVICES)
    assert len(await events("practice.service_retired")) == 2
    assert await Service.count() == 3


async def test_every_service_field_is_checked_and_the_input_kept(http):
    env = await people()
    await sign_in(http, "owner")
    cases = [
        ({"name": ""}, "name", "Give the service a name"),
        ({"name": "x" * 151}, "name", "Keep the name to 150 characters."),
        ({"name": "individual THERAPY"}, "name", "Another active service is named"),
        ({"cpt_code": "9083"}, "cpt_code", "A CPT code is 5 characters"),
        ({"cpt_code": "A0591"}, "cpt_code", "A CPT code is 5 characters"),
        ({"minutes": "9"}, "minutes", "from 10 to 480 minutes"),
        ({"minutes": "481"}, "minutes", "from 10 to 480 minutes"),
        ({"minutes": "fifty"}, "minutes", "Enter the length in minutes"),
        ({"fee": "abc"}, "fee", "Enter the fee in dollars and cents"),
        ({"fee": "12.345"}, "fee", "Enter the fee in dollars and cents"),
        ({"fee": "-5"}, "fee", "Enter the fee in dollars and cents"),
        ({"client_may_schedule": "maybe"}, "client_may_schedule", "Choose whether clients"),
        ({"telehealth_allowed": ""}, "telehealth_allowed", "Choose whether it may be held"),
        ({"offered_to": "some"}, "offered_to", "Choose who may book it online"),
    ]
    for i, (bad, field, message) in enumerate(cases):
        htmx = bool(i % 2)
        data = {**SERVICE, "name": f"Typed name {i}", **bad}
        page = Page(await post_form(http, SERVICES, data, page=SERVICES, htmx=htmx))
        assert page.status_code == 422 and message in page.text, bad
        assert f'id="service-new-{field}-error"' in page.raw, bad  # by its field...
        assert f'aria-describedby="service-new-{field}-error"' in page.raw or (
            f'service-new-{field}-hint service-new-{field}-error"' in page.raw
        ), bad  # ... and linked to it
        if field != "name":
            assert f'value="Typed name {i}"' in page.raw  # the input kept
        assert ("<html" in page.raw) is not htmx
    assert await Service.count() == 1
    # A change is checked the same way, at the service's own form, which stays open.
    r = await post_form(http, f"{SERVICES}/{env['service']}", {**SERVICE, "minutes": "0"},
                        page=SERVICES, htmx=True)  # fmt: skip
    assert r.status_code == 422 and f'id="service-{env["service"]}-minutes-error"' in r.text
    assert '<details class="edit" open>' in r.text and 'value="Couples therapy"' in r.text
    assert (await service_row("Individual therapy"))["duration_minutes"] == 45
    assert await AuditEvent.count().where(AuditEvent.action.like("practice.service%")) == 0


# --- Locations -------------------------------------------------------------------------


async def test_a_manager_adds_changes_retires_and_restores_a_location(http):
    env = await people()
    await factories.location(env["practice"], name="Downtown office")
    await sign_in(http, "marcus")
    r = await post_form(http, LOCATIONS, LOCATION, page=LOCATIONS)
    assert r.status_code == 303 and r.headers["location"] == f"{LOCATIONS}?done=added"
    row = await Location.select().where(Location.name == "Riverside office").first()
    assert row["phone"] == "(617) 555-0199" and row["postal_code"] == "02139-4307"
    page = Page(await http.get(f"{LOCATIONS}?done=added"))
    assert "Location added." in page.text
    address = "9 River Road, Floor 2, Cambridge, MA 02139-4307"
    assert address in page.text
    # The maps links are the ones a client's appointment there gets.
    q = "9%20River%20Road%2C%20Floor%202%2C%20Cambridge%2C%20MA%2002139-4307"
    assert f"https://www.google.com/maps/search/?api=1&amp;query={q}" in page.raw
    assert f"https://maps.apple.com/?q={q}" in page.raw

    new = {**LOCATION, "address_line1": "11 River Road", "address_line2": "", "phone": ""}
    r = await post_form(http, f"{LOCATIONS}/{row['id']}", new, page=LOCATIONS, htmx=True)
    assert r.status_code == 200 and "<html" not in r.text and "Location saved." in r.text
    [change] = await events("practice.location_changed")
    assert change["old"] == {"address_line1": "9 River Road", "address_line2": "Floor 2",
                             "phone": "(617) 555-0199"}  # fmt: skip
    assert change["new"] == {"address_line1": "11 River Road", "address_line2": "", "phone": ""}
    [added] = await events("practice.location_added")
    assert added["new"]["name"] == "Riverside office"

    r = await post_form(http, f"{LOCATIONS}/{row['id']}/retire", {}, page=LOCATIONS, htmx=True)
    assert r.status_code == 200 and "Location retired" in r.text
    assert f'action="{LOCATIONS}/{row["id"]}/restore"' in r.text
    r = await post_form(http, f"{LOCATIONS}/{row['id']}/restore", {}, page=LOCATIONS)
    assert r.status_code == 303 and r.headers["location"] == f"{LOCATIONS}?done=restored"
    assert (await Location.select().where(Location.id == row["id"]).first())["active"]
    assert len(await events("practice.location_retired")) == 1
    assert len(await events("practice.location_restored")) == 1


async def test_every_location_field_is_checked_and_the_input_kept(http):
    env = await people()
    loc = await factories.location(env["practice"], name="Downtown office")
    await sign_in(http, "owner")
    cases = [
        ({"name": ""}, "name", "Give the location a name"),
        ({"name": " downtown  OFFICE "}, "name", "Another active location is named"),
        ({"address_line1": ""}, "address_line1", "Enter the street address."),
        ({"city": " "}, "city", "Enter the city."),
        ({"region": ""}, "region", "Enter the state."),
        ({"postal_code": ""}, "postal_code", "Enter the ZIP code."),
        ({"postal_code": "2110"}, "postal_code", "ZIP code of 5 digits"),
        ({"postal_code": "02110-12"}, "postal_code", "ZIP code of 5 digits"),
        ({"phone": "555"}, "phone", "phone number"),
        ({"phone": "(617) 555-0142 ext. 4"}, "phone", "Leave out the extension"),
    ]
    for i, (bad, field, message) in enumerate(cases):
        htmx = bool(i % 2)
        data = {**LOCATION, "city": f"Typed city {i}", **bad}
        page = Page(await post_form(http, LOCATIONS, data, page=LOCATIONS, htmx=htmx))
        assert page.status_code == 422 and message in page.text, bad
        assert f'id="location-new-{field}-error"' in page.raw, bad
        assert f'location-new-{field}-error"' in page.raw and 'aria-invalid="true"' in page.raw
        if field != "city":
            assert f'value="Typed city {i}"' in page.raw
        assert ("<html" in page.raw) is not htmx
    assert await Location.count() == 1
    r = await post_form(http, f"{LOCATIONS}/{loc}", {**LOCATION, "postal_code": "x"},
                        page=LOCATIONS)  # fmt: skip
    assert r.status_code == 422 and f'id="location-{loc}-postal_code-error"' in r.text
    assert await AuditEvent.count().where(AuditEvent.action.like("practice.location%")) == 0


async def test_another_practices_or_no_service_or_location_is_a_404(http):
    await people()
    other = await factories.practice(name="Elsewhere")
    theirs = {"services": await factories.service(other, name="Theirs"),
              "locations": await factories.location(other, name="Their office")}  # fmt: skip
    await sign_in(http, "owner")
    for kind, data in (("services", SERVICE), ("locations", LOCATION)):
        base = f"/staff/settings/{kind}"
        for item in (theirs[kind], 999999):
            for tail, body in (("", data), ("", {}), ("/retire", {}), ("/restore", {})):
                r = await post_form(http, f"{base}/{item}{tail}", body, page=base)
                assert r.status_code == 404, (kind, item, tail)
    assert (await Service.select().where(Service.id == theirs["services"]).first())["active"]
    assert await AuditEvent.count().where(AuditEvent.action.like("practice.%")) == 0


async def test_only_the_owner_and_managers_reach_services_and_locations(http, app):
    env = await people()
    loc = await factories.location(env["practice"], name="Downtown office")
    for username in ("ruiz", "priya", "tom", "alice"):
        async with signed_in(app, username) as other:
            for base, data, item in (
                (SERVICES, SERVICE, env["service"]),
                (LOCATIONS, LOCATION, loc),
            ):
                assert (await other.get(base)).status_code == 403, username
                for path in (base, f"{base}/{item}", f"{base}/{item}/retire"):
                    r = await post_form(other, path, data, page="/profile")
                    assert r.status_code == 403, (username, path)
    assert await Service.count() == 1 and await Location.count() == 1
    assert await AuditEvent.count().where(AuditEvent.action.like("practice.%")) == 0
    async with signed_in(app, "owner") as owner:
        assert (await owner.get(SERVICES)).status_code == 200
        assert (await owner.get(LOCATIONS)).status_code == 200


async def test_the_pages_cost_the_same_queries_for_many_services_and_locations(http, app):
    env = await people()
    await sign_in(http, "owner")
    counts = {}
    for n in (1, 20):
        while await Service.count() < n:
            await factories.service(env["practice"], name=f"Service {await Service.count()}")
        while await Location.count() < n:
            await factories.location(env["practice"], name=f"Office {await Location.count()}")
        for url in (SERVICES, LOCATIONS):
            await http.get(url)
            with count_queries(app.state.engine) as seen:
                assert (await http.get(url)).status_code == 200
            counts[(n, url)] = len(seen)
    for url in (SERVICES, LOCATIONS):
        assert counts[(1, url)] == counts[(20, url)] <= 4, counts


# --- What the client's /schedule offers ---------------------------------------------------


async def offered(http, env, service="", where="") -> str:
    url = f"/schedule?provider={env['provider']}&service={service}&where={where}"
    return html.unescape((await http.get(url)).text)


def service_options(page: str) -> set[str]:
    select = re.search(r'<select id="pick-service".*?</select>', page, re.S).group(0)
    names = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select)
    # The picker adds "(N min)" to a name without its length (partials/scheduling/picker.html).
    return {re.sub(r" \(\d+ min\)$", "", n.strip()) for n in names}


def place_options(page: str) -> set[str]:
    select = re.search(r'<select id="pick-where".*?</select>', page, re.S).group(0)
    return set(re.findall(r'<option value="[^"]+"[^>]*>([^<]+)</option>', select))


async def book_first(http, env, service, where) -> object:
    url = f"/schedule?provider={env['provider']}&service={service}&where={where}"
    links = slot_links((await http.get(url)).text)
    assert links, "no slots offered"
    return await post_link(http, links[0])


async def post_link(http, link: str):
    """Book the time a slot link points at, as its review page's form would."""
    data = {k: unquote(v) for k, v in re.findall(r"[?&](\w+)=([^&]*)", link)}
    token = await csrf_token(http, "/schedule")
    return await http.post("/schedule/book", data={**data, "_csrf_token": token})


async def test_the_schedule_follows_retired_and_new_services_and_locations_at_once(http, app):
    env = await practice_with_hours()
    await factories.staff("owner", Role.owner)
    await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await sign_in(http, "alice")
    assert "Individual therapy" in service_options(await offered(http, env))
    where = str(env["location"])
    async with signed_in(app, "owner") as owner:
        # A link to a time, taken before the service is retired, books nothing after.
        url = f"/schedule?provider={env['provider']}&service={env['service']}&where={where}"
        link = slot_links((await http.get(url)).text)[0]
        await post_form(owner, f"{SERVICES}/{env['service']}/retire", {}, page=SERVICES)
        assert "Individual therapy" not in service_options(await offered(http, env))
        r = await post_link(http, link)
        assert r.status_code == 422 and await Appointment.count() == 0
        # A new service is offered at once.
        await post_form(owner, SERVICES, {**SERVICE, "name": "Brief check-in", "minutes": "30",
                                          "telehealth_allowed": "yes"}, page=SERVICES)  # fmt: skip
        assert "Brief check-in" in service_options(await offered(http, env))
        new_id = (await service_row("Brief check-in"))["id"]
        # The office retired: only telehealth is left; restored, it is back.
        both = {"Downtown office", "Telehealth (video)"}
        assert place_options(await offered(http, env, new_id)) == both
        await post_form(owner, f"{LOCATIONS}/{where}/retire", {}, page=LOCATIONS)
        assert place_options(await offered(http, env, new_id)) == {"Telehealth (video)"}
        assert "does not take online bookings there" in await offered(http, env, new_id, where)
        await post_form(owner, f"{LOCATIONS}/{where}/restore", {}, page=LOCATIONS)
        assert place_options(await offered(http, env, new_id)) == both
        # A new office, once the provider has hours there, is offered.
        await post_form(owner, LOCATIONS, LOCATION, page=LOCATIONS)
        await availability.apply({"provider": [{"username": "ruiz", "hours": [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "09:00",
             "to": "12:00", "place": "Riverside office"}]}]})  # fmt: skip
        assert "Riverside office" in place_options(await offered(http, env, new_id))


async def test_a_service_for_new_clients_only_is_offered_to_new_clients_only(http, app):
    env = await practice_with_hours()
    await factories.staff("owner", Role.owner)
    await factories.client(env["practice"], "alice", status=ClientStatus.active)
    await factories.client(env["practice"], "newbie", status=ClientStatus.new)
    async with signed_in(app, "owner") as owner:
        data = {**SERVICE, "name": "Initial assessment", "minutes": "60", "offered_to": "new",
                "telehealth_allowed": "yes"}  # fmt: skip
        assert (await post_form(owner, SERVICES, data, page=SERVICES)).status_code == 303
    assessment = (await service_row("Initial assessment"))["id"]
    where = str(env["location"])
    async with signed_in(app, "newbie") as newbie:
        assert "Initial assessment" in service_options(await offered(newbie, env))
        r = await book_first(newbie, env, assessment, where)
        assert r.status_code == 303 and r.headers["location"].startswith("/schedule/booked/")
    await sign_in(http, "alice")
    assert "Initial assessment" not in service_options(await offered(http, env))
    assert "Individual therapy" in service_options(await offered(http, env))
    text = await offered(http, env, assessment, where)
    assert "“Initial assessment” is booked online by new clients only" in text
    assert not slot_links(text)
    # Booking it anyway (a time the new client was offered) is refused the same way.
    [appt] = await Appointment.select()
    start = appt["starts_at"] + timedelta(hours=1)
    token = await csrf_token(http, "/schedule")
    r = await http.post("/schedule/book", data={
        "provider": env["provider"], "service": assessment, "where": where,
        "start": start.isoformat(), "_csrf_token": token})  # fmt: skip
    assert r.status_code == 422 and "booked online by new clients only" in html.unescape(r.text)
    assert await Appointment.count() == 1


# --- The pages as HTML -----------------------------------------------------------------


async def test_the_pages_are_valid_html_with_every_field_in_error(app, tmp_path):
    jar = required_vnu_jar()
    await seed(DEMO_PASSWORD)
    await Practice.update({Practice.two_factor_policy: "nobody"}).where(Practice.id > 0)
    # The demo's initial assessment is booked online by new clients only.
    assert (await service_row("Initial assessment"))["new_clients_only"]
    docs = {}
    async with client_for(app) as http:
        await sign_in(http, "owner", DEMO_PASSWORD)
        first_service = (await Service.select(Service.id).first())["id"]
        first_location = (await Location.select(Location.id).first())["id"]
        await post_form(http, f"{SERVICES}/{first_service}/retire", {}, page=SERVICES)
        await post_form(http, f"{LOCATIONS}/{first_location}/retire", {}, page=LOCATIONS)
        bad = {k: "?" for k in (*SERVICE, *LOCATION)}
        for base in (SERVICES, LOCATIONS):
            docs[f"page {base}"] = (await http.get(f"{base}?done=retired")).text
            for htmx in (False, True):
                r = await post_form(http, base, bad, page=base, htmx=htmx)
                assert r.status_code == 422
                docs[f"{'fragment' if htmx else 'page'} {base}, refused"] = (
                    as_document(r.text) if htmx else r.text
                )
    errors = await asyncio.to_thread(check, jar, docs, tmp_path)
    assert not errors, f"{len(errors)} HTML errors in {len(docs)} documents:\n" + "\n".join(errors)

"""My Insurance: no insurance or a policy with card images; re-entry keeps history; only the
owner sees a card image; images are judged by their bytes."""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import re

import pytest

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.uploads import Checked
from portal.insurance import policy as insurance
from portal.tables import AuditEvent, Client, InsurancePolicy, StoredFile
from tests import factories
from tests.web import post_form, sign_in, signed_in

GOOD = {
    "payer": "Blue Harbor Health",
    "plan": "PPO Gold",
    "member_id": "XKW 123-4567",
    "group_number": "88-1200",
    "subscriber_name": "Alice Tester",
    "subscriber_date_of_birth": "1986-04-21",
    "subscriber_relationship": "self",
}


def text(response) -> str:
    return html.unescape(response.text)


async def setup(http, username: str = "alice", **client_kw) -> dict:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    c = await factories.client(p, username, **client_kw)
    await sign_in(http, username)
    return {"practice": p, "client": c}


async def post_details(http, data=None, files=None, *, htmx: bool = False):
    """The details form as the page posts it: multipart, with the page's CSRF token."""
    # A browser sends an empty file part for a file input left empty.
    files = files or {"card_front": ("", b"", "application/octet-stream")}
    fields = data if data is not None else GOOD
    return await post_form(http, "/insurance", fields, page="/insurance", files=files, htmx=htmx)


async def post_none(http, *, htmx: bool = False):
    return await post_form(http, "/insurance/none", page="/insurance", htmx=htmx)


async def policies(client_id: int) -> list[dict]:
    return (
        await InsurancePolicy.select()
        .where(InsurancePolicy.client == client_id)
        .order_by(InsurancePolicy.id)
    )


async def choice(client_id: int) -> str:
    row = await Client.select(Client.insurance_choice).where(Client.id == client_id).first()
    return row["insurance_choice"]


def card_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'href="/insurance/cards/(\d+)"', page)]


# --- Nothing entered yet -------------------------------------------------------------------


async def test_nothing_entered_offers_both_choices_and_a_task(http):
    await setup(http)
    dashboard = text(await http.get("/"))
    tasks = dashboard.split('id="w-tasks"', 1)[1].split("</section>", 1)[0]
    assert re.search(
        r'<a class="button" href="/insurance">[^<]+<span class="visually-hidden">: Add your insurance',
        tasks,
    )
    assert 'href="/insurance"' in dashboard and ">My Insurance</a>" in dashboard  # the menu

    page = await http.get("/insurance")
    assert page.status_code == 200
    body = text(page)
    assert "<h1>My Insurance</h1>" in body
    assert 'action="/insurance/none"' in body and ">No Insurance</button>" in body
    assert "<summary>I Have Insurance</summary>" in body
    form = body[body.index('<form id="insurance-form"') :]
    assert 'enctype="multipart/form-data"' in form[:200]
    for name in (*insurance.TEXT_FIELDS, "card_front", "card_back"):
        assert f'name="{name}"' in form, name
    # Every control is labelled.
    for control_id in re.findall(r'<(?:input|select) id="([^"]+)"', form):
        assert f'<label for="{control_id}">' in form, control_id
    # The form starts with the client as the subscriber.
    assert 'value="Alice Tester"' in form
    assert '<option value="self" selected>' in form


async def test_no_insurance_without_javascript(http):
    env = await setup(http)
    r = await post_none(http)
    assert r.status_code == 303
    assert r.headers["location"] == "/insurance?done=none"
    page = text(await http.get(r.headers["location"]))
    assert "Saved: you have no insurance (self or private pay)." in page
    assert '<h2 id="ins-none-h">No insurance</h2>' in page
    assert "<summary>I have insurance now</summary>" in page
    assert await choice(env["client"]["client_id"]) == "none"
    assert "Add your insurance" not in text(await http.get("/"))

    events = await AuditEvent.select().where(AuditEvent.action == "insurance.none_chosen")
    assert len(events) == 1
    assert events[0]["subject"] == f"client:{env['client']['client_id']}"
    detail = events[0]["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["old_choice"] == "" and detail["new_choice"] == "none"

    # Saying it again changes nothing and records nothing.
    assert (await post_none(http)).status_code == 303
    assert await AuditEvent.count().where(AuditEvent.action == "insurance.none_chosen") == 1


async def test_no_insurance_with_htmx_returns_the_panel(http):
    await setup(http)
    r = await post_none(http, htmx=True)
    assert r.status_code == 200
    body = text(r)
    assert body.lstrip().startswith("{#") is False
    assert '<div id="insurance"' in body and "<html" not in body
    assert "Saved: you have no insurance (self or private pay)." in body


# --- Entering details ----------------------------------------------------------------------


async def test_enter_insurance_with_card_images_without_javascript(http):
    env = await setup(http)
    cid = env["client"]["client_id"]
    front, back = factories.image("PNG", "navy"), factories.image("JPEG", "teal")
    r = await post_details(
        http,
        files={
            "card_front": ("front of card.png", front, "image/png"),
            "card_back": ("IMG_0042.JPG", back, "image/jpeg"),
        },
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/insurance?done=saved"

    rows = await policies(cid)
    assert len(rows) == 1
    p = rows[0]
    assert p["replaced_at"] is None
    assert (p["payer"], p["member_id"], p["group_number"], p["plan"]) == (
        "Blue Harbor Health", "XKW 123-4567", "88-1200", "PPO Gold",
    )  # fmt: skip
    assert p["subscriber_name"] == "Alice Tester"
    assert p["subscriber_date_of_birth"].isoformat() == "1986-04-21"
    assert p["subscriber_relationship"] == "self"
    assert await choice(cid) == "insured"

    stored = {
        f["id"]: f
        for f in await StoredFile.select().where(
            StoredFile.id.is_in([p["card_front"], p["card_back"]])
        )
    }
    assert stored[p["card_front"]]["content_type"] == "image/png"
    assert stored[p["card_front"]]["sha256"] == hashlib.sha256(front).hexdigest()
    assert stored[p["card_back"]]["content_type"] == "image/jpeg"
    assert stored[p["card_back"]]["display_name"] == "IMG_0042.jpg"

    page = text(await http.get(r.headers["location"]))
    assert "Your insurance was saved. The practice sees it as your primary insurance." in page
    assert '<h2 id="ins-current-h">Primary insurance</h2>' in page
    for shown in ("Blue Harbor Health", "PPO Gold", "XKW 123-4567", "88-1200", "21 April 1986"):
        assert shown in page
    assert "<summary>Re-enter insurance</summary>" in page
    assert card_ids(page) == [p["card_front"], p["card_back"]]

    card = await http.get(f"/insurance/cards/{p['card_front']}")
    assert card.status_code == 200
    assert card.content == front
    assert card.headers["content-type"] == "image/png"
    assert card.headers["content-disposition"].startswith(
        'attachment; filename="front of card.png"'
    )
    assert card.headers["x-content-type-options"] == "nosniff"
    assert "Add your insurance" not in text(await http.get("/"))

    event = await AuditEvent.select().where(AuditEvent.action == "insurance.saved").first()
    detail = event["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["old"] is None and detail["old_choice"] == ""
    assert detail["new"]["member_id"] == "XKW 123-4567"
    assert detail["new"]["card_front"] == p["card_front"]


async def test_enter_insurance_with_htmx_returns_the_saved_panel(http):
    env = await setup(http)
    data = {**GOOD, "group_number": "", "plan": ""}
    r = await post_details(http, data, htmx=True)
    assert r.status_code == 200
    body = text(r)
    assert "<html" not in body and '<div id="insurance"' in body
    assert "Your insurance was saved." in body
    assert "No image of the front" in body and "No image of the back" in body
    p = (await policies(env["client"]["client_id"]))[0]
    assert (p["group_number"], p["plan"], p["card_front"], p["card_back"]) == ("", "", None, None)


async def test_dates_typed_by_hand_are_understood():
    today = utcnow().date()
    assert insurance.parse_date("4/21/1986").isoformat() == "1986-04-21"
    assert insurance.parse_date("1986-04-21").isoformat() == "1986-04-21"
    for bad in ("21/04/1986", "1986-02-30", "yesterday", "04-21-86"):
        assert insurance.parse_date(bad) is None, bad
    _, errors = insurance.validate({**GOOD, "subscriber_date_of_birth": "13/01/1990"}, today=today)
    assert errors == {
        "subscriber_date_of_birth": "Enter the date as MM/DD/YYYY, for example 04/21/1986."
    }


@pytest.mark.parametrize("htmx", [False, True], ids=["nojs", "htmx"])
async def test_bad_input_is_422_with_messages_input_kept_and_nothing_written(http, htmx):
    env = await setup(http)
    cid = env["client"]["client_id"]
    data = {
        **GOOD,
        "payer": "  ",
        "member_id": "XKW<123>",
        "subscriber_date_of_birth": "2999-01-01",
        "subscriber_relationship": "landlord",
    }
    r = await post_details(
        http,
        data,
        files={"card_front": ("front.png", factories.image("PNG"), "image/png")},
        htmx=htmx,
    )
    assert r.status_code == 422
    body = text(r)
    assert ("<html" in body) is not htmx
    assert '<div class="alert" role="alert" id="ins-errors">' in body
    expected = {
        "payer": "Enter the name of your insurance company, as on your card.",
        "member_id": "Use only the letters, digits, spaces and dashes on your card.",
        "subscriber_date_of_birth": "The date of birth cannot be in the future.",
        "subscriber_relationship": "Choose the subscriber's relationship to you.",
    }
    for name, message in expected.items():
        assert f'<p class="field-error" id="ins-{name}-error">{message}</p>' in body, name
        control = re.search(rf'<(?:input|select) id="ins-{name}"[^>]*>', r.text, re.S).group(0)
        assert 'aria-invalid="true"' in control, name
        assert f"ins-{name}-error" in control, name
    # What was typed is kept; the fields without a problem are not marked.
    assert 'value="XKW&lt;123&gt;"' in r.text
    assert 'value="Alice Tester"' in body and 'value="PPO Gold"' in body
    plan = re.search(r'<input id="ins-plan"[^>]*>', r.text, re.S).group(0)
    assert "aria-invalid" not in plan
    # The form is open, and says the chosen image must be chosen again.
    assert '<details class="ins-reveal" open>' in body
    assert "Choose this image again" in body
    # Nothing half-written.
    assert await policies(cid) == []
    assert await StoredFile.count() == 0
    assert await choice(cid) == ""
    assert await AuditEvent.count().where(AuditEvent.action == "insurance.saved") == 0


# --- Card images: judged by their bytes ----------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "filename", "content_type"),
    [
        ("JPEG", "card.jpg", "image/jpeg"),
        ("PNG", "card.png", "image/png"),
        ("GIF", "card.gif", "image/gif"),
        ("BMP", "card.bmp", "image/bmp"),
        ("PNG", "card.jpeg", "image/png"),  # misnamed, still a PNG: stored as what it is
    ],
)
async def test_card_images_of_each_kind_are_accepted(http, fmt, filename, content_type):
    env = await setup(http)
    data = factories.image(fmt)
    r = await post_details(http, files={"card_back": (filename, data, "application/octet-stream")})
    assert r.status_code == 303, text(r)
    p = (await policies(env["client"]["client_id"]))[0]
    assert p["card_front"] is None
    f = await StoredFile.select().where(StoredFile.id == p["card_back"]).first()
    assert f["content_type"] == content_type
    got = await http.get(f"/insurance/cards/{p['card_back']}")
    assert got.content == data and got.headers["content-type"] == content_type


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("card.jpg", b"This is a letter, not a photo of a card.\n"),  # renamed text
        ("card.png", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),  # a PDF
        ("card.gif", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
        ("card.bmp", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"),  # a Windows program
    ],
)
async def test_a_renamed_non_image_is_refused(http, filename, data):
    env = await setup(http)
    r = await post_details(http, files={"card_front": (filename, data, "image/jpeg")})
    assert r.status_code == 422
    message = (
        f"“{filename}” is not a JPG, PNG, GIF, BMP file (judged by its content, not its name)."
    )
    assert f'<p class="field-error" id="ins-card_front-error">{message}</p>' in text(r)
    control = re.search(r'<input id="ins-card_front"[^>]*>', text(r), re.S).group(0)
    assert 'aria-invalid="true"' in control and "ins-card_front-error" in control
    # The typed details are kept for the next try; nothing is stored.
    assert 'value="XKW 123-4567"' in text(r)
    assert await policies(env["client"]["client_id"]) == []
    assert await StoredFile.count() == 0


async def test_an_image_over_10_mb_is_refused(http):
    env = await setup(http)
    big = factories.image("BMP", size=(1900, 1900))  # about 10.8 MB of pixels
    assert len(big) > 10 * 1024 * 1024
    r = await post_details(http, files={"card_front": ("scan.bmp", big, "image/bmp")})
    assert r.status_code == 422
    assert "“scan.bmp” is larger than 10 MB. Attach a smaller file." in text(r)
    assert await policies(env["client"]["client_id"]) == []


# --- Re-entering ---------------------------------------------------------------------------


async def test_re_entering_replaces_the_current_policy_and_keeps_the_old_one(http):
    env = await setup(http)
    cid = env["client"]["client_id"]
    old_front, old_back = factories.image("PNG", "red"), factories.image("PNG", "green")
    await post_details(
        http,
        files={
            "card_front": ("old-front.png", old_front, "image/png"),
            "card_back": ("old-back.png", old_back, "image/png"),
        },
    )
    first = (await policies(cid))[0]

    # The re-entry form starts from the current details.
    page = text(await http.get("/insurance"))
    form = page[page.index('<form id="insurance-form"') :]
    assert 'value="Blue Harbor Health"' in form and 'value="XKW 123-4567"' in form
    assert "Leave a side empty to keep the image you sent before, if the company" in form

    new_front = factories.image("JPEG", "orange")
    data = {**GOOD, "payer": "Lighthouse Mutual", "member_id": "LM-998877", "plan": ""}
    r = await post_details(http, data, files={"card_front": ("new.jpg", new_front, "image/jpeg")})
    assert r.status_code == 303

    rows = await policies(cid)
    assert len(rows) == 2
    old, new = rows
    assert old["id"] == first["id"] and old["replaced_at"] is not None
    assert old["payer"] == "Blue Harbor Health" and old["card_front"] == first["card_front"]
    assert new["replaced_at"] is None and new["payer"] == "Lighthouse Mutual"
    assert new["card_front"] != old["card_front"]
    # A new company's policy has only the images given for it, not the old card's back.
    assert new["card_back"] is None and old["card_back"] == first["card_back"]
    assert (await insurance.current_policy(cid))["id"] == new["id"]

    page = text(await http.get("/insurance"))
    current = page[page.index('id="ins-current-h"') : page.index('id="ins-history-h"')]
    history = page[page.index('id="ins-history-h"') :]
    assert "Lighthouse Mutual" in current and "Blue Harbor Health" not in current
    assert '<h2 id="ins-history-h">Earlier insurance</h2>' in page
    assert "Blue Harbor Health" in history and "XKW 123-4567" in history
    # The earlier card images stay viewable.
    assert (await http.get(f"/insurance/cards/{old['card_front']}")).content == old_front

    events = (
        await AuditEvent.select()
        .where(AuditEvent.action == "insurance.saved")
        .order_by(AuditEvent.id)
    )
    detail = events[-1]["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["replaced_policy"] == old["id"] and detail["policy"] == new["id"]
    assert detail["old"]["payer"] == "Blue Harbor Health"
    assert detail["old"]["member_id"] == "XKW 123-4567"
    assert detail["new"]["payer"] == "Lighthouse Mutual"
    assert detail["new"]["card_back"] is None and detail["old"]["card_back"] == old["card_back"]
    assert detail["old_choice"] == "insured"
    page = text(await http.get("/insurance"))
    current = page[page.index('id="ins-current-h"') : page.index('id="ins-history-h"')]
    assert card_ids(current) == [new["card_front"]]


async def test_a_new_company_without_new_images_has_no_card_images(http):
    env = await setup(http)
    cid = env["client"]["client_id"]
    files = {
        "card_front": ("front.png", factories.image("PNG", "red"), "image/png"),
        "card_back": ("back.png", factories.image("PNG", "green"), "image/png"),
    }
    await post_details(http, files=files)
    data = {**GOOD, "payer": "Lighthouse Mutual", "member_id": "LM-998877"}
    assert (await post_details(http, data)).status_code == 303
    old, new = await policies(cid)
    assert old["card_front"] and old["card_back"]
    assert (new["card_front"], new["card_back"]) == (None, None)
    page = text(await http.get("/insurance"))
    current = page[page.index('id="ins-current-h"') : page.index('id="ins-history-h"')]
    assert card_ids(current) == []
    # The old card stays with the old policy, still viewable.
    assert (await http.get(f"/insurance/cards/{old['card_front']}")).status_code == 200


async def test_the_same_card_re_entered_keeps_its_images(http):
    env = await setup(http)
    cid = env["client"]["client_id"]
    files = {
        "card_front": ("front.png", factories.image("PNG", "red"), "image/png"),
        "card_back": ("back.png", factories.image("PNG", "green"), "image/png"),
    }
    await post_details(http, files=files)
    # Same payer and member id (written a little differently), a corrected plan and group.
    data = {**GOOD, "payer": "blue harbor  health", "member_id": "xkw1234567", "plan": "PPO Silver"}
    new_back = factories.image("PNG", "blue")
    r = await post_details(http, data, files={"card_back": ("b2.png", new_back, "image/png")})
    assert r.status_code == 303
    old, new = await policies(cid)
    assert new["card_front"] == old["card_front"]  # not chosen again: the same card's image
    assert new["card_back"] != old["card_back"]
    assert (await http.get(f"/insurance/cards/{new['card_back']}")).content == new_back


async def test_no_longer_insured_keeps_the_policy_as_history(http):
    env = await setup(http)
    cid = env["client"]["client_id"]
    await post_details(http)
    r = await post_none(http, htmx=True)
    assert r.status_code == 200
    body = text(r)
    assert "Saved: you have no insurance" in body
    assert "Earlier insurance" in body and "Blue Harbor Health" in body
    assert await choice(cid) == "none"
    assert await insurance.current_policy(cid) is None
    assert len(await insurance.history(cid)) == 1


async def test_two_saves_at_once_leave_one_current_policy(app, http):
    env = await setup(http)
    cid = env["client"]["client_id"]
    async with signed_in(app, "alice") as other:
        results = await asyncio.gather(
            post_details(http, {**GOOD, "payer": "First Payer"}),
            post_details(other, {**GOOD, "payer": "Second Payer"}),
        )
    assert [r.status_code for r in results] == [303, 303]
    rows = await policies(cid)
    assert len(rows) == 2
    assert sum(1 for r in rows if r["replaced_at"] is None) == 1


async def test_current_policy_reads_any_clients_primary_insurance():
    """What a staff page will call: the current policy by client id, nothing of the others."""
    p = await factories.practice()
    alice = await factories.client(p, "alice")
    bob = await factories.client(p, "bob")
    now = utcnow()
    details, errors = insurance.validate(GOOD, today=now.date())
    assert not errors
    card = insurance.check_card(factories.image("PNG"), "bob.png")
    assert isinstance(card, Checked)
    await insurance.save(
        bob["client_id"], details, cards={"front": card}, actor=Actor.system(), now=now
    )
    assert await insurance.current_policy(alice["client_id"]) is None
    current = await insurance.current_policy(bob["client_id"])
    assert current["payer"] == "Blue Harbor Health" and current["card_front_name"] == "bob.png"
    assert await insurance.card_for_client(alice["client_id"], current["card_front"]) is None
    assert (await insurance.card_for_client(bob["client_id"], current["card_front"]))["data"]


# --- Who may see what ----------------------------------------------------------------------


async def test_another_clients_card_image_is_404(app, http):
    env = await setup(http)
    await factories.client(env["practice"], "bob")
    async with signed_in(app, "bob") as bob_http:
        r = await post_details(
            bob_http,
            {**GOOD, "subscriber_name": "Bob Tester"},
            files={"card_front": ("bob.png", factories.image("PNG"), "image/png")},
        )
        assert r.status_code == 303
        bob_card = card_ids(text(await bob_http.get("/insurance")))[0]
        assert (await bob_http.get(f"/insurance/cards/{bob_card}")).status_code == 200

    r = await http.get(f"/insurance/cards/{bob_card}")
    assert r.status_code == 404
    assert "Bob" not in r.text and r.headers["content-type"].startswith("text/html")
    assert (await http.get("/insurance/cards/999999")).status_code == 404
    # A file Alice may have stored elsewhere is still not a card of hers.
    loose = await StoredFile.insert(
        StoredFile(content_type="image/png", display_name="x.png", size=1, sha256="0" * 64,
                   data=b"x", uploaded_by=env["client"]["user_id"], created_at=utcnow())
    ).returning(StoredFile.id)  # fmt: skip
    assert (await http.get(f"/insurance/cards/{loose[0]['id']}")).status_code == 404
    # Alice's page shows nothing of Bob's.
    assert "Bob Tester" not in text(await http.get("/insurance"))


async def test_strangers_and_staff_and_forged_posts(app, http):
    from tests.conftest import client_for

    env = await setup(http)
    async with client_for(app) as stranger:
        r = await stranger.get("/insurance")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert (await stranger.get("/insurance/cards/1")).status_code == 303
    await factories.staff("owner")
    async with signed_in(app, "owner") as staff:
        assert (await staff.get("/insurance")).status_code == 403
    # No CSRF token: refused, nothing written.
    r = await http.post("/insurance/none", data={})
    assert r.status_code == 403
    r = await http.post("/insurance", data=GOOD)
    assert r.status_code == 403
    assert await choice(env["client"]["client_id"]) == ""

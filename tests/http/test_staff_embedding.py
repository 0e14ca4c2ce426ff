"""Staff › Embedding over HTTP: the allowed origins, API tokens made (shown once), used and
revoked in the browser by an owner or manager; and valid HTML for the page, the embedded
widgets and the frame."""

from __future__ import annotations

import json
import re

from portal.tables import ApiToken, AuditEvent
from portal.tables.accounts import Role
from tests import factories
from tests.http.test_embed import ORIGIN, bearer, frame_of, new_session, world
from tests.http.test_html_valid import as_document, check, required_vnu_jar
from tests.web import Page, post_form, sign_in, signed_in

PAGE = "/staff/settings/embedding"


async def make_token(http, **typed) -> object:
    data = {"name": "EHR billing screen", "days": "30", **typed}
    return await post_form(http, f"{PAGE}/tokens", data, page=PAGE)


async def test_a_manager_makes_a_token_sees_it_once_and_revoking_it_stops_it(http, app):
    w = await world()
    await sign_in(http, "marcus")
    page = Page(await http.get(PAGE))
    assert page.status_code == 200 and "No tokens yet." in page.text and "How to embed" in page.text
    r = await make_token(http, user=str(w["ana"]), scopes=["read"])
    token = re.search(r'id="new-token" type="text" readonly value="(pt_[^"]+)"', r.text).group(1)
    assert r.status_code == 200 and "shown only this once" in Page(r).text
    again = Page(await http.get(PAGE))
    assert token not in again.raw and token[:7] in again.text and "drana" in again.text
    assert (
        await http.get(f"/embed/clients/{w['alice']}/balance", headers=bearer(token))
    ).status_code == 200
    [row] = await ApiToken.select()
    r = await post_form(http, f"{PAGE}/tokens/{row['id']}/revoke", {}, page=PAGE)
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?done=revoked"
    assert "Revoked" in Page(await http.get(f"{PAGE}?done=revoked")).text
    assert (
        await http.get(f"/embed/clients/{w['alice']}/balance", headers=bearer(token))
    ).status_code == 401
    actions = [e["action"] for e in await AuditEvent.select().order_by(AuditEvent.id)]
    assert {"api_token.created", "api_token.used", "api_token.revoked"} <= set(actions)
    assert (await post_form(http, f"{PAGE}/tokens/999999/revoke", {}, page=PAGE)).status_code == 404


async def test_bad_token_and_origin_input_is_named_by_field_and_kept(http):
    await world()
    await sign_in(http, "marcus")
    r = await make_token(http, name="", user="", days="999")
    page = Page(r)
    assert r.status_code == 422 and "Name the token" in page.text
    assert "Choose the staff member" in page.text and "from 1 to 366" in page.text
    assert "Choose what the token may do" in page.text and 'value="999"' in r.text
    assert await ApiToken.count() == 0
    r = await post_form(http, f"{PAGE}/origins",
                        {"embed_origins": "https://ok.example\nhttp://plain.example"}, page=PAGE)  # fmt: skip
    assert r.status_code == 422 and "use https" in Page(r).text
    assert "https://ok.example\nhttp://plain.example" in Page(r).text  # kept as typed
    r = await post_form(http, f"{PAGE}/origins",
                        {"embed_origins": f"{ORIGIN}\nhttps://Desk.Example:443/"}, page=PAGE)  # fmt: skip
    assert r.status_code == 303
    page = Page(await http.get(f"{PAGE}?done=origins"))
    assert "https://desk.example" in page.text and "saved" in page.text
    # The list is the one the framing and CORS headers follow, at once.
    r = await http.get("/embed/embed.js", headers={"Origin": "https://desk.example"})
    assert (
        "frame-ancestors https://intranet.example https://desk.example"
        in (r.headers["content-security-policy"])
    )


async def test_other_staff_and_clients_cannot_reach_embedding_settings(app):
    await world()
    for who in ("drana", "priya", "alice"):
        async with signed_in(app, who) as http:
            assert (await http.get(PAGE)).status_code == 403, who
            r = await post_form(http, f"{PAGE}/tokens", {"name": "x"}, page="/")
            assert r.status_code == 403, who
    assert await ApiToken.count() == 0


async def test_the_pages_and_widgets_are_valid_html(app, http, tmp_path):
    jar = required_vnu_jar()
    w = await world()
    await factories.staff("owner", Role.owner)
    docs = {}
    await sign_in(http, "owner")
    docs["page settings"] = (await http.get(PAGE)).text
    docs["page new token"] = (
        await make_token(http, user=str(w["ana"]), scopes=["read", "embed"])
    ).text
    token = re.search(r'readonly value="(pt_[^"]+)"', docs["page new token"]).group(1)
    for widget in ("balance", "appointments", "tasks", "insurance", "forms", "messages", "contact"):
        r = await http.get(f"/embed/clients/{w['alice']}/{widget}", headers={"HX-Request": "true"})
        assert r.status_code == 200, widget
        docs[f"fragment {widget}"] = as_document(r.text)
    made = await new_session(http, token, client=w["alice"], widgets=["balance", "appointments"],
                             actions=True, origin=ORIGIN, theme={"accent": "#0a5533"})  # fmt: skip
    docs["page frame"], _ = await frame_of(http, made["secret"])
    docs["page refused"] = (await http.post("/embed/start", data={"secret": made["secret"]})).text
    assert not check(jar, docs, tmp_path), json.dumps(check(jar, docs, tmp_path), indent=1)

"""My Profile's section pages over HTTP: one page and URL per section.

Each section answers as a whole page (no JavaScript, a reload, Back) and, for htmx
following a menu link, as the section area's fragment with the menu sent out of band.
The menu comes before the section's form and marks the page shown with
aria-current="page". A POST on a section answers that section. Each page costs the
session query and its own section's queries, nothing for the other sections.
"""

from __future__ import annotations

import re

import pytest

from portal.core.diagnostics import count_queries
from tests import factories
from tests.web import post_form, sign_in, signed_in

# path, the menu entry's id, something only that section shows
SECTIONS = [
    ("/profile", "overview", "About you"),
    ("/profile/phones", "phones", "Add a phone number"),
    ("/profile/emails", "emails", "Add an email address"),
    ("/profile/reminders", "reminders", "Save reminder settings"),
    ("/profile/contacts", "contacts", "Add a contact"),
    ("/profile/photo-id", "photo_id", "Save photo ID"),
    ("/profile/username-password", "account", "Change password"),
]
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver.local/profile"}


@pytest.fixture
async def alice(http):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    client = await factories.client(p, "alice", first_name="Alice")
    await sign_in(http, "alice")
    return client


def current(html: str) -> list[str]:
    """The ids of the menu entries marked as the page shown."""
    return re.findall(r'<a id="profile-menu-([a-z_]+)"[^>]*aria-current="page"', html)


def menu_then_form(html: str) -> tuple[int, int]:
    return html.index('id="profile-menu"'), html.index("<form", html.index('id="profile-section"'))


@pytest.mark.parametrize(("path", "key", "shown"), SECTIONS)
async def test_each_section_is_a_page_and_a_fragment(http, alice, path, key, shown):
    page = await http.get(path)
    assert page.status_code == 200 and "<html" in page.text and shown in page.text
    assert current(page.text) == [key]
    assert "<h1>My Profile</h1>" in page.text
    # The other sections are not on this page.
    others = [s for p, _, s in SECTIONS if p != path and s != "About you"]
    assert not [s for s in others if s in page.text], path
    if key != "overview":  # the overview has no form of its own
        menu, form = menu_then_form(page.text)
        assert menu < form, "the menu comes before the section's form"

    fragment = await http.get(path, headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert shown in fragment.text and 'id="profile-section"' not in fragment.text
    # The menu comes along out of band, marking this section, and the title follows.
    assert re.search(r'<nav [^>]*id="profile-menu"[^>]*hx-swap-oob="true"', fragment.text)
    assert current(fragment.text) == [key]
    assert "My Profile" in re.search(r"<title>([^<]*)</title>", fragment.text).group(1)


async def test_the_menu_links_load_the_section_with_htmx_and_push_the_url(http, alice):
    page = (await http.get("/profile/phones")).text
    for path, key, _ in SECTIONS:
        link = re.search(rf'<a id="profile-menu-{key}"[^>]*>', page).group(0)
        assert f'href="{path}"' in link and f'hx-get="{path}"' in link
        assert 'hx-target="#profile-section"' in link and 'hx-push-url="true"' in link
    # The pages of their own stay plain links (a whole page, no #profile-section there).
    for path in ("/profile/two-factor", "/profile/login-history", "/profile/sessions"):
        assert re.search(rf'<a href="{path}"[^>]*>', page)
        other = await http.get(path)
        assert other.status_code == 200
        assert "hx-get=" not in re.search(r'<nav class="submenu".*?</nav>', other.text, re.S)[0]
        main = other.text.index('id="main"')
        assert other.text.index('id="profile-menu"', main) < other.text.index("<section", main)


async def test_the_overview_marks_only_itself_and_keeps_the_old_anchors(http, alice):
    page = (await http.get("/profile")).text
    assert current(page) == ["overview"]
    assert 'aria-current="page">Username and password' not in page
    # /profile#phones and the like, from the one-page profile, land on a link to the section.
    for anchor, path in [
        ("phones", "/profile/phones"),
        ("emails", "/profile/emails"),
        ("reminders", "/profile/reminders"),
        ("contacts", "/profile/contacts"),
        ("photo-id", "/profile/photo-id"),
        ("account", "/profile/username-password"),
        ("password-card", "/profile/username-password"),
    ]:
        assert re.search(rf'id="{anchor}"[^>]*>.*?href="{path}"', page, re.S), anchor
    # An old no-JS redirect (/profile?done=KEY) goes on to its section's page.
    for done, path in [
        ("phone-added", "/profile/phones"),
        ("photo-id", "/profile/photo-id"),
        ("username", "/profile/username-password"),
    ]:
        r = await http.get(f"/profile?done={done}")
        assert r.status_code == 303 and r.headers["location"] == f"{path}?done={done}"
    # A made-up key is just the overview, with no words from the link.
    r = await http.get("/profile?done=<b>hacked</b>")
    assert r.status_code == 200 and "hacked" not in r.text


async def test_a_post_on_a_section_answers_that_section(http, alice):
    # Without JavaScript: a redirect to the section's page, which shows the notice.
    r = await post_form(
        http, "/profile/emails", {"address": "alice@home.example"}, page="/profile/emails"
    )
    assert r.status_code == 303 and r.headers["location"] == "/profile/emails?done=email-added"
    page = await http.get(r.headers["location"])
    assert "Email address added." in page.text and current(page.text) == ["emails"]
    # A 422 without JavaScript: the section's page with the message and what was typed.
    r = await post_form(http, "/profile/emails", {"address": "not-an-address"}, page="/profile")
    assert r.status_code == 422 and "<html" in r.text and current(r.text) == ["emails"]
    assert 'value="not-an-address"' in r.text and "Add a contact" not in r.text
    # With htmx: the section's card alone, for success and for a 422.
    r = await post_form(
        http, "/profile/phones", {"kind": "mobile", "number": "(617) 555-0142"}, htmx=True
    )
    assert r.status_code == 200 and "<html" not in r.text and 'id="phones"' in r.text
    assert "Phone number added." in r.text and 'id="profile-menu"' not in r.text
    r = await post_form(http, "/profile/phones", {"kind": "mobile", "number": "12"}, htmx=True)
    assert r.status_code == 422 and "<html" not in r.text and 'id="phones"' in r.text
    # Username and password: their own section page.
    r = await post_form(
        http,
        "/profile/password",
        {
            "current_password": "wrong",
            "new_password": "a new passphrase",
            "new_password_again": "x",
        },
        page="/profile/username-password",
    )
    assert r.status_code == 422 and current(r.text) == ["account"]
    assert "Add a phone number" not in r.text


async def test_each_section_page_costs_only_its_own_queries(http, app, alice):
    await post_form(http, "/profile/phones", {"kind": "mobile", "number": "6175550142"})
    counts = {}
    for path, _, _ in SECTIONS:
        await http.get(path)  # warm
        with count_queries(app.state.engine) as seen:
            assert (await http.get(path)).status_code == 200
        with count_queries(app.state.engine) as seen_fragment:
            assert (await http.get(path, headers=HTMX)).status_code == 200
        counts[path] = (len(seen), len(seen_fragment))
        # No section reads another section's table.
        tables = {"phones": "client_phone", "emails": "client_email", "contacts": "client_contact"}
        for key, table in tables.items():
            if not path.endswith(key):
                assert not [q for q in seen + seen_fragment if f'"{table}"' in q], (path, table)
    # The session query (with the user and the client), the left menu's counts on a whole
    # page (one query), and the section's own: none for the overview and the username and
    # password, one for each detail section.
    assert counts["/profile"] == (2, 1), counts
    assert counts["/profile/username-password"] == (2, 1), counts
    for path in ("phones", "emails", "reminders", "contacts", "photo-id"):
        assert counts[f"/profile/{path}"] == (3, 2), counts


async def test_staff_see_the_sign_in_sections_only(app):
    await factories.practice(two_factor_policy="nobody")
    await factories.staff("ownr")
    async with signed_in(app, "ownr") as staff:
        page = await staff.get("/profile")
        assert page.status_code == 200 and "About you" not in page.text
        assert 'id="profile-menu-phones"' not in page.text
        assert current(page.text) == ["overview"]
        page = await staff.get("/profile/username-password")
        assert page.status_code == 200 and current(page.text) == ["account"]
        assert (await staff.get("/profile/phones")).status_code == 403

"""Help: the guide page and the Client Portal Guide PDF, one content, linked contents."""

from __future__ import annotations

import html
import io
import re

from pypdf import PdfReader

from portal.handlers.help import PDF_NAME, SECTIONS
from tests import factories
from tests.conftest import client_for
from tests.web import sign_in, signed_in

PDF_URL = f"/help/{PDF_NAME}"


async def setup(http) -> None:
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142"
    )
    await factories.client(p, "alice")
    await sign_in(http, "alice")


def menu_links(page: str) -> list[str]:
    nav = page[page.index('<nav class="menu"') : page.index("</nav>")]
    return re.findall(r'<a href="([^"]+)"', nav)


def pdf_text_lines(page) -> list[tuple[float, str]]:
    """(y, text) of each piece of text on a PDF page."""
    parts: list[tuple[float, str]] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            parts.append((cm[5], text.strip()))

    page.extract_text(visitor_text=visit)
    return parts


async def test_help_page_has_linked_contents_and_every_section(http):
    await setup(http)
    r = await http.get("/help")
    assert r.status_code == 200
    page = html.unescape(r.text)
    assert "<h1>Help: using the client portal</h1>" in page
    toc = page[page.index('<nav class="help-toc"') :]
    toc = toc[: toc.index("</nav>")]
    assert re.findall(r'<a href="#([^"]+)">([^<]+)</a>', toc) == SECTIONS
    for section_id, title in SECTIONS:
        # Each target exists once, and is the section's heading.
        assert page.count(f'id="{section_id}"') == 1, section_id
        assert f'<h2 id="{section_id}">{title}</h2>' in page
    assert f'href="{PDF_URL}"' in page
    # The page's links are the portal's own, relative.
    assert 'href="/schedule"' in page and 'href="/insurance"' in page
    assert "testserver.local" not in page


async def test_every_menu_entry_is_described_in_the_guide(http):
    """The guide keeps up with the menu: each entry's page is linked from the guide."""
    await setup(http)
    page = (await http.get("/help")).text
    guide = page[page.index('<nav class="help-toc"') :]
    entries = menu_links(page)
    assert "/help" in entries and PDF_URL in entries and "/insurance" in entries
    for href in entries:
        if href in ("/help", PDF_URL):
            continue
        assert f'href="{href}"' in guide, f"the guide says nothing of the menu's {href}"


async def test_menu_has_help_and_the_pdf_for_staff_too(app):
    await factories.practice(two_factor_policy="nobody")
    await factories.staff("owner")
    async with signed_in(app, "owner") as staff:
        entries = menu_links((await staff.get("/help")).text)
        assert "/help" in entries and PDF_URL in entries
        assert "/insurance" not in entries  # a client's page
        assert (await staff.get(PDF_URL)).status_code == 200


async def test_guide_pdf_has_every_section_and_contents_linking_to_them(http):
    await setup(http)
    r = await http.get(PDF_URL)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="{PDF_NAME}"'
    reader = PdfReader(io.BytesIO(r.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Client Portal Guide" in text and "Harbor Counseling" in text
    # The same words as the page (one partial renders both).
    assert "The Tasks list on the Dashboard shows what you should do next" in text
    lines = [pdf_text_lines(p) for p in reader.pages]
    for _, title in SECTIONS:
        headings = [i for i, page in enumerate(lines) if any(t == title for _, t in page)]
        assert headings, f"no heading {title!r} in the PDF"

    # The contents' links: one per section, in order, each to the place its heading is.
    page_of = {p.indirect_reference.idnum: i for i, p in enumerate(reader.pages)}
    first = reader.pages[0]
    internal = [a.get_object() for a in first.get("/Annots") or []]
    internal = [a for a in internal if a.get("/Subtype") == "/Link" and "/Dest" in a]
    assert len(internal) >= len(SECTIONS)
    for (_, title), link in zip(SECTIONS, internal, strict=False):
        target, _fit, _x, y = link["/Dest"][0], link["/Dest"][1], link["/Dest"][2], link["/Dest"][3]
        at = page_of[target.idnum]
        near = [t for ty, t in lines[at] if y - 45 <= ty <= y]
        assert title in near, f"the contents link for {title!r} leads to {near} on page {at + 1}"

    # Links to portal pages are absolute, so they work from a saved file.
    uris = [
        a.get_object()["/A"]["/URI"]
        for p in reader.pages
        for a in p.get("/Annots") or []
        if "/A" in a.get_object()
    ]
    assert "http://testserver.local/insurance" in uris
    assert "http://testserver.local/schedule" in uris
    assert all(u.startswith("http://testserver.local/") for u in uris), uris


async def test_help_needs_signing_in(app):
    async with client_for(app) as stranger:
        for path in ("/help", PDF_URL):
            r = await stranger.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path

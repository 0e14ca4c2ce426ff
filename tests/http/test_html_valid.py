"""Every page and fragment a client reaches is valid HTML, by the W3C Nu HTML checker.

A signed-in client with a bit of everything (appointments, a balance, a thread with
replies, open forms, insurance, profile details) walks the portal from the dashboard:
every same-origin link found is fetched as a page, and again as htmx asks for it (the
fragment, wrapped in a minimal document). The widgets, a schedule with a provider chosen
and the signed-out pages are added by hand. All of it goes to `vnu.jar` in one run.

htmx's attributes (`hx-*`, `hx-*:inherited`) are not HTML's: the checker's messages about
them are dropped; any other error fails the test.

The checker is `vnu-jar` from npm; `scripts/test.sh` installs it and passes its path in
`PORTAL_TEST_VNU` (default: where it installs it). Missing, the test is skipped, except
under CI=true (or PORTAL_TEST_STRICT=1), where it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import urldefrag, urlencode, urlsplit

import pytest

from portal.demo.practice import DEMO_FORMS
from portal.forms import loader as forms
from tests import factories, scenes
from tests.conftest import client_for
from tests.web import post_form, sign_in

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VNU = ROOT / ".venv/vnu/node_modules/vnu-jar/build/dist/vnu.jar"
WIDGETS = ["tasks", "two-factor", "appointments", "balance"]
# Not HTML, or not to be followed: downloads, images, calendars, PDFs, signing out.
SKIP = re.compile(
    r"(\.pdf|\.ics|/pdf|/calendar\.ics|/attachments/\d+|/cards/\d+|/photo-id/\w+|/static/|"
    r"/logout|/help/[^/]+\.pdf)$|^/static/"
)
HX_ATTRIBUTE = re.compile(r"[Aa]ttribute “hx-[a-z-]+(:inherited)?”|“hx-[a-z-]+(:inherited)?”")


def vnu_jar() -> Path | None:
    given = os.environ.get("PORTAL_TEST_VNU")
    path = Path(given) if given else DEFAULT_VNU
    return path if path.is_file() and shutil.which("java") else None


def required_vnu_jar() -> Path:
    """vnu.jar, or the test skipped (failed under CI=true or PORTAL_TEST_STRICT=1)."""
    jar = vnu_jar()
    if jar is None:
        if os.environ.get("CI") == "true" or os.environ.get("PORTAL_TEST_STRICT") == "1":
            pytest.fail("the Nu HTML checker (PORTAL_TEST_VNU, vnu.jar, java) is missing")
        pytest.skip("no Nu HTML checker: set PORTAL_TEST_VNU to vnu.jar (scripts/test.sh does)")
    return jar


async def seed(settings) -> dict:  # noqa: ANN001
    """Alice with a bit of everything, so each page shows its full markup."""
    return await scenes.alice_with_everything(settings, lambda: forms.load_file(DEMO_FORMS))


async def fill_profile(http) -> None:  # noqa: ANN001
    """The profile's sections and insurance, through their own forms."""
    png = ("card.png", factories.image("PNG"), "image/png")
    posts = [
        ("/profile/phones", {"kind": "mobile", "number": "(617) 555-0199"}, None),
        ("/profile/emails", {"address": "alice.work@mail.example"}, None),
        ("/profile/contacts", {"name": "Bob Tester", "relationship": "Spouse", "phone": "(617) 555-0123"}, None),
        ("/profile/photo-id", {}, {"front": png}),
        ("/insurance", {"payer": "Aetna", "member_id": "W123", "subscriber_name": "Alice Tester",
                        "subscriber_date_of_birth": "1985-03-14", "subscriber_relationship": "self"},
         {"card_front": png}),
    ]  # fmt: skip
    for path, data, files in posts:
        r = await post_form(http, path, data, files=files)
        assert r.status_code == 303, f"seeding {path} answered {r.status_code}"


def links(html: str, base: str) -> set[str]:
    """Same-origin GET targets: links, and forms with method get."""
    found = set(re.findall(r'<a\b[^>]*\bhref="([^"#][^"]*)"', html))
    found |= set(re.findall(r'\bhx-get="([^"]+)"', html))
    found |= set(get_forms(html))
    out = set()
    for href in found:
        href = urldefrag(html_unescape(href))[0]
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/"):
            continue
        if SKIP.search(parts.path):
            continue
        out.add(href)
    return out


def get_forms(html: str) -> list[str]:
    """Forms with method get, submitted as they stand (their inputs' values)."""
    out = []
    for attrs, body in re.findall(r'<form\b([^>]*\bmethod="get"[^>]*)>(.*?)</form>', html, re.S):
        action = re.search(r'\baction="([^"]*)"', attrs)
        if not action:
            continue
        fields = []
        for tag in re.findall(r"<input\b[^>]*>", body):
            name, value = re.search(r'\bname="([^"]*)"', tag), re.search(r'\bvalue="([^"]*)"', tag)
            if name and not re.search(r'type="(submit|checkbox|radio)"', tag):
                fields.append((name.group(1), html_unescape(value.group(1)) if value else ""))
        for name, options in re.findall(
            r'<select\b[^>]*\bname="([^"]*)"[^>]*>(.*?)</select>', body, re.S
        ):
            chosen = re.search(r'<option\b[^>]*\bvalue="([^"]*)"[^>]*\bselected', options)
            chosen = chosen or re.search(r'<option\b[^>]*\bvalue="([^"]*)"', options)
            fields.append((name, html_unescape(chosen.group(1)) if chosen else ""))
        out.append(
            f"{html_unescape(action.group(1))}?{urlencode(fields)}" if fields else action.group(1)
        )
    return out


def as_document(fragment: str) -> str:
    """A fragment in a minimal page; a leading <title> (htmx sets the page's title from
    it) goes to the head, where the browser's page has it."""
    title = re.match(r"\s*(<title>.*?</title>)", fragment, re.S)
    if title:
        fragment = fragment[title.end() :]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"{title.group(1) if title else '<title>fragment</title>'}</head><body>{fragment}</body></html>"
    )


async def collect(app, settings) -> dict[str, str]:  # noqa: ANN001
    """name -> the HTML document to check."""
    env = await seed(settings)
    docs: dict[str, str] = {}
    async with client_for(app) as nobody:
        for path in ["/login", "/password-reset", "/password-reset/not-a-token"]:
            r = await nobody.get(path)
            assert "text/html" in r.headers["content-type"], path
            docs[f"signed out {path}"] = r.text
    async with client_for(app) as http:
        await sign_in(http, "alice")
        await fill_profile(http)
        picked = f"/schedule?provider={env['provider']}&service={env['service']}"
        queue = ["/", picked, *(f"/dashboard/widgets/{w}" for w in WIDGETS)]
        seen: set[str] = set()
        while queue:
            path = queue.pop(0)
            if path in seen or len(seen) > 120:
                continue
            seen.add(path)
            page = await http.get(path)
            if page.status_code in (301, 302, 303, 307):
                queue.append(page.headers["location"])
                continue
            if "text/html" not in page.headers.get("content-type", ""):
                continue
            assert page.status_code == 200, f"{path} answered {page.status_code}"
            if not path.startswith("/dashboard/widgets/"):
                docs[f"page {path}"] = page.text
                queue += sorted(links(page.text, path) - seen)
            fragment = await http.get(
                path, headers={"HX-Request": "true", "HX-Current-URL": "http://testserver.local/"}
            )
            if fragment.status_code == 200 and "<!DOCTYPE" not in fragment.text[:200].upper():
                docs[f"fragment {path}"] = as_document(fragment.text)
        # The insurance form with every field in error, as a page and as htmx's fragment.
        for htmx in (False, True):
            r = await post_form(
                http, "/insurance", {"subscriber_relationship": "nobody"}, page="/insurance",
                files={"card_front": ("", b"", "application/octet-stream")}, htmx=htmx,
            )  # fmt: skip
            assert r.status_code == 422, r.status_code
            docs[f"{'fragment' if htmx else 'page'} /insurance, refused"] = (
                as_document(r.text) if htmx else r.text
            )
    return docs


def check(jar: Path, docs: dict[str, str], folder: Path) -> list[str]:
    """Run the checker once over every document; the errors not about htmx's attributes."""
    names = {}
    for i, (name, text) in enumerate(sorted(docs.items())):
        f = folder / f"{i:03d}.html"
        f.write_text(text, encoding="utf-8")
        names[f.resolve().as_uri()] = (name, text.splitlines())
    cmd = ["java", "-jar", str(jar), "--errors-only", "--format", "json", "--stdout"]
    done = subprocess.run(
        [*cmd, *(str(folder / f"{i:03d}.html") for i in range(len(docs)))],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.stdout.strip(), f"the checker answered nothing: {done.stderr[-2000:]}"
    report = json.loads(done.stdout)
    errors = []
    for m in report["messages"]:
        if m.get("type") not in ("error", "non-document-error"):
            continue
        if HX_ATTRIBUTE.search(m.get("message", "")):
            continue
        uri = m.get("url", "")
        name, lines = names.get(uri, names.get(uri.replace("file:/", "file:///"), (uri, [])))
        line = m.get("lastLine", 0)
        source = lines[line - 1].strip()[:160] if 0 < line <= len(lines) else ""
        errors.append(f"{name} line {line}: {m['message']}\n    {source}")
    return errors


async def test_every_page_and_fragment_a_client_reaches_is_valid_html(app, settings, tmp_path):
    jar = required_vnu_jar()
    docs = await collect(app, settings)
    for must in ("page /", "page /insurance", "page /pay", "page /messages", "page /account",
                 "page /account/cards", "page /forms", "page /profile", "page /help",
                 "signed out /login", "signed out /password-reset"):  # fmt: skip
        assert must in docs, f"{must} was not reached"
    for document in ("receipts/", "statement?", "superbill?", "fsa?"):
        assert any(n.startswith(f"page /account/{document}") for n in docs), document
    assert any(re.match(r"page /messages/\d+$", n) for n in docs), "no thread reached"
    assert any(re.match(r"page /forms/\d+$", n) for n in docs), "no form reached"
    for w in WIDGETS:
        assert f"fragment /dashboard/widgets/{w}" in docs
    errors = await asyncio.to_thread(check, jar, docs, tmp_path)
    assert not errors, f"{len(errors)} HTML errors in {len(docs)} documents:\n" + "\n".join(errors)

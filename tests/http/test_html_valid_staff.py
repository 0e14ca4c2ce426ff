"""Every staff page and fragment the owner of the demo practice reaches is valid HTML, by
the W3C Nu HTML checker, and so are the public registration and invitation pages and the
staff forms refused with every field in error (see tests/http/test_html_valid.py for the
checker and how htmx's attributes are let through)."""

from __future__ import annotations

import asyncio
import re

from portal.demo.practice import seed
from portal.tables import Practice
from tests.conftest import client_for
from tests.http.test_html_valid import SKIP, as_document, check, links, required_vnu_jar
from tests.web import post_form, sign_in

DEMO_PASSWORD = "a demo passphrase for tests"
LIMIT = 160  # pages crawled at most
PER_KIND = 2  # /staff/clients/1 and /staff/clients/2 are one kind of page


async def collect(app) -> dict[str, str]:  # noqa: ANN001
    await seed(DEMO_PASSWORD)
    await Practice.update(
        {Practice.two_factor_policy: "nobody", Practice.self_registration: True}
    ).where(Practice.id > 0)
    docs: dict[str, str] = {}
    async with client_for(app) as nobody:
        for path in ["/register", "/invitations/not-a-token", "/register/verify/not-a-token"]:
            r = await nobody.get(path)
            docs[f"signed out {path}"] = r.text
        r = await post_form(nobody, "/register", {"first_name": ""}, page="/register")
        assert r.status_code == 422, r.status_code
        docs["signed out /register, refused"] = r.text
    async with client_for(app) as http:
        await sign_in(http, "owner", DEMO_PASSWORD)
        queue, seen, kinds = ["/staff"], set(), {}
        while queue and len(seen) < LIMIT:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            page = await http.get(path)
            if page.status_code in (301, 302, 303, 307):
                queue.append(page.headers["location"])
                continue
            if "text/html" not in page.headers.get("content-type", ""):
                continue
            assert page.status_code == 200, f"{path} answered {page.status_code}"
            docs[f"page {path}"] = page.text
            for target in sorted(links(page.text, path) - seen):
                kind = re.sub(r"/\d+", "/{id}", target.split("?", 1)[0])
                if not target.startswith("/staff") or SKIP.search(target):
                    continue
                if kinds.get(kind, 0) < PER_KIND:
                    kinds[kind] = kinds.get(kind, 0) + 1
                    queue.append(target)
            fragment = await http.get(path, headers={"HX-Request": "true"})
            if fragment.status_code == 200 and "<!DOCTYPE" not in fragment.text[:200].upper():
                docs[f"fragment {path}"] = as_document(fragment.text)
        # The new-client form is a plain form (it ends on another page): refused, the page.
        r = await post_form(
            http, "/staff/clients", {"first_name": "", "email": "not an email"},
            page="/staff/clients/new",
        )  # fmt: skip
        assert r.status_code == 422, r.status_code
        docs["page /staff/clients, refused"] = r.text
    return docs


async def test_every_staff_page_and_fragment_is_valid_html(app, tmp_path):
    jar = required_vnu_jar()
    docs = await collect(app)
    for must in ("page /staff", "page /staff/clients", "page /staff/clients/new",
                 "page /staff/inbox", "page /staff/settings/demographics",
                 "page /staff/settings/registration", "signed out /register",
                 "page /staff/agenda", "page /staff/settings/providers",
                 "page /staff/settings/forms"):  # fmt: skip
        assert must in docs, f"{must} was not reached"
    assert any(n.startswith("page /staff/clients/") and n.endswith("/security") for n in docs)
    assert any(n.startswith("page /staff/inbox/") for n in docs), "no thread reached"
    for reached in ("page /staff/agenda/week", "page /staff/agenda/requests",
                    "page /staff/agenda/book", "page /staff/settings/providers/",
                    "page /staff/settings/forms/", "page /staff/availability/"):  # fmt: skip
        assert any(n.startswith(reached) for n in docs), f"no {reached} reached"
    for kind in ("/billing/ledger", "/billing/documents/"):
        assert any(n.startswith("page /staff/clients/") and kind in n for n in docs), kind
    errors = await asyncio.to_thread(check, jar, docs, tmp_path)
    assert not errors, f"{len(errors)} HTML errors in {len(docs)} documents:\n" + "\n".join(errors)

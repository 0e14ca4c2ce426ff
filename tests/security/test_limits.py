"""Limits on requests, as an attacker meets them: bodies and form fields refused before
anything parses them, archives looked at only so far, ids that cannot be ids, forms that
cannot be decoded; and what legitimate users still get through. Plus the static files'
headers."""

from __future__ import annotations

import asyncio
import functools
import io
import re
import time
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from portal.core.clock import utcnow
from portal.core.uploads import DOCX, MAX_BYTES, MAX_ZIP_ENTRIES
from portal.handlers.limits import FORM_BYTES, MAX_FIELDS, upload_bytes
from portal.messaging.sending import MAX_ATTACHMENTS
from portal.tables import FormAssignment, MessageAttachment, StoredFile
from tests import factories
from tests.conftest import client_for
from tests.web import Page, csrf_token, post_form, sign_in

URLENCODED = {"content-type": "application/x-www-form-urlencoded"}
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 30
# The longest a healthy page may wait on an event loop that is not blocked (generous: the
# stalls this file guards against lasted 5 to 16 seconds).
PROMPT = 1.0


class Body:
    """A request body sent in chunks, as a slow client would: counts what the app read."""

    def __init__(self, chunks, *, pause: float = 0.0) -> None:
        self.chunks = chunks
        self.pause = pause
        self.read = 0  # chunks the app asked for
        self.bytes = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            self.bytes += len(chunk)
            yield chunk
            await asyncio.sleep(self.pause)


def form_flood(fields: int, per_chunk: int = 6_500):
    """`fields` urlencoded fields of 10 bytes each ("f0000000=&"), lazily, in chunks."""
    piece = b"f0000000=&"
    sent = 0
    while sent < fields:
        n = min(per_chunk, fields - sent)
        yield piece * n
        sent += n


async def probe_healthz_until(app, task: asyncio.Task, every: float = 0.01) -> list[float]:
    """How long /healthz kept a monitor waiting, asked every `every` seconds until `task` is
    done: from when each probe was due (a blocked event loop delays the probe's own start
    too, as it would delay a monitor's request) to its answer."""
    waits: list[float] = []
    async with client_for(app) as probe:
        due = time.perf_counter()
        while True:
            r = await probe.get("/healthz")
            answered = time.perf_counter()
            waits.append(answered - due)
            assert r.status_code == 200
            if task.done():
                return waits
            due = answered + every
            await asyncio.sleep(every)


def multipart(parts, boundary: str = "portal-test-boundary") -> tuple[dict, bytes]:
    """A multipart body by hand: `parts` are (name, filename or None, bytes[, headers])."""
    out = io.BytesIO()
    for name, filename, data, *extra in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out.write(disposition.encode() + b"\r\n")
        for header in extra:
            out.write(header.encode() + b"\r\n")
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return {"content-type": f"multipart/form-data; boundary={boundary}"}, out.getvalue()


async def alice_with_a_thread(http) -> int:
    """Alice, signed in, with a thread to her provider: the thread's id."""
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    alice = await factories.client(p, "alice")
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz")
    svc = await factories.service(p)
    soon = utcnow() + timedelta(days=3)
    await factories.appointment(alice["client_id"], ruiz["provider_id"], svc, soon)
    await sign_in(http, "alice")
    r = await post_form(
        http,
        "/messages",
        {"to": str(ruiz["user_id"]), "subject": "Hello", "body": "First message"},
        page="/messages/new",
        files=[("attachments", ("", b"", "application/octet-stream"))],
    )
    assert r.status_code == 303, r.text
    return int(re.search(r"/messages/(\d+)", r.headers["location"]).group(1))


# --- 1. Bodies and form fields, refused before parsing ---------------------------------------


async def test_a_30_mb_login_form_is_refused_at_once_without_being_read(http):
    body = Body(form_flood(3_000_000))
    started = time.perf_counter()
    r = await http.post(
        "/login", content=body, headers={**URLENCODED, "content-length": str(30_000_000)}
    )
    took = time.perf_counter() - started
    assert r.status_code == 413
    assert "At most 64 KB can be sent at once here." in Page(r).text
    assert body.read == 0 and took < PROMPT


async def test_a_chunked_form_flood_is_refused_at_its_first_chunk(http):
    # No Content-Length: the fields are counted as they arrive.
    body = Body(form_flood(1_000_000))
    r = await http.post("/login", content=body, headers=URLENCODED)
    assert r.status_code == 400
    assert f"A form here has at most {MAX_FIELDS} fields; this one had more." in Page(r).text
    assert body.read == 1
    # Few fields but many bytes: refused once past the limit, the rest never read.
    body = Body([b"username=" + b"a" * 16_384] + [b"a" * 16_384] * 64)
    r = await http.post("/login", content=body, headers=URLENCODED)
    assert r.status_code == 413 and FORM_BYTES < body.bytes <= FORM_BYTES + 16_384 + 9


async def test_healthz_answers_while_a_form_flood_is_refused(http, app):
    body = Body(form_flood(1_000_000), pause=0.001)
    flood = asyncio.create_task(http.post("/login", content=body, headers=URLENCODED))
    waits = await probe_healthz_until(app, flood)
    assert max(waits) < PROMPT, waits
    assert (await flood).status_code in (400, 413)


async def test_healthz_answers_while_an_oversized_upload_is_refused(http, app):
    thread = await alice_with_a_thread(http)
    token = await csrf_token(http, f"/messages/{thread}")
    headers, head = multipart([("_csrf_token", None, token.encode()), ("body", None, b"Hi")])
    head = head.removesuffix(b"--portal-test-boundary--\r\n")
    head += (
        b'--portal-test-boundary\r\nContent-Disposition: form-data; name="attachments"; '
        b'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n'
    )
    limit = upload_bytes(MAX_ATTACHMENTS)
    chunk = b"\n" * (256 * 1024)
    body = Body([head] + [chunk] * (limit // len(chunk) + 8), pause=0.001)
    upload = asyncio.create_task(
        http.post(f"/messages/{thread}/reply", content=body, headers=headers)
    )
    waits = await probe_healthz_until(app, upload)
    assert max(waits) < PROMPT, waits
    r = await upload
    assert r.status_code == 413 and "At most 54 MB can be sent at once here." in Page(r).text
    assert body.bytes <= limit + 2 * len(chunk)  # it stopped reading at the limit
    assert await MessageAttachment.count() == 0


async def test_an_upload_announcing_more_than_its_route_takes_is_refused_unread(http):
    thread = await alice_with_a_thread(http)
    body = Body([b"x" * 65_536] * 4)
    r = await http.post(
        f"/messages/{thread}/reply",
        content=body,
        headers={
            "content-type": "multipart/form-data; boundary=b",
            "content-length": str(upload_bytes(MAX_ATTACHMENTS) + 1),
        },
    )
    assert r.status_code == 413 and body.read == 0


async def test_without_a_session_an_upload_route_takes_only_a_small_form(http):
    # Its guard would refuse the request anyway: the megabytes are not even read.
    body = Body([b"x" * 65_536] * 16)
    for path in ("/messages/1/reply", "/profile/photo-id", "/insurance", "/forms/1/submit"):
        r = await http.post(
            path,
            content=body,
            headers={
                "content-type": "multipart/form-data; boundary=b",
                "content-length": "1048576",
            },
        )
        assert r.status_code == 413, path
    assert body.read == 0


async def test_the_refusal_is_a_short_page_or_an_htmx_fragment(http):
    big = {**URLENCODED, "content-length": str(FORM_BYTES + 1)}
    page = await http.post("/login", content=b"x" * (FORM_BYTES + 1), headers=big)
    assert page.status_code == 413 and "<html" in page.text
    assert "That is too much to send at once" in Page(page).text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    fragment = await http.post(
        "/login", content=b"x" * (FORM_BYTES + 1), headers={**big, "HX-Request": "true"}
    )
    assert fragment.status_code == 413 and "<html" not in fragment.text
    assert "At most 64 KB can be sent at once here." in Page(fragment).text
    fields = await http.post(
        "/login", content=b"a&" * 300, headers={**URLENCODED, "HX-Request": "true"}
    )
    assert fields.status_code == 400 and "<html" not in fields.text
    assert "at most 200 fields" in Page(fields).text


QUESTIONNAIRE = {
    "slug": "long-history",
    "title": "History",
    "assign": ["alice"],
    "field": [
        *(
            {"name": f"q{i}", "type": "long_text", "label": f"Question {i}", "max_length": 4000}
            for i in range(40)
        ),
        *(
            {
                "name": f"m{j}",
                "type": "multiple_choice",
                "label": f"Symptoms {j}",
                "choices": [f"Symptom {i}" for i in range(50)],
            }
            for j in range(4)
        ),
    ],
}


async def test_legitimate_forms_and_uploads_still_get_through(http):
    from portal.forms import definition, loader

    thread = await alice_with_a_thread(http)  # signing in is a form too
    await loader.apply(definition.parse({"form": [QUESTIONNAIRE]}))
    [assignment] = await FormAssignment.select(FormAssignment.id).where(
        FormAssignment.template.slug == "long-history"
    )
    # 40 long answers in full (160,000 characters, 370 KB as sent) and 4 x 50 ticked options:
    # more bytes and more fields than an ordinary form may send.
    answers: dict = {f"q{i}": "Ünïcödé answer " * 266 for i in range(40)}
    answers.update({f"m{j}": [f"Symptom {i}" for i in range(50)] for j in range(4)})
    r = await post_form(http, f"/forms/{assignment['id']}/draft", answers, page="/forms")
    assert r.status_code == 303, r.text
    stored = (
        await FormAssignment.select(FormAssignment.answers)
        .where(FormAssignment.id == assignment["id"])
        .output(load_json=True)
        .first()
    )
    assert stored["answers"]["q39"] == answers["q39"].strip()
    assert all(len(stored["answers"][f"m{j}"]) == 50 for j in range(4))
    # Five attachments near the 10 MB limit each still go.
    files = [
        ("attachments", (f"scan{i}.pdf", PDF + b"\n" * (MAX_BYTES - len(PDF)), "application/pdf"))
        for i in range(MAX_ATTACHMENTS)
    ]
    r = await post_form(
        http,
        f"/messages/{thread}/reply",
        {"body": "The scans"},
        page=f"/messages/{thread}",
        files=files,
    )
    assert r.status_code == 303, r.text
    assert await MessageAttachment.count() == MAX_ATTACHMENTS


# --- 2. Archives: looked at only so far, off the event loop -----------------------------------


@functools.cache
def zip_of_empty_entries(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for i in range(count):
            z.writestr(zipfile.ZipInfo(f"{i:07}"), b"")
    return out.getvalue()


def real_docx() -> bytes:
    """A Word document as Word writes one (its parts, deflated)."""
    out = io.BytesIO()
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Thought record</w:t></w:r></w:p></w:body></w:document>',
        "word/styles.xml": '<?xml version="1.0"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>',
        "docProps/core.xml": '<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>',
        "docProps/app.xml": '<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"/>',
    }  # fmt: skip
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


async def test_five_zips_of_100000_entries_are_refused_quickly_and_healthz_answers(http, app):
    thread = await alice_with_a_thread(http)
    bomb = zip_of_empty_entries(100_000)
    assert 8_000_000 < len(bomb) < MAX_BYTES
    files = [("attachments", (f"report{i}.docx", bomb, DOCX)) for i in range(MAX_ATTACHMENTS)]
    token = await csrf_token(http, f"/messages/{thread}")
    started = time.perf_counter()
    upload = asyncio.create_task(
        http.post(
            f"/messages/{thread}/reply",
            data={"body": "My reports", "_csrf_token": token},
            files=files,
        )
    )
    waits = await probe_healthz_until(app, upload)
    r = await upload
    took = time.perf_counter() - started
    assert took < 5 and max(waits) < PROMPT, (took, waits)
    assert r.status_code == 422
    assert (
        f"“report0.docx” is an archive of more than {MAX_ZIP_ENTRIES:,} files, "
        "not a Word document." in Page(r).text
    )
    assert await StoredFile.count() == 0


async def test_a_real_docx_is_still_accepted(http):
    thread = await alice_with_a_thread(http)
    r = await post_form(
        http,
        f"/messages/{thread}/reply",
        {"body": "My homework"},
        page=f"/messages/{thread}",
        files=[("attachments", ("Thought record.docx", real_docx(), DOCX))],
    )
    assert r.status_code == 303, r.text
    [stored] = await StoredFile.select(StoredFile.content_type, StoredFile.display_name)
    assert stored == {"content_type": DOCX, "display_name": "Thought record.docx"}


async def test_image_uploads_refuse_a_big_zip_without_opening_it(http):
    await alice_with_a_thread(http)
    bomb = zip_of_empty_entries(100_000)
    started = time.perf_counter()
    r = await post_form(
        http, "/profile/photo-id", page="/profile", files={"front": ("id.png", bomb, "image/png")}
    )
    assert r.status_code == 422 and "is not a JPG, PNG, GIF, BMP file" in Page(r).text
    r = await post_form(
        http,
        "/insurance",
        {
            "payer": "Blue Harbor Health",
            "member_id": "XKW 123-4567",
            "subscriber_name": "Alice Tester",
            "subscriber_date_of_birth": "1986-04-21",
            "subscriber_relationship": "self",
        },
        page="/insurance",
        files={"card_front": ("card.png", bomb, "image/png")},
    )
    assert r.status_code == 422 and "is not a JPG, PNG, GIF, BMP file" in Page(r).text
    assert time.perf_counter() - started < 1.5


# --- 3. Ids that cannot be ids ------------------------------------------------------------------


async def test_ids_out_of_range_are_404_on_every_route_with_an_integer_id(http, app):
    await alice_with_a_thread(http)
    routes = [
        (method, route.path)
        for route in app.routes
        if ":int}" in route.path
        for method in sorted(getattr(route, "methods", ()))
        if method in ("GET", "POST")
    ]
    assert sum(1 for m, _ in routes if m == "GET") >= 9 and len(routes) >= 20
    token = await csrf_token(http, "/")
    for method, path in routes:
        for value in (2**63, 2**63 - 1, 2**31, -1):
            url = re.sub(r"\{\w+:int\}", str(value), path)
            url = re.sub(r"\{\w+:\w+\}", "x", url)
            if method == "GET":
                r = await http.get(url)
            else:
                r = await http.post(url, data={"_csrf_token": token})
            assert r.status_code == 404, (method, url, r.status_code)
            assert "Page not found" in Page(r).text


# --- 4. Forms that cannot be decoded ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/password-reset", "/logout"])
async def test_a_form_part_that_is_not_utf8_is_a_400_even_anonymously(http, path):
    headers, body = multipart([("username", None, b"caf\xe9 \xff\xfe")])
    r = await http.post(path, content=body, headers=headers)
    assert r.status_code == 400
    assert "Part of the form could not be read" in Page(r).text
    # With the token in the header (as htmx sends it) the handler reads the form: the same
    # (sign-out reads no form, so it just signs out).
    token = await csrf_token(http, "/login")
    r = await http.post(
        path, content=body, headers={**headers, "x-csrftoken": token, "HX-Request": "true"}
    )
    if path == "/logout":
        assert r.status_code == 303
    else:
        assert r.status_code == 400 and "<html" not in r.text
        assert "Part of the form could not be read" in Page(r).text
    # A charset that does not exist: the same.
    headers, body = multipart(
        [("username", None, b"alice", "Content-Type: text/plain; charset=nope")]
    )
    r = await http.post(path, content=body, headers=headers)
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("path", "field"), [("/profile/photo-id", "front"), ("/insurance", "card_front")]
)
async def test_a_file_part_without_a_name_holding_an_image_is_a_400(http, path, field):
    await alice_with_a_thread(http)
    token = await csrf_token(http, "/profile")
    headers, body = multipart(
        [("_csrf_token", None, token.encode()), (field, "", PNG, "Content-Type: image/png")]
    )
    r = await http.post(path, content=body, headers=headers)
    assert r.status_code == 400 and "Part of the form could not be read" in Page(r).text
    r = await http.post(
        path, content=body, headers={**headers, "x-csrftoken": token, "HX-Request": "true"}
    )
    assert r.status_code == 400 and "<html" not in r.text
    assert "Part of the form could not be read" in Page(r).text


# --- 6. Static files ------------------------------------------------------------------------------


async def test_static_files_say_their_charset_once_and_a_missing_one_is_not_cached(http):
    page = (await http.get("/login")).text
    css = re.search(r'href="(/static/app\.[0-9a-f]{12}\.css)"', page).group(1)
    js = re.search(r'src="(/static/htmx-4\.0\.1\.min\.[0-9a-f]{12}\.js)"', page).group(1)
    r = await http.get(css)
    assert r.status_code == 200 and r.headers["content-type"] == "text/css; charset=utf-8"
    r = await http.get(js, headers={"accept-encoding": "br"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers.get_list("content-type") == ["text/javascript; charset=utf-8"]
    for missing in ("/static/app.000000000000.css", "/static/nothing-here.js", "/static"):
        r = await http.get(missing)
        assert r.status_code == 404, missing
        assert r.headers["cache-control"] == "no-store", missing

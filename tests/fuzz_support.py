"""What tests/security/test_fuzz.py sends, and how it reads the answers.

- `targets(app)`: every (method, route) of the app's route table: its path parameters and
  their types, the query parameters its handler (and its dependencies) read, whether a
  guard protects it, whether CSRF applies.
- `Page`: the forms of a rendered page (action, method, enctype, each field with the
  values the page offers), its hx-get/hx-post elements (with the fields of the form around
  them) and its links.
- Hostile values, as `Val`s that know the Python expression rebuilding them, and `encode()`,
  which turns fields into a urlencoded or multipart body (lone surrogates and invalid UTF-8
  bytes included), so a failure printed by the test can be replayed: its replay uses only
  this module's names (`from tests.fuzz_support import *`).
- `message_of()`: the human-readable message of a refusal (role="alert", .field-error, or a
  JSON "error"), `Capture`: the server's logged exceptions.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote_from_bytes, urljoin, urlsplit

from hypothesis import strategies as st
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.factories import image

BASE = "http://testserver.local"
BOUNDARY = "fuzzXbOuNdArY7MA4YWxkTrZu0gW"


@dataclass(frozen=True)
class Val:
    """One value to send: `data` (str, maybe with lone surrogates, or raw bytes) and `expr`,
    the Python expression that rebuilds it (short, even for a 100,000-character string)."""

    data: str | bytes
    expr: str
    natural: bool = False  # offered by the page itself


def lit(data: str | bytes, natural: bool = False) -> Val:
    return Val(data, repr(data), natural)


def clip(v: Val, n: int) -> Val:
    return v if len(v.data) <= n else Val(v.data[:n], f"({v.expr})[:{n}]", v.natural)


def _rep(unit: str, n: int) -> Val:
    return Val(unit * n, f"{unit!r} * {n}")


# --- Hostile values -------------------------------------------------------------------------

TEXT = [
    "", " ", "\x00", "a\x00b", "\r\n", "\r\nSet-Cookie: x=1", "\u202e", "\u202egnp.exe",
    "\u200b", "\ufeff", "\u2028", "\x1b[31m", "\x7f", "e\u0301", "\U0001d54f", "👩‍👩‍👧",
    "<script>alert(1)</script>", "' OR '1'='1", "{{7*7}}", "%00", "%s%n", "../../../etc/passwd",
    "null", "[]", "\\", '"', "ＡＬＩＣＥ", "İ", "\ud800", "\udfff", "a\udc80b",
]  # fmt: skip
NUMBERS = [
    "0", "-1", "-0", "1", "9223372036854775807", str(2**63), str(-(2**63) - 1), str(2**64),
    "1" + "0" * 40, "1e309", "-1e309", "1e-400", "NaN", "inf", "0x10", "1_000", "+1", " 1 ",
    "\u0663", "\u00b2", "\u2460", "0.1", "-0.01", "99999999999.99", "1,000.00", "$5",
]  # fmt: skip
DATES = [
    "9999-12-31", "0001-01-01", "0000-00-00", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59+00:00", "2026-02-30", "2026-13-01",
    "+10000-01-01", "-0001-01-01", "1970-01-01T00:00:00Z", "2026-W53", "2026-06-15T25:61:00",
    "2026-06-15T10:00:00+99:00", "12/31/9999", "02/30/2026", "00/00/0000", "1899-12-31",
]  # fmt: skip
BYTES = [b"\xff", b"\xfe\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80abc", b"\xf4\x90\x80\x80"]
LONG = [
    ("A", 10_000), ("A", 100_000), ("\u00e9", 3_000), ("\u202e", 5_000), ("\r\n", 5_000),
    ("9", 5_000), ("<b>", 20_000), ("\x00", 1_000), ("\ud800", 2_000),
]  # fmt: skip
# Tried on every target before the random examples (test_fuzz.Fuzzer.edges).
INT_EDGES = ["0", "-1", str(2**31), str(2**63 - 1), str(2**63), str(-(2**63) - 1), "1" + "0" * 30]
TEXT_EDGES = ["", "\x00", "\u202e", "\ud800", "..", "%2e%2e", "A" * 2000, str(2**63)]
EDGES = [lit(v) for v in [str(2**63), "-1", "1e309", "9999-12-31", "0001-01-01T00:00:00+14:00",
         "\x00", "\u202e", "\ud800", b"\xff\xfe", "\u00b2", ""]] + [_rep("A", 100_000)]  # fmt: skip
EXTRA_NAMES = ["id", "client_id", "user_id", "role", "practice", "__proto__", "a[]", "", "\x00"]

_CHARS = st.one_of(st.characters(), st.sampled_from([c for c in TEXT if len(c) == 1]))
HOSTILE: st.SearchStrategy[Val] = st.one_of(
    st.sampled_from([lit(v) for v in TEXT + NUMBERS + DATES + BYTES]),
    st.sampled_from([_rep(u, n) for u, n in LONG]),
    st.text(_CHARS, max_size=30).map(lit),
    st.binary(max_size=12).map(lit),
)


def docx() -> bytes:
    """A minimal DOCX (a zip with the two names `uploads.sniff` looks for)."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>" * 50)
        z.writestr("word/document.xml", "<w:document/>" * 50)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge image (a decompression bomb's first bytes)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")  # fmt: skip


FILES = [
    Val(image("PNG"), 'image("PNG")'),
    Val(image("JPEG"), 'image("JPEG")'),
    lit(b"%PDF-1.7\n%%EOF\n"),
    lit(b"MZ\x90\x00This program cannot be run"),
    lit(b""),
    lit(b"PK\x03\x04" + b"\x00" * 40),
    lit(b"BM\x00\x00\x00\x00"),
    Val(png_claiming(60000, 60000), "png_claiming(60000, 60000)"),
    Val(docx(), "docx()"),
    Val(docx()[:-30], "docx()[:-30]"),  # the central directory cut off
    lit("plain text \u202e\r\n".encode()),
    lit(b"\xff\xfe\x00bad"),
]
FILENAMES = [
    lit(n) for n in ("id.png", "", "../../etc/passwd", "\u202egnp.exe", "a\x00.pdf", "C:\\x\\y.pdf")
] + [lit(b"caf\xe9.png"), lit(b"\xff\xfe.pdf"), _rep("n", 300)]


def value_for(natural: list[str]) -> st.SearchStrategy[Val]:
    """A field's value: what the page offers (often), or something hostile."""
    if not natural:
        return HOSTILE
    offered = st.sampled_from([lit(v, natural=True) for v in natural])
    glued = st.tuples(offered, HOSTILE).map(
        lambda p: Val(_join(p[0].data, p[1].data), f"{p[0].expr} + {p[1].expr}")
    )
    return st.one_of(offered, offered, HOSTILE, glued)


def _join(a: str | bytes, b: str | bytes) -> str | bytes:
    if isinstance(a, bytes) or isinstance(b, bytes):
        return _bytes(a) + _bytes(b)
    return a + b


# --- Encoding -------------------------------------------------------------------------------


def _bytes(v: str | bytes) -> bytes:
    return v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass")


def _pct(v: str | bytes) -> str:
    return quote_from_bytes(_bytes(v), safe="")


def segment(v: str | bytes, kind: str) -> str:
    """A path parameter's value in the URL (a `path` parameter keeps its slashes)."""
    return quote_from_bytes(_bytes(v), safe="/" if kind == "path" else "")


def query(pairs: list[tuple[str | bytes, str | bytes]]) -> str:
    return "&".join(f"{_pct(k)}={_pct(v)}" for k, v in pairs)


def _header_quote(v: str | bytes) -> bytes:
    # As browsers do: only the quote and line breaks are escaped; other bytes go as they are.
    return _bytes(v).replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")


def encode(kind: str, pairs: list, files: list = ()) -> tuple[bytes, str]:
    """The body and content type for `pairs` ((name, value)) and `files`
    ((name, filename, bytes, content type)); kind: urlencoded, raw (urlencoded with the
    bytes left unescaped, as no browser sends them) or multipart."""
    if kind == "multipart":
        out: list[bytes] = []
        for name, value in pairs:
            disposition = b'Content-Disposition: form-data; name="' + _header_quote(name) + b'"'
            out += [b"--" + BOUNDARY.encode(), disposition, b"", _bytes(value)]
        for name, filename, data, ctype in files:
            disposition = (
                b'Content-Disposition: form-data; name="' + _header_quote(name)
                + b'"; filename="' + _header_quote(filename) + b'"'
            )  # fmt: skip
            out += [b"--" + BOUNDARY.encode(), disposition, b"Content-Type: " + ctype.encode()]
            out += [b"", _bytes(data)]
        out.append(b"--" + BOUNDARY.encode() + b"--")
        return b"\r\n".join(out) + b"\r\n", f"multipart/form-data; boundary={BOUNDARY}"
    if kind == "raw":

        def esc(v: str | bytes) -> bytes:
            b = _bytes(v)
            for ch in (b"%", b"&", b"=", b"+"):
                b = b.replace(ch, b"%" + ch.hex().upper().encode())
            return b

        body = b"&".join(esc(k) + b"=" + esc(v) for k, v in pairs)
    else:
        body = query(pairs).encode()
    return body, "application/x-www-form-urlencoded"


# --- The route table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    method: str
    path: str  # the route's template: /appointments/{appointment_id:int}/confirm
    params: tuple[tuple[str, str], ...]  # (name, type): int, str, path, ...
    query: tuple[str, ...]
    guarded: bool
    csrf: bool

    def matches(self, path: str) -> dict[str, str] | None:
        pattern = re.sub(
            r"\\\{(\w+):(\w+)\\\}",
            lambda m: (
                f"(?P<{m[1]}>{'-?[0-9]+' if m[2] == 'int' else '.+' if m[2] == 'path' else '[^/]+'})"
            ),
            re.escape(self.path),
        )
        m = re.fullmatch(pattern, path)
        return m.groupdict() if m else None


def targets(app: Litestar, csrf_exempt: list[str]) -> list[Target]:
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        defs = route.path_parameters
        defs = defs.values() if isinstance(defs, dict) else defs
        params = tuple((d.name, getattr(d.type, "__name__", str(d.type))) for d in defs)
        params = tuple((n, "path" if "path" in t.lower() else t) for n, t in params)
        for method, (handler, kwargs) in sorted(route.route_handler_map.items()):
            exempt = handler.opt.get("exclude_from_csrf") or any(
                re.search(p, route.path) for p in csrf_exempt
            )
            out.append(
                Target(
                    method=method,
                    path=route.path,
                    params=params,
                    query=tuple(sorted(p.field_alias for p in kwargs.expected_query_params)),
                    guarded=bool(handler.resolve_guards()),
                    csrf=method not in ("GET", "HEAD", "OPTIONS") and not exempt,
                )
            )
    return out


# --- Pages ----------------------------------------------------------------------------------


@dataclass
class Form:
    action: str  # a path on this site
    method: str
    enctype: str  # urlencoded or multipart
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> offered values
    files: list[str] = field(default_factory=list)  # names of file inputs
    htmx: bool = False  # an hx-post/hx-get element sends it


VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "area", "base", "wbr"}


class Page(HTMLParser):
    def __init__(self, url: str, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url, self.forms, self.links = url, [], []
        self._open: list[Form] = []
        self._by_id: dict[str, Form] = {}
        self._select: tuple[Form, str] | None = None
        self.feed(text)
        self.close()

    def _local(self, url: str) -> str | None:
        parts = urlsplit(urljoin(BASE + self.url, url))
        if f"{parts.scheme}://{parts.netloc}" != BASE:
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and (href := self._local(a.get("href", ""))):
            self.links.append(href)
        if tag == "form":
            action = self._local(a.get("action") or self.url) or self.url
            enctype = "multipart" if "multipart" in a.get("enctype", "") else "urlencoded"
            form = Form(action, (a.get("method") or "get").upper(), enctype)
            self._open.append(form)
            if a.get("id"):
                self._by_id[a["id"]] = form
        for verb in ("get", "post", "put", "patch", "delete"):
            if (url := a.get(f"hx-{verb}")) and (path := self._local(url)):
                around = self._open[-1] if self._open else Form(path, "", "urlencoded")
                hx = Form(path, verb.upper(), around.enctype, around.fields, around.files, True)
                self.forms.append(hx)
        name = a.get("name")
        form = self._by_id.get(a["form"]) if a.get("form") else None
        form = form or (self._open[-1] if self._open else None)
        if not name or form is None or name == "_csrf_token":
            if tag == "option" and self._select:
                self._select[0].fields[self._select[1]].append(a.get("value", ""))
            return
        values = form.fields.setdefault(name, [])
        kind = a.get("type", "text").lower()
        if tag == "input" and kind == "file":
            form.files.append(name)
            del form.fields[name]
        elif tag == "select":
            self._select = (form, name)
        elif kind in ("checkbox", "radio") or tag == "button" or a.get("value"):
            values.append(a.get("value", "on"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._open:
            self.forms.append(self._open.pop())
        elif tag == "select":
            self._select = None


def link_query(link: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(link)
    return parts.path, parse_qsl(parts.query, keep_blank_values=True)


# --- Reading answers ------------------------------------------------------------------------


class _Alerts(HTMLParser):
    """The text inside role="alert" and .field-error elements."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.depth, self.inside, self.text = 0, [], []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in VOID:
            return
        a = {k: v or "" for k, v in attrs}
        self.depth += 1
        if a.get("role") == "alert" or "field-error" in a.get("class", "").split():
            self.inside.append(self.depth)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while self.inside and self.inside[-1] >= self.depth:
            self.inside.pop()
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text.append(data)


def message_of(content_type: str, body: str) -> str:
    """The refusal's message for a person: '' when there is none."""
    if "Traceback (most recent call last)" in body or re.search(r'File "[^"]+", line \d+', body):
        return ""
    if "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            return ""
        text = data.get("error") if isinstance(data, dict) else None
        return text if isinstance(text, str) and re.search(r"[A-Za-z]{3}", text) else ""
    if "html" in content_type:
        text = " ".join(" ".join(_Alerts(body).text).split())
        return text if re.search(r"[A-Za-z]{3}", text) else ""
    return body.strip() if re.search(r"[A-Za-z]{3}", body) else ""


class Capture(logging.Handler):
    """The exceptions the app logs (its 500 handler logs each one with exc_info)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record not in self.records:
            self.records.append(record)


def exception_summary(exc: BaseException) -> tuple[str, str]:
    """(a signature to tell bugs apart: the type and where in portal it was raised, the text)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/src/portal/" in f.filename]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    short = lambda name: name.split("/src/")[-1].split("site-packages/")[-1]  # noqa: E731
    place = f"{short(where.filename)}:{where.lineno} in {where.name}" if where else "?"
    text = f"{type(exc).__name__}: {str(exc)[:300]} at {place}"
    if frames and frames[-1] is not where:
        text += f" (raised in {short(frames[-1].filename)}:{frames[-1].lineno})"
    return f"{type(exc).__name__} at {place}", text

"""Finding 13: hostile input on every route and every form, found from the app itself.

The targets are the app's route table (each route's methods, path parameters and their
types, the query parameters its handler reads) and the forms of the pages a signed-in
client (and nobody) can reach: each <form>'s action, method, enctype and fields with the
values the page offers, and every hx-get/hx-post element. A new route or form is fuzzed
without editing this file. Hypothesis draws each request: path parameters (2**63, -1,
digits Python's int() refuses, bidi and control characters...), fields missing, repeated,
offered or hostile (long strings, lone surrogates and invalid UTF-8 in urlencoded and
multipart bodies, 1e309, 9999-12-31...), files, htmx or not, with the CSRF token or without.

The properties, for every request:
- never a 5xx, and no exception out of the app;
- a refusal (4xx) stores nothing: the rows of every table are counted before and after
  (a refused sign-in is still recorded in `login_attempt`, and audited: by design);
- a refusal says why in words (role="alert", .field-error, or a JSON "error"), no traceback;
- a POST without the CSRF token, or with a forged one, is 403.

Every distinct failure is collected (not only the first), cut down to what still fails,
and printed with a replayable request. Bounded: explicit edge cases, then
PORTAL_FUZZ_EXAMPLES (30) random requests per target, fewer for PDFs: about 3,400 requests,
under a minute per engine on 2 cores. derandomize=True, so a run repeats the last one.
PORTAL_FUZZ_DEBUG=1 prints the answers per target and the forms found.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from portal.accounts.auth import token_hash
from portal.app import PUBLIC_PATHS
from portal.core.uploads import MAX_BYTES
from portal.forms import definition, loader
from portal.tables import ALL_TABLES, Client, Session, User
from tests import factories, scenes
from tests import fuzz_support as fz
from tests.web import csrf_token, post_form, sign_in

EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "30"))
# Rows a refusal may add: every sign-in attempt is recorded and audited, refused ones too.
LOGS = {"login_attempt", "audit_event"}
COUNTED = [t._meta.tablename for t in ALL_TABLES if t._meta.tablename not in LOGS]
COUNT_SQL = "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{n}") AS "{n}"' for n in COUNTED)  # noqa: S608 - our table names
# No route is skipped. Those that need care:
# - sign-out (/logout, and any answer that ends the session: a wrong code at
#   /login/two-factor, too many wrong passwords in a re-check): the browser notices its
#   session is gone and signs in again before the next request;
# - sign-in (/login): refused sign-ins are counted per IP, so every request comes from a new
#   client address, and the username and password are put back before signing in again;
# - the Stripe webhook (/webhooks/stripe): no CSRF, and no valid signature can be made up,
#   so it is fuzzed unsigned and must answer 400, never 5xx;
# - staff pages: fuzzed as the client, who must be refused (403) every time;
# - static files: fuzzed (path traversal...), not crawled.
# Run last, so the records the other targets use are still there: these end or remove
# them (an appointment, a phone, the session itself, the open form).
LAST = ("delete", "remove", "cancel", "submit", "logout", "sign-out", "none", "disable")
CSRF = ["field"] * 5 + ["header", "header", "both", "none", "forged"]
FORM = {
    "slug": "intake",
    "title": "Intake",
    "assign": ["alice"],
    "field": [
        {"name": "reason", "type": "long_text", "label": "Why now", "required": True},
        {"name": "nickname", "type": "short_text", "label": "Nickname", "max_length": 10},
        {"name": "born", "type": "date", "label": "Date of birth", "required": True},
        {"name": "seen", "type": "single_choice", "label": "Seen before", "choices": ["Yes", "No"]},
        {"name": "concerns", "type": "multiple_choice", "label": "Concerns", "choices": ["Sleep", "Mood"]},
        {"name": "agree", "type": "checkbox", "label": "I agree", "required": True},
        {"name": "signature", "type": "signature", "label": "Signature"},
    ],
}  # fmt: skip


@dataclass(frozen=True)
class Req:
    target: fz.Target
    args: tuple[tuple[str, fz.Val], ...]  # path parameters
    fields: tuple[tuple[str, fz.Val], ...]
    files: tuple[tuple[str, fz.Val, fz.Val, str], ...] = ()
    body: str = "urlencoded"  # or raw, multipart; GET: the query string
    who: str = "client"  # or anonymous
    csrf: str = "field"  # header, both, none, forged; "" where CSRF does not apply
    htmx: bool = False

    def url(self) -> str:
        path = self.target.path
        for (name, kind), (_, v) in zip(self.target.params, self.args, strict=True):
            path = path.replace(f"{{{name}:{kind}}}", fz.segment(v.data, kind))
        if not self.has_body and self.fields:
            path += "?" + fz.query([(k, v.data) for k, v in self.fields])
        return path

    @property
    def has_body(self) -> bool:
        return self.target.method not in ("GET", "HEAD", "OPTIONS")

    def culprits(self) -> str:
        """The values not as the page offers them (the suspects), shortly."""
        named = [f"{k!r}={v.expr[:80]}" for k, v in self.args + self.fields if not v.natural]
        named += [f"file {n!r}: {fn.expr[:40]}, {d.expr[:40]}" for n, fn, d, _ in self.files]
        return ", ".join(named) or "(none: every value as the page offers it)"

    def replay(self) -> str:
        """Python that sends it again: `http` the browser (signed in as Alice, or not), TOKEN
        its CSRF token; `encode`, `query`, `segment` and the values' names are fuzz_support's."""
        url = repr(self.target.path)
        for (name, kind), (_, v) in zip(self.target.params, self.args, strict=True):
            url = url.replace(f"{{{name}:{kind}}}", f"' + segment({v.expr}, {kind!r}) + '")
        url = url.replace(" + ''", "")
        items = [f"({k!r}, {v.expr})" for k, v in self.fields]
        token = {"field": "TOKEN", "both": "TOKEN", "forged": "TOKEN[:-4] + 'AAAA'"}
        if self.csrf in token:
            items.append(f"('_csrf_token', {token[self.csrf]})")
        headers = ["'content-type': ctype"] if self.has_body else []
        headers += ["'HX-Request': 'true'"] if self.htmx else []
        headers += ["'x-csrftoken': TOKEN"] if self.csrf in ("header", "both") else []
        who = "# signed in as alice" if self.who == "client" else "# signed out"
        call = f"await http.request({self.target.method!r}, {url}"
        if not self.has_body:
            query = f" + '?' + query([{', '.join(items)}])" if items else ""
            return f"{who}\n    {call}{query}, headers={{{', '.join(headers)}}})"
        files = [f"({n!r}, {f.expr}, {d.expr}, {c!r})" for n, f, d, c in self.files]
        return (
            f"{who}\n    body, ctype = encode({self.body!r}, [{', '.join(items)}], [{', '.join(files)}])"
            f"\n    {call}, content=body, headers={{{', '.join(headers)}}})"
        )


class Browser:
    """One browser: its cookies and CSRF token, a new client address for every request (so
    the per-IP sign-in throttle, which fuzzed sign-ins trip, never locks the test out)."""

    def __init__(self, app, username: str | None) -> None:  # noqa: ANN001
        self.transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        self.http = httpx.AsyncClient(transport=self.transport, base_url=fz.BASE)
        self.username, self.token, self.sent, self.signed_out = username, "", 0, True
        self.user_id, self.password_hash = 0, ""  # to put the credentials back
        self.sign_ins = 0

    async def start(self) -> None:
        if self.username is None:
            self.token = await csrf_token(self.http, "/login")
            self.signed_out = False
            return
        # A fuzzed form may have changed the username or password (the page offers the
        # password as a value): put them back first.
        user = await User.select(User.id).where(User.username == self.username).first()
        if user is None:
            await User.update({User.username: self.username}).where(User.id == self.user_id)
        await User.update({User.password_hash: self.password_hash}).where(User.id == self.user_id)
        r = await sign_in(self.http, self.username)
        self.sign_ins += 1
        assert r.status_code == 303, f"sign-in failed: {r.status_code} {r.text[:500]}"
        self.token = await csrf_token(self.http, "/")
        self.signed_out = False

    async def send(self, req: Req) -> httpx.Response:
        if self.signed_out:
            await self.start()
        self.sent += 1
        self.transport.client = (f"198.18.{self.sent // 250 % 250}.{self.sent % 250 + 1}", 40000)
        if self.username is None:  # nobody: no cookie but the CSRF one
            keep = self.http.cookies.get("csrftoken")
            self.http.cookies.clear()
            self.http.cookies.set("csrftoken", keep, domain="testserver.local")
        headers = {"HX-Request": "true", "HX-Current-URL": fz.BASE + "/"} if req.htmx else {}
        pairs = [(k, v.data) for k, v in req.fields]
        if req.csrf in ("field", "both"):
            pairs.append(("_csrf_token", self.token))
        if req.csrf == "forged":
            pairs.append(("_csrf_token", self.token[:-4] + "AAAA"))
        if req.csrf in ("header", "both"):
            headers["x-csrftoken"] = self.token
        content = None
        if req.has_body:
            files = [(n, f.data, d.data, c) for n, f, d, c in req.files]
            content, headers["content-type"] = fz.encode(req.body, pairs, files)
        r = await self.http.request(req.target.method, req.url(), content=content, headers=headers)
        if self.username is not None:
            where = r.headers.get("location", "") + r.headers.get("hx-redirect", "")
            token = self.http.cookies.get("portal_session")
            if token is None:
                self.signed_out = True
            elif r.status_code == 401 or where.startswith("/login"):  # or is it still alive?
                self.signed_out = not await Session.exists().where(
                    (Session.token_hash == token_hash(token))
                    & (Session.pending_two_factor == False)  # noqa: E712
                )
        return r


@dataclass
class Failure:
    kind: str
    signature: str
    req: Req
    status: int
    detail: str
    count: int = 1
    reducible: bool = True
    also: list[str] = field(default_factory=list)  # other requests that failed alike


class Fuzzer:
    def __init__(self, app, capture: fz.Capture) -> None:  # noqa: ANN001
        self.app, self.capture = app, capture
        self.targets = fz.targets(app, PUBLIC_PATHS)
        self.client, self.nobody = Browser(app, "alice"), Browser(app, None)
        self.forms: list[fz.Form] = []
        self.offered: dict[str, set[str]] = {}  # path parameter or field name -> values seen
        self.failures: dict[tuple, Failure] = {}
        self.sent, self.spent = Counter(), Counter()  # requests and seconds per target
        self.statuses = Counter()

    # --- Discovery ----------------------------------------------------------------------

    def _note(self, path: str, pairs) -> None:  # noqa: ANN001
        for t in self.targets:
            for name, value in (t.matches(path) or {}).items():
                self.offered.setdefault(name, set()).add(value)
        for name, value in pairs:
            self.offered.setdefault(name, set()).add(value)

    async def crawl(self, browser: Browser, start: list[str], limit: int = 60) -> None:
        queue, seen, per_path, kinds, forms_seen = list(start), set(), Counter(), Counter(), set()
        while queue and len(seen) < limit:
            url = queue.pop(0)
            path, pairs = fz.link_query(url)
            skip = path.startswith("/static/") or path.endswith(("pdf", ".ics", "/logout"))
            if url in seen or skip or per_path[path] >= 3:
                continue
            seen.add(url)
            per_path[path] += 1
            self._note(path, pairs)
            r = await browser.http.get(url)
            if r.status_code in (302, 303) and r.headers["location"].startswith("/"):
                queue.append(r.headers["location"])
            if "html" not in r.headers.get("content-type", ""):
                continue
            page = fz.Page(path, r.text)
            for link in page.links:
                target, pairs = fz.link_query(link)
                self._note(target, pairs)
                queue.append(link)
                if pairs:  # a link with a query: a GET form, filled in
                    fields = {}
                    for name, value in pairs:
                        fields.setdefault(name, []).append(value)
                    page.forms.append(fz.Form(target, "GET", "urlencoded", fields))
            for form in page.forms:
                # The same form on every page (sign out) once; a form per record up to 3 times.
                key = (form.method, fz.link_query(form.action)[0], tuple(form.fields), form.htmx)
                kinds[key] += 1
                if (
                    kinds[key] <= 3
                    and (form.method, form.action, tuple(form.fields), form.htmx) not in forms_seen
                ):
                    forms_seen.add((form.method, form.action, tuple(form.fields), form.htmx))
                    self.forms.append(form)
                self._note(*fz.link_query(form.action))
                for name, values in form.fields.items():
                    self.offered.setdefault(name, set()).update(values)
                if form.method == "GET":  # submit it with what it offers first
                    chosen = [(n, next((x for x in v if x), "")) for n, v in form.fields.items()]
                    queue.append(fz.link_query(form.action)[0] + "?" + fz.query(chosen))

    def forms_for(self, t: fz.Target) -> list[fz.Form]:
        return [
            f
            for f in self.forms
            if f.method == t.method and t.matches(fz.link_query(f.action)[0]) is not None
        ]

    # --- What to send -------------------------------------------------------------------

    def natural(self, t: fz.Target, form: fz.Form | None) -> Req:
        """The request as the page would send it: every value the first it offers."""
        offered = lambda name: (sorted(self.offered.get(name, ())) or ["1"])[0]  # noqa: E731
        args = tuple((name, fz.lit(offered(name), True)) for name, _ in t.params)
        fields = [(n, fz.lit(v[0], True)) for n, v in (form.fields if form else {}).items() if v]
        body = form.enctype if form else "urlencoded"
        return Req(t, args, tuple(fields), body=body, csrf="field" if t.csrf else "")

    def edges(self, t: fz.Target) -> list[Req]:
        """Explicit examples, tried first on every target: each path parameter at each edge
        (the others as the page offers them), then every field at once at each edge."""
        forms = self.forms_for(t)
        form = forms[0] if forms else None
        base = self.natural(t, form)
        args = base.args
        names = list(form.fields) if form else []
        names += [n for n in t.query if n not in names]
        out = []
        for i, (_, kind) in enumerate(t.params):
            for v in fz.INT_EDGES if kind == "int" else fz.TEXT_EDGES:
                out.append(
                    replace(base, args=args[:i] + ((args[i][0], fz.lit(v)),) + args[i + 1 :])
                )
        for j, v in enumerate(fz.EDGES if names else ()):
            v = fz.clip(v, 2000) if not base.has_body else v
            for body in ("multipart", "raw") if isinstance(v.data, bytes) else (base.body,):
                out.append(
                    replace(base, fields=tuple((n, v) for n in names), body=body, htmx=j % 2 == 1)
                )
        return out

    def strategy(self, t: fz.Target) -> st.SearchStrategy[Req]:
        forms = self.forms_for(t)
        names = sorted({n for f in self.forms for n in f.fields})

        @st.composite
        def build(draw) -> Req:  # noqa: ANN001
            args = []
            for name, kind in t.params:
                seen = sorted(self.offered.get(name, ())) or ["1"]
                hostile = (
                    st.sampled_from([fz.lit(v) for v in fz.NUMBERS])
                    if kind == "int"
                    else fz.HOSTILE
                )
                offered = st.sampled_from([fz.lit(v, natural=True) for v in seen])
                args.append((name, draw(st.one_of(offered, offered, hostile))))
            form = draw(st.sampled_from(forms)) if forms else None
            if form is not None:
                spec = dict(form.fields)
                for name, value in fz.link_query(form.action)[1]:
                    spec.setdefault(name, []).append(value)
            else:  # no page shows this form: the names other forms use, and the handler's
                picked = draw(st.sets(st.sampled_from(names), max_size=4)) if names else set()
                spec = {n: sorted(self.offered.get(n, ())) for n in sorted(picked) + list(t.query)}
            for name in t.query:
                spec.setdefault(name, sorted(self.offered.get(name, ())))
            # One field hostile and the rest as offered (the deepest reach), some, or all.
            mode = draw(st.sampled_from(["one", "one", "some", "all"]))
            hostile_one = draw(st.integers(0, max(len(spec) - 1, 0)))
            fields = []
            for i, (name, offered) in enumerate(spec.items()):
                offered = [v for v in offered if v]
                calm = offered and (
                    mode == "one" and i != hostile_one or mode == "some" and draw(st.booleans())
                )
                for _ in range(1 if calm else draw(st.sampled_from([1, 1, 1, 1, 0, 2]))):
                    value = (
                        st.sampled_from([fz.lit(v, natural=True) for v in offered])
                        if calm
                        else fz.value_for(offered)
                    )
                    fields.append((name, draw(value)))
            extra = st.tuples(st.sampled_from(fz.EXTRA_NAMES), fz.HOSTILE)
            fields += draw(st.lists(extra, max_size=1))
            files = []
            for name in form.files if form else ():
                for _ in range(draw(st.sampled_from([1, 1, 0, 2]))):
                    ctype = draw(st.sampled_from(["image/png", "application/pdf", "text/html"]))
                    files.append(
                        (
                            name,
                            draw(st.sampled_from(fz.FILENAMES)),
                            draw(st.sampled_from(fz.FILES)),
                            ctype,
                        )
                    )
            usual = "multipart" if files or (form and form.enctype == "multipart") else "urlencoded"
            body = draw(st.sampled_from([usual] * 4 + ["multipart", "raw"]))
            who = draw(
                st.sampled_from(
                    ["client"] * 9 + ["anonymous"] if t.guarded else ["client", "anonymous"]
                )
            )
            # A URL is read whole by the server (h11 allows 64 KB of head, httpx 64 KB of URL):
            # values sent in one are cut at 2,000 characters.
            args = [(k, fz.clip(v, 2000)) for k, v in args]
            if t.method in ("GET", "HEAD", "OPTIONS"):
                fields = [(k, fz.clip(v, 2000)) for k, v in fields]
            return Req(
                t, tuple(args), tuple(fields), tuple(files) if body == "multipart" else (), body, who,
                draw(st.sampled_from(CSRF)) if t.csrf else "",
                draw(st.booleans()) if not form or not form.htmx else draw(st.sampled_from([True, True, False])),
            )  # fmt: skip

        return build()

    # --- Sending and judging ------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in (await Client.raw(COUNT_SQL))[0].items()}

    async def check(self, req: Req) -> tuple[str, str, str, int] | None:
        """Send `req`; the first property it breaks: (kind, signature, detail, status)."""
        browser = self.client if req.who == "client" else self.nobody
        if browser.signed_out:
            await browser.start()
        before, mark = await self.counts(), len(self.capture.records)
        key, began = (req.target.method, req.target.path), time.perf_counter()
        self.sent[key] += 1
        try:
            r = await browser.send(req)
        except Exception as exc:  # noqa: BLE001 - out of the app: the worst kind
            sig, text = fz.exception_summary(exc)
            browser.signed_out = browser.username is not None
            return "exception out of the app", sig, text, 0
        status, t = r.status_code, req.target
        self.spent[key] += time.perf_counter() - began
        self.statuses[(key, req.who, status)] += 1
        if browser.signed_out and browser.username:
            self.statuses[("SIGNED OUT BY", key, status)] += 1
        after = await self.counts() if status >= 400 else before
        changed = {k: after[k] - before[k] for k in before if after[k] != before[k]}
        if status >= 500:
            logged = [x.exc_info[1] for x in self.capture.records[mark:] if x.exc_info]
            sig, text = fz.exception_summary(logged[-1]) if logged else ("nothing logged", "")
            return f"{status} answer", sig, f"{text}; rows changed: {changed or 'none'}", status
        # Without a valid token the handler must not run: no success, no form re-rendered.
        if (
            t.csrf
            and req.csrf in ("none", "forged")
            and (status < 400 or status in (409, 410, 422))
        ):
            return "POST without a valid CSRF token not refused", str(status), "", status
        if 400 <= status < 500:
            # A refusal may end the session (a wrong code at sign-in): that stores nothing.
            stored = {k: v for k, v in changed.items() if not (k == "portal_session" and v < 0)}
            if stored:
                return "a refusal changed rows", str(sorted(stored)), str(changed), status
            quiet = t.method == "HEAD" or r.headers.get("hx-redirect")
            ctype = r.headers.get("content-type", "")
            if not quiet and not fz.message_of(ctype, r.text):
                title = re.search(r"<title>(.*?)</title>", r.text, re.S)
                detail = (
                    f"no role=alert or .field-error text in the {ctype!r} answer of {len(r.text)} "
                    f"characters (title {title[1].strip() if title else None!r}): {r.text[:200]!r}"
                )
                return "a refusal without a readable message", str(status), detail, status
        return None

    async def record(self, req: Req) -> None:
        problem = await self.check(req)
        if problem is None:
            return
        kind, sig, detail, status = problem
        key = (kind, req.target.method, req.target.path, sig)
        if key in self.failures:
            f = self.failures[key]
            f.count += 1
            if len(f.also) < 4 and req.culprits() not in f.also + [f.req.culprits()]:
                f.also.append(req.culprits())
        else:
            self.failures[key] = Failure(kind, sig, req, status, detail)

    async def reduce(self, f: Failure, budget: int = 40) -> None:
        """Cut the request down to what still fails the same way (fields, files, values)."""

        async def same(candidate: Req) -> bool:
            nonlocal budget
            budget -= 1
            problem = await self.check(candidate)
            return problem is not None and (problem[0], problem[1]) == (f.kind, f.signature)

        req = f.req
        for attr in ("fields", "files"):
            for i in reversed(range(len(getattr(req, attr)))):
                items = getattr(req, attr)
                cut = replace(req, **{attr: items[:i] + items[i + 1 :]})
                if budget > 0 and await same(cut):
                    req = cut
        for change in ({"htmx": False}, {"body": "urlencoded"}, {"who": "client"}):
            if budget > 0 and await same(replace(req, **change)):
                req = replace(req, **change)
        f.req = req

    def report(self) -> str:
        out = [f"{len(self.failures)} distinct failures in {sum(self.sent.values())} requests:"]
        for f in self.failures.values():
            r = f.req
            out.append(
                f"\n* {f.kind}: {r.target.method} {r.target.path} -> {f.status or 'no answer'}"
                f" ({f.count}x, {'htmx' if r.htmx else 'plain'}, {r.body}, csrf={r.csrf or 'n/a'})"
                f"\n  hostile: {r.culprits()}"
            )
            out += [f"  also failed with: {a}" for a in f.also]
            out.append(f"  {f.signature}: {f.detail[:600]}\n  replay:\n    {r.replay()}")
        return "\n".join(out)


async def seed(settings) -> None:  # noqa: ANN001
    """A practice like the demo's, and Alice with a bit of everything, so every form renders."""
    await scenes.alice_with_everything(
        settings, lambda: loader.apply(definition.parse({"form": [FORM]}))
    )


async def fill_profile(http: httpx.AsyncClient) -> None:
    """The profile's sections and insurance through their own forms, as Alice would."""
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
        if r.status_code != 303:
            print(f"seeding {path} answered {r.status_code}: the fuzz runs without it")


def ordered(targets: list[fz.Target]) -> list[fz.Target]:
    return sorted(
        targets,
        key=lambda t: (t.method != "GET", any(w in t.path for w in LAST), t.path, t.method),
    )


def budget(t: fz.Target) -> int:
    if t.method in ("OPTIONS", "HEAD"):
        return 2
    if t.path.endswith("pdf"):  # xhtml2pdf takes a few tenths of a second a page
        return max(2, EXAMPLES // 5)
    return EXAMPLES


async def test_fuzz_every_route_and_form(app, settings):
    capture = fz.Capture()
    loggers = [logging.getLogger(), logging.getLogger("portal")]
    for logger in loggers:
        logger.addHandler(capture)
    started = time.monotonic()
    try:
        await seed(settings)
        fuzz = Fuzzer(app, capture)
        alice = await User.select(User.id, User.password_hash).where(User.username == "alice").first()  # fmt: skip
        fuzz.client.user_id, fuzz.client.password_hash = alice["id"], alice["password_hash"]
        await fuzz.client.start()
        await fill_profile(fuzz.client.http)
        await fuzz.nobody.start()
        await fuzz.crawl(fuzz.client, ["/"])
        await fuzz.crawl(fuzz.nobody, ["/login", "/password-reset"], limit=10)
        # The page offers no password: also try Alice's, so the success paths run too.
        fuzz.offered.setdefault("current_password", set()).add(factories.PASSWORD)
        for form in fuzz.forms:
            if "current_password" in form.fields:
                form.fields["current_password"].append(factories.PASSWORD)
        assert fuzz.targets and fuzz.forms, "nothing to fuzz: no routes or no forms found"
        loop = asyncio.get_running_loop()

        def run_all() -> None:  # in a thread: hypothesis drives, the app runs in this loop
            for target in ordered(fuzz.targets):

                def one(req: Req) -> None:
                    asyncio.run_coroutine_threadsafe(fuzz.record(req), loop).result()

                test = given(fuzz.strategy(target))(one)
                edges = fuzz.edges(target) if target.method not in ("OPTIONS", "HEAD") else []
                for req in reversed(edges):  # the last one applied is tried first
                    test = example(req)(test)
                hsettings(
                    max_examples=budget(target), deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                    print_blob=False, report_multiple_bugs=False,
                )(test)()  # fmt: skip

        await asyncio.to_thread(run_all)
        await oversized(fuzz)
        for failure in list(fuzz.failures.values()):
            if failure.reducible:
                await fuzz.reduce(failure)
    finally:
        for logger in loggers:
            logger.removeHandler(capture)
    print(f"fuzz: {sum(fuzz.sent.values())} requests, {len(fuzz.targets)} targets, "
          f"{len(fuzz.forms)} forms, {fuzz.client.sign_ins} sign-ins, {time.monotonic() - started:.1f} s; "
          f"slowest: {[(k, round(v, 1)) for k, v in fuzz.spent.most_common(8)]}")  # fmt: skip
    if os.environ.get("PORTAL_FUZZ_DEBUG"):  # what was sent and answered, per target
        for k, v in sorted(fuzz.statuses.items(), key=str):
            print("DEBUG", k, v)
        for f in fuzz.forms:
            print("FORM", f.method, f.action, f.enctype, f.htmx, sorted(f.fields), f.files)
        print("OFFERED", {k: sorted(v)[:5] for k, v in fuzz.offered.items()})
    if fuzz.failures:
        pytest.fail(fuzz.report(), pytrace=False)


async def oversized(fuzz: Fuzzer) -> None:
    """Bodies too large, tried once each: every form with 5,000 fields more (urlencoded and
    multipart), every file input of every form given one byte over the upload limit (the
    rest as offered), then one body over the app's limit
    (request_max_body_size) per POST target, streamed without a Content-Length and the
    token in the header. A 4xx, never a 5xx."""
    big = fz.Val(b"\x89PNG\r\n\x1a\n" + bytes(MAX_BYTES - 7), "b'\\x89PNG\\r\\n\\x1a\\n' + bytes(MAX_BYTES - 7)")  # fmt: skip
    for form in fuzz.forms:
        t = next((t for t in fuzz.targets if t.method == form.method and t.matches(form.action)), None)  # fmt: skip
        if t is not None and t.method == "POST":
            many = tuple((f"f{i}", fz.lit("x")) for i in range(5000))
            for body in ("urlencoded", "multipart"):
                req = fuzz.natural(t, form)
                await fuzz.record(replace(req, fields=req.fields + many, body=body))
        if form.files and t is not None:
            files = tuple((name, fz.lit("big.png"), big, "image/png") for name in form.files)
            await fuzz.record(replace(fuzz.natural(t, form), files=files, body="multipart"))
    limit = fuzz.app.request_max_body_size or 0
    chunk = b"a=" + b"A" * (1024 * 1024 - 2)

    async def body():  # noqa: ANN202
        for _ in range(limit // len(chunk) + 2):
            yield chunk

    for t in ordered(fuzz.targets):
        if t.method != "POST" or not limit:
            continue
        args = tuple(
            (name, fz.lit((sorted(fuzz.offered.get(name, ())) or ["1"])[0], True))
            for name, _ in t.params
        )
        req = Req(t, args, ())
        if fuzz.client.signed_out:
            await fuzz.client.start()
        before, mark = await fuzz.counts(), len(fuzz.capture.records)
        headers = {"x-csrftoken": fuzz.client.token, "content-type": "application/x-www-form-urlencoded"}  # fmt: skip
        try:
            r = await fuzz.client.http.post(req.url(), content=body(), headers=headers)
            status = r.status_code
        except Exception as exc:  # noqa: BLE001
            sig, text = fz.exception_summary(exc)
            status, problem = 0, ("exception out of the app", sig, text)
        else:
            logged = [x.exc_info[1] for x in fuzz.capture.records[mark:] if x.exc_info]
            sig, text = fz.exception_summary(logged[-1]) if logged else ("nothing logged", "")
            problem = (f"{status} answer", sig, text) if status >= 500 else None
            if problem is None and status >= 400 and await fuzz.counts() != before:
                problem = ("a refusal changed rows", "oversized", "")
        fuzz.sent[(t.method, t.path)] += 1
        if problem:
            kind, sig, text = problem
            detail = f"{text} (a {limit + 2 * len(chunk)}-byte streamed body)"
            fuzz.failures.setdefault(
                (kind, t.method, t.path, sig),
                Failure(kind, sig, req, status, detail, reducible=False),
            )

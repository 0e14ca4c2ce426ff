"""Browser-test plumbing: a live server, watched pages, and the axe check every page must pass.

Every page a fixture hands out is *watched*: each document that fires `load` is
recorded, and so is every console error, uncaught exception and CSP violation.
`await check_a11y(page)` runs axe-core on the current document and marks that
load checked; the fixture's teardown fails the test when a loaded document was
never checked, or when the console reported an error nobody allowed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from weakref import WeakKeyDictionary

import httpx
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Route

from tests.factories import PASSWORD

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# --- Chromium --------------------------------------------------------------------------------

DEFAULT_CHROMIUM = "/usr/bin/chromium"


def chromium_executable() -> str:
    return os.environ.get("PORTAL_TEST_CHROMIUM") or DEFAULT_CHROMIUM


def find_chromium() -> str | None:
    """The Chromium to launch, or None when it is not there (or not executable)."""
    found = shutil.which(chromium_executable())
    return found


def chromium_args() -> list[str]:
    args = [
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(0, "--no-sandbox")  # Chromium's sandbox refuses to run as root.
    return args


# --- The live server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    def log(self, start: int = 0) -> str:
        return self.log_path.read_bytes()[start:].decode("utf-8", "replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(
    *,
    root: str,
    database_url: str,
    secret_key: str,
    stripe_url: str = "",
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
    workers: int | None = None,
) -> LiveServer:
    """uvicorn on a free port with the test settings; returns once /healthz answers 200.

    `env`: more PORTAL_* settings, applied last (tests/system/ turns the mail worker on).
    `workers`: serve through `portal run --workers N`, as `make run` does, rather than
    starting uvicorn directly. An empty `secret_key` leaves the secret to `secret_file`.

    Raises RuntimeError (with the server's output) when it exits or stays unhealthy.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # The same settings the test process uses, nothing inherited from the developer's shell.
    overrides = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_ROOT=root,
        PORTAL_DATABASE_URL=database_url,
        PORTAL_SECURITY_SECRET_KEY=secret_key,
        PORTAL_SERVER_PUBLIC_URL=base_url,
        # No mail worker in the live server: it would claim the outbox rows that the
        # in-process tests (sharing this database) send and count themselves.
        PORTAL_SERVER_RUN_WORKER="false",
        # The tests change the practice from their own process (the payment keys, its
        # rules): the server reads it on every request rather than keeping it 30 s.
        PORTAL_SERVER_PRACTICE_REFRESH_SECONDS="0",
    )
    if stripe_url:  # localstripe, and its fake Stripe.js
        env.update(
            PORTAL_PAYMENTS_STRIPE_API_URL=stripe_url,
            PORTAL_PAYMENTS_STRIPE_JS_URL=f"{stripe_url}/js.stripe.com/v3/",
        )
    env.update(overrides)
    if workers is None:
        command = [sys.executable, "-m", "uvicorn", "portal.app:create_app", "--factory"]
        # As `portal run` does with no trusted proxy: forwarded headers are not believed.
        command += ["--lifespan", "on", "--no-proxy-headers"]
    else:
        command = [str(Path(sys.executable).with_name("portal")), "run", "--workers", str(workers)]
    log_path = Path(root) / f"live-server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(base_url, process, log_path)
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the live server exited with status {process.returncode} before it was "
                f"healthy:\n{server.log()}"
            )
        try:
            r = httpx.get(f"{base_url}/healthz", timeout=2)
            if r.status_code == 200:
                return server
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(
        f"the live server at {base_url} was not healthy within {timeout:.0f} s "
        f"(last: {last}):\n{server.log()}"
    )


# --- Accessibility -----------------------------------------------------------------------------

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
_axe = Axe()

# In a page rendered with scripting on, <noscript> content is inert text; a user without
# JavaScript sees it as markup. Turn it back into elements so axe checks what they see.
_EXPAND_NOSCRIPT = """() => {
  for (const el of document.querySelectorAll('noscript')) {
    const t = document.createElement('template');
    t.innerHTML = el.textContent;
    el.replaceWith(t.content);
  }
}"""


def format_violations(url: str, violations: list[dict]) -> str:
    lines = [f"axe-core found {len(violations)} WCAG 2.x A/AA violation(s) on {url}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact') or 'n/a'}): {v['help']}")
        lines.append(f"  {v.get('helpUrl', '')}")
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    at {target}")
            summary = (node.get("failureSummary") or "").strip()
            for line in summary.splitlines():
                lines.append(f"       {line.strip()}")
    return "\n".join(lines)


async def _axe_violations(page: Page, exclude: tuple[str, ...] = ()) -> list[dict]:
    # Axe.run would inject axe's 600 KB again on every call: inject once per document.
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(_axe.axe_script)
    context = {"include": [["html"]], "exclude": [[sel] for sel in exclude]} if exclude else None
    results = await page.evaluate(
        "([context, options]) => axe.run(context || document, options)", [context, AXE_OPTIONS]
    )
    return results["violations"]


async def _axe_on_snapshot(watch: PageWatch) -> tuple[str, list[dict]]:
    """axe cannot run where scripting is off (its timers never fire), so serve the no-JS
    page's document, as it is now, to a scripting-on page with the same viewport and the
    same stylesheets, its own scripts blocked by a CSP, and run axe there."""
    page = watch.page
    html = await page.content()
    url = page.url
    cpage = await watch.checker_page()
    document_url = re.compile("^" + re.escape(url.split("#", 1)[0]) + "$")

    async def serve(route: Route) -> None:
        await route.fulfill(
            status=200,
            headers={
                "content-type": "text/html; charset=utf-8",
                # The user has no JavaScript: neither does the copy axe looks at.
                "content-security-policy": "script-src 'none'",
            },
            body=html,
        )

    await cpage.route(document_url, serve)
    try:
        await cpage.goto(url, wait_until="load")
    finally:
        await cpage.unroute(document_url, serve)
    await cpage.evaluate(_EXPAND_NOSCRIPT)
    return url, await _axe_violations(cpage)


async def check_a11y(page: Page, *, exclude: tuple[str, ...] = ()) -> None:
    """Run axe-core (WCAG 2.0/2.1/2.2 A and AA) on the page's current document.

    `exclude`: CSS selectors of third-party widgets to leave out (only localstripe's
    stand-in for Stripe's card field, whose unlabelled inputs are not ours to fix).

    Marks the document checked (so the fixture's teardown is satisfied), then raises
    AssertionError listing every violation. Call it again after an htmx swap that
    changes what is on screen: swaps fire no `load`, so nothing forces that check.
    """
    watch = watch_of(page)
    await page.wait_for_load_state("load")
    # A round trip to the browser: `load` events sent before it are dispatched by now.
    await page.title()
    index = len(watch.loads) - 1
    if index < 0:
        raise AssertionError("check_a11y: this page has not loaded a document yet")
    if watch.js_enabled:
        url = page.url
        violations = await _axe_violations(page, exclude)
    else:
        url, violations = await _axe_on_snapshot(watch)
    await page.title()
    if len(watch.loads) - 1 != index:
        raise AssertionError(
            f"check_a11y: the page navigated while axe ran ({watch.loads[index]} -> "
            f"{watch.loads[-1]}); wait for the navigation to finish before checking"
        )
    watch.checked.add(index)
    if violations:
        raise AssertionError(format_violations(url, violations))


# --- Watched pages -----------------------------------------------------------------------------

# Chromium reports these as console errors; each entry is (regex on the text, regex on the URL
# the message is about, why it is tolerated).
# None today: the layout links a favicon, so Chromium asks for no /favicon.ico.
KNOWN_CONSOLE_NOISE: list[tuple[str, str, str]] = []


@dataclass
class PageWatch:
    page: Page
    js_enabled: bool
    browser: Browser
    base_url: str
    loads: list[str] = field(default_factory=list)
    checked: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    allowed: list[tuple[re.Pattern, re.Pattern]] = field(default_factory=list)
    _checker: BrowserContext | None = None
    _checker_page: Page | None = None

    def __post_init__(self) -> None:
        for text, url, _why in KNOWN_CONSOLE_NOISE:
            self.allow_console_error(text, url)
        self.page.on("load", self._on_load)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_pageerror)

    # Listeners.
    def _on_load(self, page: Page) -> None:
        self.loads.append(page.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        for text_re, url_re in self.allowed:
            if text_re.search(message.text) and url_re.search(where):
                return
        self.errors.append(f"console error: {message.text} [{where or self.page.url}]")

    def _on_pageerror(self, error: Exception) -> None:
        self.errors.append(f"uncaught exception on {self.page.url}: {error}")

    # For tests.
    def allow_console_error(self, text: str, url: str = "") -> None:
        """Tolerate console errors matching `text` (regex) about a URL matching `url`.

        E.g. a document answered with 422 on purpose makes Chromium log "Failed to load
        resource: ... status of 422" about that document's URL.
        """
        self.allowed.append((re.compile(text), re.compile(url)))

    def take_errors(self) -> list[str]:
        """The errors so far, forgotten (for tests that provoke one on purpose)."""
        errors, self.errors = self.errors, []
        return errors

    def unchecked(self) -> list[str]:
        return [url for i, url in enumerate(self.loads) if i not in self.checked]

    async def checker_page(self) -> Page:
        """A scripting-on page where axe checks this (no-JS) page's documents."""
        if self._checker_page is None:
            self._checker = await self.browser.new_context(
                base_url=self.base_url, viewport=self.page.viewport_size
            )
            self._checker_page = await self._checker.new_page()
        return self._checker_page

    async def close(self) -> None:
        if self._checker is not None:
            await self._checker.close()

    def problems(self) -> list[str]:
        out = [
            f"loaded but never checked with `await check_a11y(page)`: {url}"
            for url in self.unchecked()
        ]
        return out + self.errors


_watches: WeakKeyDictionary[Page, PageWatch] = WeakKeyDictionary()


def watch(page: Page, *, js_enabled: bool, browser: Browser, base_url: str) -> PageWatch:
    w = PageWatch(page, js_enabled, browser, base_url)
    _watches[page] = w
    return w


def watch_of(page: Page) -> PageWatch:
    try:
        return _watches[page]
    except KeyError:
        raise AssertionError(
            "this page is not watched: get pages from the `page` or `nojs_page` fixtures"
        ) from None


async def settle(page: Page) -> None:
    """Let events already sent by the browser reach the watch (a round trip)."""
    if not page.is_closed():
        try:
            await asyncio.wait_for(page.title(), 5)
        except Exception:  # noqa: S110 - a closed or crashed page has nothing left to report
            pass


# --- Doing things the way a user does ------------------------------------------------------------


async def submit(page: Page, button_name: str) -> int:
    """Click a form's submit button, wait for the page it leads to; return that page's status."""
    async with page.expect_navigation(wait_until="load") as navigation:
        await page.get_by_role("button", name=button_name, exact=True).click()
    response = await navigation.value
    return response.status if response is not None else 0


async def navigate(page: Page, action: Callable[[], Awaitable[None]]) -> int:
    """Do `action`, wait for the document it leads to, check it with axe; its status."""
    async with page.expect_navigation(wait_until="load") as navigation:
        await action()
    response = await navigation.value
    await check_a11y(page)
    return response.status if response is not None else 0


def file_payload(name: str, data: bytes, mime: str = "application/pdf") -> dict:
    """A file for `set_input_files`, made in memory."""
    return {"name": name, "mimeType": mime, "buffer": data}


async def sign_in(page: Page, username: str, password: str = PASSWORD) -> int:
    """Open /login (checked with axe), fill the form, submit; returns the final page's status.

    The page signed in to is the caller's to check.
    """
    await page.goto("/login")
    await check_a11y(page)
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    return await submit(page, "Sign in")

"""Browser tests: Debian's Chromium, driven by Playwright, against the app served by uvicorn.

- `live_server` (session): uvicorn in a subprocess on a free port, with the settings of
  tests/conftest.py, so it shares the test database; tests create data with factories
  and the autouse `empty_tables` fixture clears it after each test.
- `browser` (session): Chromium from PORTAL_TEST_CHROMIUM (default /usr/bin/chromium).
  Missing: the tests fail when CI=true, and are skipped otherwise.
- `page` (JavaScript on), `nojs_page` (off), `any_page` (both, parametrized): fresh
  contexts whose pages are watched. A test fails at teardown when a document loaded in
  it was never checked with `await check_a11y(page)`, or when the console reported an
  error, an uncaught exception or a CSP violation (see harness.PageWatch).

Every test under tests/browser/ is marked `browser` (`-m "not browser"` leaves them out).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.browser import harness

BROWSER_TESTS = Path(__file__).resolve().parent
_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # tryfirst: the mark must be there before `-m` deselects.
    for item in items:
        if BROWSER_TESTS in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


def _test_failed(request: pytest.FixtureRequest) -> bool:
    report = request.node.stash.get(_CALL_REPORT, None)
    return report is None or report.failed


@pytest.fixture(scope="session")
def live_server(settings) -> Iterator[harness.LiveServer]:
    try:
        server = harness.start_server(
            root=settings.root,
            database_url=settings.database.url,
            secret_key=settings.security.secret_key,
            stripe_url=settings.payments.stripe_api_url,
        )
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = harness.find_chromium()
    if executable is None:
        message = (
            f"no Chromium at {harness.chromium_executable()} "
            "(install Debian's chromium, or set PORTAL_TEST_CHROMIUM)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=harness.chromium_args()
        )
        yield browser
        await browser.close()


@asynccontextmanager
async def _watched_page(
    request: pytest.FixtureRequest,
    browser: Browser,
    server: harness.LiveServer,
    *,
    js_enabled: bool,
) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=server.base_url, java_script_enabled=js_enabled)
    page = await context.new_page()
    watch = harness.watch(page, js_enabled=js_enabled, browser=browser, base_url=server.base_url)
    log_start = server.log_size()
    try:
        yield page
        await harness.settle(page)
    finally:
        await watch.close()
        await context.close()
    if _test_failed(request):
        # The test's own failure says what went wrong; add what the server saw meanwhile.
        print(f"--- live server output during this test ---\n{server.log(log_start)}")
        return
    problems = watch.problems()
    if problems:
        pytest.fail(
            f"{'JS' if js_enabled else 'no-JS'} page: " + "\n".join(problems), pytrace=False
        )


@pytest.fixture
async def page(request, browser, live_server) -> AsyncIterator[Page]:
    """A page with JavaScript on, in a fresh context (no cookies)."""
    async with _watched_page(request, browser, live_server, js_enabled=True) as p:
        yield p


@pytest.fixture
async def nojs_page(request, browser, live_server) -> AsyncIterator[Page]:
    """A page with JavaScript off: the progressive-enhancement baseline."""
    async with _watched_page(request, browser, live_server, js_enabled=False) as p:
        yield p


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
async def any_page(request, browser, live_server) -> AsyncIterator[Page]:
    """The test runs twice: JavaScript on, then off."""
    async with _watched_page(request, browser, live_server, js_enabled=request.param) as p:
        yield p

"""Self-registration in Chromium, with JavaScript on and off: the form (a refused phone
number first, the input kept), the mail read back from a real SMTP server (aiosmtpd), the
link's "Continue", the account step, then signed in and told booking waits for approval."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from portal.core import mail
from portal.settings import MailSettings
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, submit, watch_of
from tests.web import Inbox, smtp_server

PASSWORD = "a brand new client passphrase"


@pytest.fixture
def smtp():
    with smtp_server(Inbox()) as inbox:
        yield inbox


async def _verification_link(smtp: Inbox, tmp_path) -> str:
    """Send the outbox to the SMTP server, as the mail worker does, and read the link."""
    settings = MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port,
                            from_address="portal@harbor.example")  # fmt: skip
    assert (await mail.Worker(settings, root=tmp_path).run_once()).sent == 1
    [message] = smtp.messages
    assert message["To"] == "nora@mail.example"
    body = message.get_payload(decode=True).decode()
    return re.search(r"(/register/verify/\S+)", body).group(1)


async def _register(page: Page, server: LiveServer, smtp: Inbox, tmp_path) -> None:
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142",
        self_registration=True,
    )  # fmt: skip
    await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz")
    # The refused phone number answers 422 on purpose; Chromium logs it as a console error.
    watch_of(page).allow_console_error(r"status of 422", r"/register$")

    await page.goto("/register")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Register as a new client")
    await check_a11y(page)
    await page.get_by_label("First name").fill("Nora")
    await page.get_by_label("Last name").fill("Quinn")
    await page.get_by_label("Date of birth").fill("1991-04-23")
    await page.get_by_label("Email address").fill("nora@mail.example")
    await page.get_by_label("Mobile phone").fill("12")
    await page.get_by_label("Preferred provider").select_option(label="Dr. Elena Ruiz")
    await page.get_by_label("A message for the practice (optional)").fill("Evenings, please.")
    assert await submit(page, "Register") == 422
    mobile = page.get_by_label("Mobile phone")
    await expect(mobile).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#reg-mobile-error")).to_contain_text("phone number")
    await expect(page.get_by_label("Last name")).to_have_value("Quinn")
    await expect(page.get_by_label("Preferred provider")).to_have_value(re.compile(r"^\d+$"))
    await check_a11y(page)

    await mobile.fill("(617) 555-0199")
    assert await submit(page, "Register") == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    await expect(page.get_by_role("status")).to_have_text(
        "Check your email: we sent a link to nora@mail.example."
    )
    await check_a11y(page)

    link = await _verification_link(smtp, tmp_path)
    await page.goto(link)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email")
    await check_a11y(page)
    assert await submit(page, "Continue") == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Choose your username and password"
    )
    await check_a11y(page)
    await page.get_by_label("Username", exact=True).fill("nora")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD)
    assert await submit(page, "Create my account") == 200
    await expect(page).to_have_url(f"{server.base_url}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Nora")
    await check_a11y(page)

    await page.goto("/schedule")
    await expect(
        page.locator("#schedule").get_by_text("The practice will confirm your registration")
    ).to_be_visible()
    await check_a11y(page)

    # The link worked once.
    await page.goto(link)
    await expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    await check_a11y(page)


async def test_self_registration_with_javascript(
    page: Page, live_server: LiveServer, smtp, tmp_path
):
    watch_of(page).allow_console_error(r"status of 410", r"/register/verify/")
    await _register(page, live_server, smtp, tmp_path)


async def test_self_registration_without_javascript(
    nojs_page: Page, live_server: LiveServer, smtp, tmp_path
):
    watch_of(nojs_page).allow_console_error(r"status of 410", r"/register/verify/")
    await _register(nojs_page, live_server, smtp, tmp_path)
    assert await nojs_page.evaluate("typeof window.htmx") == "undefined"

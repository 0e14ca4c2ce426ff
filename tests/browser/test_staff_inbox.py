"""The staff inbox in a real browser: a client writes to her provider, the provider signs
in, finds it in the inbox, reads it, replies and marks it done (with JavaScript: the reply
and the handling card swapped in place; without: plain forms and 303s); the client then
sees the reply under the provider's name."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.async_api import Page, expect

from portal.core.clock import utcnow
from portal.tables import Message, MessageThread
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, navigate, sign_in, watch_of

QUESTION = "Since the new dose I wake up at 4 every night."
ANSWER = "Thank you for telling me. Keep the sleep diary and we will look at it on Thursday."


async def alice_and_dr_ruiz() -> dict:
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    alice = await factories.client(p, "alice", first_name="Alice", last_name="Adams")
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz", credentials="PsyD")
    svc = await factories.service(p)
    await factories.appointment(
        alice["client_id"], ruiz["provider_id"], svc, utcnow() + timedelta(days=3)
    )
    return {"alice": alice, "ruiz": ruiz["user_id"]}


async def client_writes(page: Page, server: LiveServer) -> None:
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    assert await navigate(page, lambda: page.goto("/messages/new")) == 200
    await page.get_by_label("To").select_option(label="Dr. Elena Ruiz, PsyD (your provider)")
    await page.get_by_label("Subject").fill("Waking up at night")
    await page.get_by_label("Message", exact=True).fill(QUESTION)
    assert await navigate(page, page.get_by_role("button", name="Send message").click) == 200
    await expect(page).to_have_url(re.compile(rf"{server.base_url}/messages/\d+\?done=sent$"))


async def provider_answers(page: Page, server: LiveServer, js: bool) -> None:
    assert await sign_in(page, "ruiz") == 200
    await check_a11y(page)
    menu = page.get_by_role("navigation", name="Main menu")
    inbox = menu.get_by_role("link", name="Inbox 1 unread")
    await expect(inbox).to_be_visible()
    assert await navigate(page, inbox.click) == 200
    await expect(page).to_have_url(f"{server.base_url}/staff/inbox")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    await expect(page.locator("#inbox-unread")).to_have_text("1 unread conversation")
    row = page.get_by_role("row").filter(has_text="Waking up at night")
    await expect(row).to_contain_text("Alice Adams")
    await expect(row).to_contain_text("Unread")

    # Reading it: the message, and the menu's badge is gone.
    assert await navigate(page, page.get_by_role("link", name="Waking up at night").click) == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("Waking up at night")
    await expect(page.locator("ol.messages")).to_contain_text(QUESTION)
    await expect(page.locator("ol.messages .tag")).to_have_text("New")
    await expect(menu.get_by_role("link", name="Inbox", exact=True)).to_be_visible()

    # Replying.
    loads = len(watch_of(page).loads)
    await page.get_by_label("Your reply to Alice Adams").fill(ANSWER)
    if js:
        await page.get_by_role("button", name="Send reply").click()
        status = page.locator("#sent-notice")
        await expect(status).to_contain_text("Your reply was sent.")
        await expect(status).to_be_focused()
        assert len(watch_of(page).loads) == loads  # swapped in place, no page load
        await check_a11y(page)
    else:
        assert await navigate(page, page.get_by_role("button", name="Send reply").click) == 200
        await expect(page).to_have_url(re.compile(r"/staff/inbox/\d+\?done=sent#reply$"))
        await expect(page.locator("#sent-notice")).to_contain_text("Your reply was sent.")
    await expect(page.locator("ol.messages > li")).to_have_count(2)
    await expect(page.locator("ol.messages > li").last).to_contain_text(ANSWER)
    await expect(page.get_by_label("Your reply to Alice Adams")).to_have_value("")

    # Done: out of the open inbox.
    if js:
        await page.get_by_role("button", name="Mark done").click()
        await expect(page.locator("#handling-notice")).to_contain_text("Marked done")
        await expect(page.get_by_role("button", name="Reopen")).to_be_visible()
        assert len(watch_of(page).loads) == loads  # htmx swapped the handling card only
        await check_a11y(page)
    else:
        assert await navigate(page, page.get_by_role("button", name="Mark done").click) == 200
        await expect(page.locator("#handling-notice")).to_contain_text("Marked done")
    assert (
        await navigate(page, page.get_by_role("link", name="Inbox", exact=True).first.click) == 200
    )
    await expect(page.get_by_text("No open conversations")).to_be_visible()


async def client_reads_the_reply(page: Page) -> None:
    await page.goto("/messages")
    await check_a11y(page)
    menu = page.get_by_role("navigation", name="Main menu")
    await expect(menu.get_by_role("link", name="My Messages 1 unread")).to_be_visible()
    assert await navigate(page, page.get_by_role("link", name="Waking up at night").click) == 200
    answer = page.locator("ol.messages > li").last
    await expect(answer).to_contain_text(ANSWER)
    await expect(answer.get_by_role("heading")).to_contain_text("Dr. Elena Ruiz, PsyD")
    await expect(page.locator("ol.messages > li").first.get_by_role("heading")).to_contain_text(
        "You"
    )


async def test_a_client_question_answered_from_the_inbox_with_javascript(
    page: Page, live_server: LiveServer
):
    await alice_and_dr_ruiz()
    await client_writes(page, live_server)
    await page.context.clear_cookies()
    await provider_answers(page, live_server, js=True)
    await page.context.clear_cookies()
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    await client_reads_the_reply(page)
    assert await Message.count() == 2
    row = await MessageThread.select(MessageThread.done_at).first()
    assert row["done_at"] is not None


async def test_a_client_question_answered_from_the_inbox_without_javascript(
    page: Page, nojs_page: Page, live_server: LiveServer
):
    await alice_and_dr_ruiz()
    await client_writes(page, live_server)
    await provider_answers(nojs_page, live_server, js=False)
    await client_reads_the_reply(page)
    assert await Message.count() == 2

"""My Messages in a real browser: write to the provider with an attachment, see it in the
thread, reply, download — with JavaScript (upload.js sends the form with XMLHttpRequest,
shows progress, swaps the thread in place) and without (plain multipart form, 303, page).
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Page, expect

from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.uploads import MAX_BYTES
from portal.messaging import sending
from portal.practice.info import current_practice
from portal.tables import Message, MessageThread
from tests import factories
from tests.browser.harness import LiveServer, check_a11y, file_payload, navigate, sign_in, watch_of

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run"
RUIZ = "Dr. Elena Ruiz, PsyD (your provider)"


async def alice_and_dr_ruiz() -> dict:
    p = await factories.practice(
        name="Harbor Counseling", two_factor_policy="nobody", phone="(617) 555-0142"
    )
    alice = await factories.client(p, "alice", first_name="Alice")
    ruiz = await factories.provider(p, "ruiz", display_name="Dr. Elena Ruiz", credentials="PsyD")
    svc = await factories.service(p)
    await factories.appointment(
        alice["client_id"], ruiz["provider_id"], svc, utcnow() + timedelta(days=3)
    )
    return {"practice": p, "alice": alice, "ruiz": ruiz["user_id"]}


async def write_to_dr_ruiz(page: Page, subject: str, body: str, files: list) -> None:
    await page.get_by_label("To").select_option(label=RUIZ)
    await page.get_by_label("Subject").fill(subject)
    await page.get_by_label("Message", exact=True).fill(body)
    await page.get_by_label("Attach files").set_input_files(files)


async def open_compose(page: Page, server: LiveServer) -> None:
    assert await sign_in(page, "alice") == 200
    await check_a11y(page)
    messages = page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="My Messages"
    )
    assert await navigate(page, messages.click) == 200
    await expect(page).to_have_url(f"{server.base_url}/messages")
    await expect(page.get_by_text("No messages yet.")).to_be_visible()
    assert await navigate(page, page.get_by_role("link", name="New message").click) == 200
    await expect(page.get_by_role("heading", level=1)).to_have_text("New message")


async def download(page: Page, name: str) -> bytes:
    async with page.expect_download() as info:
        await page.get_by_role("link", name=name).click()
    d = await info.value
    return await asyncio.to_thread(Path(await d.path()).read_bytes)


async def test_send_reply_and_download_with_javascript(page: Page, live_server: LiveServer):
    env = await alice_and_dr_ruiz()
    await open_compose(page, live_server)
    watch = watch_of(page)
    watch.allow_console_error(r"status of 422", r"/messages$")

    # A renamed program: refused, the answer swapped in place, the text kept.
    loads = len(watch.loads)
    await write_to_dr_ruiz(
        page, "Sleep diary", "Here is my sleep diary.", [file_payload("diary.pdf", EXE)]
    )
    await page.get_by_role("button", name="Send message").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Your message was not sent.")
    await expect(alert).to_be_focused()
    await expect(page.locator("#compose-attachments-error")).to_contain_text(
        "“diary.pdf” is not a PDF, DOC, DOCX, TXT, JPG, PNG, GIF, BMP file"
    )
    await expect(page.get_by_label("Subject")).to_have_value("Sleep diary")
    await expect(page.get_by_label("Message", exact=True)).to_have_value("Here is my sleep diary.")
    await expect(page.get_by_label("To")).to_have_value(str(env["ruiz"]))
    assert len(watch.loads) == loads  # no page load: upload.js swapped the fragment
    await check_a11y(page)

    # The real file: sent, and the browser is taken to the new thread.
    await page.get_by_label("Attach files").set_input_files([file_payload("Sleep diary.pdf", PDF)])
    assert await navigate(page, page.get_by_role("button", name="Send message").click) == 200
    await expect(page).to_have_url(re.compile(r"/messages/\d+\?done=sent$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sleep diary")
    await expect(page.get_by_role("status")).to_have_text("Your message was sent.")
    await expect(page.locator("ol.messages")).to_contain_text("Here is my sleep diary.")
    assert await download(page, "Sleep diary.pdf") == PDF

    # The provider answers; the menu shows it on the next page.
    thread_id = (await MessageThread.select(MessageThread.id).first())["id"]
    ruiz = Actor(env["ruiz"], "", "", live_server.base_url, await current_practice())
    await sending.reply(
        thread_id, actor=ruiz, body="Thank you, Alice. Let's look at it on Thursday.", files=[]
    )
    await page.goto("/messages")
    await check_a11y(page)
    menu = page.get_by_role("navigation", name="Main menu")
    await expect(menu.get_by_role("link", name="My Messages 1 unread")).to_be_visible()
    await expect(page.locator("#threads")).to_contain_text("1 unread")
    assert await navigate(page, page.get_by_role("link", name="Sleep diary").click) == 200
    await expect(page.locator("ol.messages")).to_contain_text("Let's look at it on Thursday.")
    await expect(page.locator("ol.messages .tag")).to_have_text("New")
    await expect(menu.get_by_role("link", name="My Messages", exact=True)).to_be_visible()

    # A reply with a file: sent by XMLHttpRequest, the thread swapped in place.
    loads = len(watch.loads)
    await page.get_by_label("Your reply to Dr. Elena Ruiz, PsyD").fill("See you then.")
    await page.get_by_label("Attach files").set_input_files(
        [file_payload("questions.txt", b"1. Caffeine after noon?\n", "text/plain")]
    )
    await page.get_by_role("button", name="Send reply").click()
    status = page.get_by_role("status")
    await expect(status).to_have_text("Your message was sent.")
    await expect(status).to_be_focused()
    await expect(page.locator("ol.messages > li")).to_have_count(3)
    await expect(page.locator("ol.messages > li").last).to_contain_text("See you then.")
    await expect(page.get_by_label("Your reply to Dr. Elena Ruiz, PsyD")).to_have_value("")
    assert len(watch.loads) == loads
    await check_a11y(page)
    assert await download(page, "questions.txt") == b"1. Caffeine after noon?\n"
    assert await Message.count() == 3


async def test_upload_progress_and_the_size_check_before_sending(
    page: Page, live_server: LiveServer, tmp_path: Path
):
    await alice_and_dr_ruiz()
    await open_compose(page, live_server)
    thread_id = None

    # Over 10 MB: refused in the browser before a byte is sent.
    big = tmp_path / "scan.pdf"
    big.write_bytes(PDF + b"\n" * (MAX_BYTES + 1 - len(PDF)))
    await write_to_dr_ruiz(page, "Scan", "My insurance letter.", [str(big)])
    check = page.locator("[data-upload-check]")
    await expect(check).to_have_text("“scan.pdf” is larger than 10 MB. Attach a smaller file.")
    await expect(page.get_by_label("Attach files")).to_have_attribute("aria-invalid", "true")
    await page.get_by_role("button", name="Send message").click()
    await expect(page.get_by_label("Attach files")).to_be_focused()
    assert await MessageThread.count() == 0
    await check_a11y(page)

    # A slow connection: the progress bar shows while the file goes up.
    medium = tmp_path / "letter.pdf"
    medium.write_bytes(PDF + b"\n" * 600_000)
    await page.get_by_label("Attach files").set_input_files([str(medium)])
    await expect(check).to_have_text("")
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 50, "downloadThroughput": -1, "uploadThroughput": 150_000},
    )
    async with page.expect_navigation(wait_until="load"):
        await page.get_by_role("button", name="Send message").click()
        progress = page.get_by_role("progressbar", name="Sending")
        await expect(progress).to_be_visible()
        await expect(page.get_by_role("button", name="Send message")).to_be_disabled()
        # Some of the file has gone up (or all of it, and the page is leaving).
        await page.wait_for_function(
            "() => { const p = document.querySelector('#compose-progress');"
            " return p === null || p.value > 0; }"
        )
    await cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
    })  # fmt: skip
    await check_a11y(page)
    await expect(page.get_by_role("link", name="letter.pdf")).to_be_visible()
    thread_id = (await MessageThread.select(MessageThread.id).first())["id"]
    await expect(page).to_have_url(f"{live_server.base_url}/messages/{thread_id}?done=sent")


async def test_send_and_reply_without_javascript(nojs_page: Page, live_server: LiveServer):
    page = nojs_page
    await alice_and_dr_ruiz()
    await open_compose(page, live_server)
    watch_of(page).allow_console_error(r"status of 422", r"/messages$")

    # Refused by content: the whole page again (422), the text kept.
    await write_to_dr_ruiz(
        page, "Sleep diary", "Here is my sleep diary.", [file_payload("diary.pdf", EXE)]
    )
    assert await navigate(page, page.get_by_role("button", name="Send message").click) == 422
    await expect(page.get_by_role("alert")).to_contain_text("Your message was not sent.")
    await expect(page.locator("#compose-attachments-error")).to_contain_text(
        "judged by its content, not its name"
    )
    await expect(page.get_by_label("Subject")).to_have_value("Sleep diary")
    await expect(page.get_by_label("Message", exact=True)).to_have_value("Here is my sleep diary.")

    await page.get_by_label("Attach files").set_input_files([file_payload("Sleep diary.pdf", PDF)])
    assert await navigate(page, page.get_by_role("button", name="Send message").click) == 200
    await expect(page).to_have_url(re.compile(r"/messages/\d+\?done=sent$"))
    await expect(page.get_by_role("status")).to_have_text("Your message was sent.")
    await expect(page.locator("ol.messages")).to_contain_text("Here is my sleep diary.")
    await expect(page.get_by_role("link", name="Sleep diary.pdf")).to_be_visible()
    # Progress is an enhancement: without JavaScript it stays hidden.
    await expect(page.locator(".upload-status")).to_be_hidden()

    await page.get_by_label("Your reply to Dr. Elena Ruiz, PsyD").fill("One more page.")
    await page.get_by_label("Attach files").set_input_files([file_payload("page 2.pdf", PDF)])
    assert await navigate(page, page.get_by_role("button", name="Send reply").click) == 200
    await expect(page).to_have_url(re.compile(r"/messages/\d+\?done=sent#reply$"))
    await expect(page.locator("ol.messages > li")).to_have_count(2)
    await expect(page.locator("ol.messages > li").last).to_contain_text("One more page.")
    await expect(page.get_by_role("link", name="page 2.pdf")).to_be_visible()
    assert await download(page, "page 2.pdf") == PDF

"""The outbox and its worker against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
from datetime import timedelta

import pytest

from portal.core import mail
from portal.core.clock import utcnow
from portal.settings import MailSettings
from portal.tables import OutboxMail
from tests import factories
from tests.conftest import IS_POSTGRES
from tests.web import Inbox, smtp_server


@pytest.fixture
def smtp():
    with smtp_server(Inbox()) as inbox:
        yield inbox


def worker_for(smtp, tmp_path, name=None) -> mail.Worker:
    settings = MailSettings(
        smtp_host="127.0.0.1", smtp_port=smtp.port, from_address="portal@harbor.example"
    )
    return mail.Worker(settings, root=tmp_path, name=name)


async def test_new_device_mail_is_delivered_and_says_nothing_clinical(http, smtp, tmp_path):
    from tests.web import sign_in

    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    c = await factories.client(p, "alice")
    prov = await factories.provider(p)
    svc = await factories.service(p, name="Trauma-focused therapy")
    await factories.appointment(
        c["client_id"], prov["provider_id"], svc, utcnow() + timedelta(days=2)
    )
    http.headers["user-agent"] = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0) AppleWebKit Version/18.0 Mobile Safari/604.1"
    )
    await sign_in(http, "alice")

    result = await worker_for(smtp, tmp_path).run_once()
    assert result.sent == 1
    [msg] = smtp.messages
    assert msg["To"] == "alice@mail.example"
    assert msg["From"] == "portal@harbor.example"
    assert msg["Subject"] == "New sign-in to your Harbor Counseling portal account"
    body = msg.get_payload(decode=True).decode()
    assert "Safari on iPhone" in body and "http://testserver.local/profile" in body
    for clinical in ("Trauma", "therapy", "Dr. Smith", "appointment", "$"):
        assert clinical not in body
    row = await OutboxMail.select().first()
    assert row["sent_at"] is not None and row["attempts"] == 1


async def test_failed_send_is_retried_with_backoff(smtp, tmp_path):
    smtp.refuse = 1
    await mail.queue(
        "bob@mail.example", "password_reset", practice_name="P", link="http://x/r/1", minutes=30
    )
    worker = worker_for(smtp, tmp_path)
    first = await worker.run_once()
    assert (first.sent, first.failed) == (0, 1)
    row = await OutboxMail.select().first()
    assert row["attempts"] == 1 and "451" in row["last_error"] and row["sent_at"] is None
    assert row["send_after"] > utcnow() + timedelta(seconds=50)  # backed off a minute
    # Not due yet: nothing happens.
    assert (await worker.run_once()).sent == 0
    await OutboxMail.update({OutboxMail.send_after: utcnow() - timedelta(seconds=1)}).where(
        OutboxMail.id == row["id"]
    )
    assert (await worker.run_once()).sent == 1
    assert len(smtp.messages) == 1
    row = await OutboxMail.select().first()
    assert row["attempts"] == 2 and row["sent_at"] is not None


async def test_gives_up_after_the_last_attempt(smtp, tmp_path):
    smtp.refuse = 100
    await mail.queue(
        "bob@mail.example", "password_reset", practice_name="P", link="http://x/r/1", minutes=30
    )
    worker = worker_for(smtp, tmp_path)
    for _ in range(mail.MAX_ATTEMPTS):
        await OutboxMail.update({OutboxMail.send_after: utcnow() - timedelta(seconds=1)}).where(
            OutboxMail.id.is_not_null()
        )
        await worker.run_once()
    row = await OutboxMail.select().first()
    assert row["failed_at"] is not None and row["attempts"] == mail.MAX_ATTEMPTS
    await OutboxMail.update({OutboxMail.send_after: utcnow() - timedelta(seconds=1)}).where(
        OutboxMail.id.is_not_null()
    )
    assert (await worker.run_once()).failed == 0


async def test_two_workers_never_send_one_mail_twice(smtp, tmp_path):
    for n in range(40):
        await mail.queue(
            f"c{n}@mail.example",
            "password_reset",
            practice_name="P",
            link=f"http://x/r/{n}",
            minutes=30,
        )
    workers = [worker_for(smtp, tmp_path, name=f"w{i}") for i in range(2)]

    async def drain(w):
        total = 0
        while (r := await w.run_once(limit=5)).sent:
            total += r.sent
        return total

    counts = await asyncio.gather(*(drain(w) for w in workers))
    assert sum(counts) == 40
    recipients = [m["To"] for m in smtp.messages]
    assert len(recipients) == len(set(recipients)) == 40
    if IS_POSTGRES:
        # SKIP LOCKED let both workers claim rows side by side.
        assert all(counts), counts


async def test_a_crashed_workers_lease_runs_out(smtp, tmp_path):
    await mail.queue(
        "bob@mail.example", "password_reset", practice_name="P", link="http://x/r/1", minutes=30
    )
    crashed = worker_for(smtp, tmp_path, name="crashed")
    assert len(await crashed.claim()) == 1  # claimed, then the process died
    other = worker_for(smtp, tmp_path, name="other")
    assert (await other.run_once()).sent == 0
    await OutboxMail.update({OutboxMail.claimed_until: utcnow() - timedelta(seconds=1)}).where(
        OutboxMail.id.is_not_null()
    )
    assert (await other.run_once()).sent == 1


async def test_without_smtp_mails_become_eml_files(tmp_path):
    await mail.queue(
        "bob@mail.example", "password_reset", practice_name="P", link="http://x/r/1", minutes=30
    )
    worker = mail.Worker(MailSettings(outbox_dir="var/mail"), root=tmp_path)
    assert (await worker.run_once()).sent == 1
    [path] = list((tmp_path / "var" / "mail").glob("*.eml"))
    msg = email.message_from_bytes(path.read_bytes())
    assert msg["To"] == "bob@mail.example" and "http://x/r/1" in msg.get_payload()

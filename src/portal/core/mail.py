"""Mail: an outbox in the database, and a worker that sends it.

`queue()` writes a row in whatever transaction the caller is in, so a mail
exists exactly when the action that caused it committed. `Worker.run_once()`
claims due rows (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: inside an
immediate transaction, which admits one writer), sends them with aiosmtplib, or
writes them as `.eml` files when no SMTP host is configured, and on failure
retries with exponential backoff. A claim is a lease: a worker that dies
mid-send frees its rows when the lease runs out.

Mails say that something happened and link to the portal; they never carry
clinical or financial detail.

A password reset mail carries a live single-use link. The outbox holds it only
until the mail is sent (or given up): then its body is kept with the link's
token cut out (`core.redact`), so the table never keeps a working link.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from portal.core.clock import utcnow
from portal.core.db import write_transaction
from portal.core.redact import redact
from portal.settings import MailSettings
from portal.tables import OutboxMail

log = logging.getLogger("portal.mail")

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)

# Due: unsent, not given up, its backoff over, and not leased to a live worker.
CLAIM_POSTGRES = """
UPDATE outbox_mail SET claimed_by = {}, claimed_until = {}
WHERE id IN (
    SELECT id FROM outbox_mail
    WHERE sent_at IS NULL AND failed_at IS NULL AND send_after <= {}
      AND (claimed_until IS NULL OR claimed_until < {})
    ORDER BY id LIMIT {} FOR UPDATE SKIP LOCKED)
RETURNING *"""
DUE_SQLITE = """
SELECT * FROM outbox_mail
WHERE sent_at IS NULL AND failed_at IS NULL AND send_after <= {}
  AND (claimed_until IS NULL OR claimed_until < {})
ORDER BY id LIMIT {}"""

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "mails"),
    autoescape=False,  # noqa: S701 - plain-text mail, never HTML
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render(template: str, **context) -> tuple[str, str]:
    """A mail template's subject (its first line) and body (the rest)."""
    text = _templates.get_template(f"{template}.txt").render(**context)
    subject, _, body = text.partition("\n")
    return subject.removeprefix("Subject:").strip(), body.lstrip("\n")


async def queue(to: str, template: str, **context) -> None:
    """Add a mail to the outbox, in the caller's transaction."""
    subject, body = render(template, **context)
    now = utcnow()
    await OutboxMail.insert(
        OutboxMail(
            to_address=to,
            subject=subject,
            body=body,
            kind=template,
            created_at=now,
            send_after=now,
        )
    )


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes, at most 2 hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 120))


@dataclass
class Sent:
    sent: int = 0
    failed: int = 0


class Worker:
    def __init__(self, settings: MailSettings, *, root: Path, name: str | None = None) -> None:
        self.settings = settings
        self.outbox_dir = root / settings.outbox_dir
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    async def claim(self, limit: int = 20) -> list[dict]:
        now = utcnow()
        db = OutboxMail._meta.db
        if db.engine_type == "postgres":
            return await OutboxMail.raw(CLAIM_POSTGRES, self.name, now + LEASE, now, now, limit)
        # A plain read first: most passes find nothing due, and then take no write lock
        # (with several workers on one file, each pass would otherwise queue writers).
        if not await OutboxMail.raw(DUE_SQLITE, now, now, 1):
            return []
        async with write_transaction():
            rows = await OutboxMail.raw(DUE_SQLITE, now, now, limit)
            if rows:
                await OutboxMail.update(
                    {OutboxMail.claimed_by: self.name, OutboxMail.claimed_until: now + LEASE}
                ).where(OutboxMail.id.is_in([r["id"] for r in rows]))
        return rows

    def message(self, row: dict) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.from_address
        msg["To"] = row["to_address"]
        msg["Subject"] = row["subject"]
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=self.settings.from_address.rpartition("@")[2] or None)
        msg.set_content(row["body"])
        return msg

    async def deliver(self, msg: EmailMessage, row: dict) -> None:
        s = self.settings
        if not s.smtp_host:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            stamp = utcnow().strftime("%Y%m%dT%H%M%S")
            path = self.outbox_dir / f"{stamp}-{row['id']}-{row['kind'] or 'mail'}.eml"
            path.write_bytes(bytes(msg))
            return
        await aiosmtplib.send(
            msg,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            start_tls=s.smtp_starttls,
            timeout=30,
        )

    async def run_once(self, limit: int = 20) -> Sent:
        result = Sent()
        for row in await self.claim(limit):
            try:
                await self.deliver(self.message(row), row)
            except (aiosmtplib.SMTPException, OSError) as exc:
                attempts = row["attempts"] + 1
                give_up = attempts >= MAX_ATTEMPTS
                values = {
                    OutboxMail.attempts: attempts,
                    OutboxMail.last_error: f"{type(exc).__name__}: {exc}"[:500],
                    OutboxMail.send_after: utcnow() + backoff(attempts),
                    OutboxMail.claimed_by: "",
                    OutboxMail.claimed_until: None,
                    OutboxMail.failed_at: utcnow() if give_up else None,
                }
                if give_up:  # never sent: nor kept with a link in it
                    values[OutboxMail.body] = redact(row["body"])
                await OutboxMail.update(values).where(OutboxMail.id == row["id"])
                log.warning(
                    "mail %s attempt %s failed: %s", row["id"], attempts, type(exc).__name__
                )
                result.failed += 1
            else:
                await OutboxMail.update(
                    {
                        # Sent: the link in it is the recipient's alone now.
                        OutboxMail.body: redact(row["body"]),
                        OutboxMail.sent_at: utcnow(),
                        OutboxMail.attempts: row["attempts"] + 1,
                        OutboxMail.claimed_until: None,
                    }
                ).where(OutboxMail.id == row["id"])
                result.sent += 1
        return result

    async def run_forever(self, interval: float = 2.0) -> None:
        log.info("mail worker %s started", self.name)
        while True:
            try:
                while (await self.run_once()).sent:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep the worker alive; the row is retried
                log.exception("mail worker pass failed")
            await asyncio.sleep(interval)

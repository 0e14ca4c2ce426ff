"""The world the access matrix (test_access_matrix.py) runs in: one practice, client A (Alice,
Dr. Ana's client) with one of every record, client B (Bob, Dr. Ben's), and a staff member
of every role, each with a session made directly (no password hashing per persona).

`fill(path)` puts Alice's ids into a route's path parameters, so every persona but the
ones entitled to Alice's records asks for something that is not theirs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta

from portal.accounts.auth import create_user, start_session
from portal.accounts.passwords import hash_password_async
from portal.billing import payment_settings
from portal.core.actor import Actor
from portal.core.clock import utcnow
from portal.core.crypto import Cipher
from portal.tables import (
    ApiToken,
    AvailabilityBlock,
    AvailabilityException,
    Client,
    ClientContact,
    ClientEmail,
    ClientPhone,
    ClientProvider,
    CustomField,
    FormAssignment,
    FormTemplate,
    InsurancePolicy,
    LedgerEntry,
    Message,
    MessageAttachment,
    MessageThread,
    Practice,
    Provider,
    SavedCard,
    StoredFile,
)
from portal.tables.accounts import Role
from portal.tables.ledger import EntryKind
from portal.tables.people import ClientStatus
from tests import factories

PERSONAS = ("anon", "alice", "bob", "owner", "manager", "dra", "drb", "scheduler", "biller")
CLIENTS = ("alice", "bob")
STAFF = ("owner", "manager", "dra", "drb", "scheduler", "biller")
PNG = factories.image("PNG")


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)  # path parameter -> Alice's record id
    tokens: dict[str, str] = field(default_factory=dict)  # persona -> session token
    users: dict[str, int] = field(default_factory=dict)

    def fill(self, path: str) -> str:
        def one(m: re.Match) -> str:
            name, kind = m.group(1), m.group(2)
            if name in self.ids:
                return str(self.ids[name])
            if kind == "int":
                raise KeyError(f"no id for the path parameter {name!r} in {path}")
            return {"name": "balance", "widget": "balance", "side": "front",
                    "token": "x" * 43}.get(name, "x")  # fmt: skip

        return re.sub(r"\{(\w+):(\w+)\}", one, path)


async def _file(user_id: int, client_id: int | None = None) -> int:
    rows = await StoredFile.insert(
        StoredFile(
            content_type="image/png",
            display_name="card.png",
            size=len(PNG),
            sha256=hashlib.sha256(PNG).hexdigest(),
            data=PNG,
            uploaded_by=user_id,
            created_at=utcnow(),
        )
    ).returning(StoredFile.id)
    return rows[0]["id"]


_HASH: list[str] = []


async def _password_hash() -> str:
    """One argon2 hash for every persona (made once per run: the matrix rebuilds its world
    often, and signs in with sessions, never with the password)."""
    if not _HASH:
        _HASH.append(await hash_password_async(factories.PASSWORD))
    return _HASH[0]


async def _id(query) -> int:  # noqa: ANN001 - a Piccolo insert
    return (await query)[0]["id"]


async def build(settings) -> World:  # noqa: ANN001 - the test settings
    w = World()
    now = utcnow()
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await payment_settings.save_settings(
        p, Cipher(settings.secret()), publishable_key="pk_test_portal",
        secret_key="sk_test_portal", webhook_secret=factories.WEBHOOK_SECRET,
        max_credit_cents=50000, actor=Actor.system(),
    )  # fmt: skip
    svc = await factories.service(p)
    loc = await factories.location(p)
    w.ids["service_id"], w.ids["location_id"] = svc, loc
    hashed = await _password_hash()

    async def user(name: str, role: Role) -> int:
        return await create_user(name, f"{name}@mail.example", "", role, password_hash=hashed)

    async def provider(name: str, display: str) -> dict:
        uid = await user(name, Role.provider)
        pid = await _id(
            Provider.insert(Provider(practice=p, user=uid, display_name=display)).returning(
                Provider.id
            )
        )
        return {"user_id": uid, "provider_id": pid}

    async def client(name: str) -> dict:
        uid = await user(name, Role.client)
        cid = await _id(
            Client.insert(
                Client(practice=p, user=uid, first_name=name.title(), last_name="Tester",
                       status=ClientStatus.active, created_at=now)
            ).returning(Client.id)
        )  # fmt: skip
        return {"user_id": uid, "client_id": cid}

    dra = await provider("dra", "Dr. Ana")
    drb = await provider("drb", "Dr. Ben")
    alice = await client("alice")
    bob = await client("bob")
    staff = {r: await user(r, Role(r)) for r in ("owner", "manager", "scheduler", "biller")}
    await Practice.update(
        {
            Practice.designated_scheduler: staff["scheduler"],
            Practice.designated_biller: staff["biller"],
        }
    ).where(Practice.id == p)
    w.users = {"alice": alice["user_id"], "bob": bob["user_id"], "dra": dra["user_id"],
               "drb": drb["user_id"], **staff}  # fmt: skip
    a, b = alice["client_id"], bob["client_id"]
    w.ids["client_id"] = a
    w.ids["provider_id"] = dra["provider_id"]  # Dr. Ana's provider settings and hours
    w.ids["block_id"] = await _id(
        AvailabilityBlock.insert(
            AvailabilityBlock(provider=dra["provider_id"], weekday=0, start_minute=540,
                              end_minute=720, location=loc)
        ).returning(AvailabilityBlock.id)
    )  # fmt: skip
    w.ids["exception_id"] = await _id(
        AvailabilityException.insert(
            AvailabilityException(provider=dra["provider_id"], kind="off", note="Conference",
                                  on_date=(now + timedelta(days=9)).date())
        ).returning(AvailabilityException.id)
    )  # fmt: skip
    await ClientProvider.insert(ClientProvider(client=a, provider=dra["provider_id"]))
    soon = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    w.ids["appointment_id"] = await factories.appointment(
        a, dra["provider_id"], svc, soon, location_id=loc
    )
    await factories.appointment(b, drb["provider_id"], svc, soon, location_id=loc)
    thread = await _id(
        MessageThread.insert(
            MessageThread(client=a, staff=dra["user_id"], assigned_to=dra["user_id"],
                          subject="Thursday", created_at=now, last_message_at=now)
        ).returning(MessageThread.id)
    )  # fmt: skip
    w.ids["thread_id"] = thread
    message = await _id(
        Message.insert(
            Message(thread=thread, sender=alice["user_id"], body="Hi", created_at=now)
        ).returning(Message.id)
    )
    attachment_file = await _file(alice["user_id"])
    w.ids["attachment_id"] = await _id(
        MessageAttachment.insert(
            MessageAttachment(message=message, file=attachment_file)
        ).returning(MessageAttachment.id)
    )
    template = await _id(
        FormTemplate.insert(
            FormTemplate(practice=p, slug="intake", title="Intake", updated_at=now,
                         definition={"intro": "", "fields": [], "assign": []})
        ).returning(FormTemplate.id)
    )  # fmt: skip
    w.ids["template_id"] = template
    w.ids["assignment_id"] = await _id(
        FormAssignment.insert(
            FormAssignment(client=a, template=template, assigned_at=now, status="submitted",
                           submitted_at=now, submitted_definition={"intro": "", "fields": []})
        ).returning(FormAssignment.id)
    )  # fmt: skip
    card = await _file(alice["user_id"])
    w.ids["file_id"] = card
    w.ids["policy_id"] = await _id(
        InsurancePolicy.insert(
            InsurancePolicy(client=a, payer="Aetna", member_id="W123", subscriber_name="Alice",
                            card_front=card, created_at=now)
        ).returning(InsurancePolicy.id)
    )  # fmt: skip
    w.ids["charge_id"] = await factories.ledger(a, EntryKind.charge, 15000)
    w.ids["entry_id"] = await _id(
        LedgerEntry.insert(
            LedgerEntry(client=a, kind=EntryKind.payment, amount_cents=5000, method="card",
                        external_id="pi_alice", entry_date=now.date(), created_at=now)
        ).returning(LedgerEntry.id)
    )  # fmt: skip
    w.ids["card_id"] = await _id(
        SavedCard.insert(
            SavedCard(client=a, payment_method_id="pm_alice", brand="visa", last4="4242",
                      exp_month=12, exp_year=2030, created_at=now)
        ).returning(SavedCard.id)
    )  # fmt: skip
    w.ids["contact_id"] = await _id(
        ClientContact.insert(ClientContact(client=a, name="Sam", created_at=now)).returning(
            ClientContact.id
        )
    )
    w.ids["phone_id"] = await _id(
        ClientPhone.insert(
            ClientPhone(client=a, kind="mobile", number="+16175550142", created_at=now)
        ).returning(ClientPhone.id)
    )
    w.ids["email_id"] = await _id(
        ClientEmail.insert(
            ClientEmail(client=a, address="alice@mail.example", is_primary=True, created_at=now)
        ).returning(ClientEmail.id)
    )
    w.ids["field_id"] = await _id(
        CustomField.insert(CustomField(practice=p, label="Referred by")).returning(CustomField.id)
    )
    # --- Issue 15's areas: ids their routes need beyond the above, one block per area. ---
    # billing: the document a staff billing route shows (/billing/documents/{document}).
    w.ids["document"] = "statement"
    # --- Issue 16: an API token (Dr. Ana's) for the embedding settings' revoke route. ---
    w.ids["token_id"] = await _id(
        ApiToken.insert(
            ApiToken(user=dra["user_id"], name="EHR", token_hash="0" * 64, prefix="pt_0000",
                     scopes="read", created_at=now, expires_at=now + timedelta(days=30))
        ).returning(ApiToken.id)
    )  # fmt: skip

    for persona, user_id in w.users.items():
        w.tokens[persona] = await start_session(user_id, ip="203.0.113.7", user_agent="matrix")
    return w

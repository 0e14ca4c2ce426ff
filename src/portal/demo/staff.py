"""The staff side of the demo: custom demographics, providers assigned to their clients,
a client staff created who has no portal account yet (to invite), and one who registered
through the portal and waits for approval."""

from __future__ import annotations

from datetime import date, timedelta

from portal.core.clock import utcnow
from portal.tables import (
    Appointment,
    Client,
    ClientEmail,
    ClientPhone,
    ClientProvider,
    CustomField,
    CustomFieldValue,
    Provider,
)
from portal.tables.people import ClientStatus

FIELDS = [
    # label, kind, choices
    ("Referred by", "text", ""),
    ("Preferred language", "choice", "English\nSpanish\nPortuguese\nHaitian Creole\nOther"),
    ("Consent to leave voicemail", "yesno", ""),
]


async def seed_demo(practice_id: int, client_username: str = "client") -> None:
    now = utcnow()
    field_ids = []
    for position, (label, kind, choices) in enumerate(FIELDS, start=1):
        row = await CustomField.insert(
            CustomField(practice=practice_id, label=label, kind=kind, choices=choices,
                        position=position)
        ).returning(CustomField.id)  # fmt: skip
        field_ids.append(row[0]["id"])

    # Each client's providers: those they see, assigned.
    pairs = await Appointment.select(Appointment.client, Appointment.provider).distinct()
    for pair in pairs:
        await ClientProvider.insert(
            ClientProvider(client=pair["client"], provider=pair["provider"])
        )

    client = await Client.select(Client.id).where(Client.user.username == client_username).first()
    if client:
        await CustomFieldValue.insert(
            CustomFieldValue(field=field_ids[0], client=client["id"], value="Dr. Patel (PCP)"),
            CustomFieldValue(field=field_ids[1], client=client["id"], value="English"),
            CustomFieldValue(field=field_ids[2], client=client["id"], value="yes"),
        )

    first = await Provider.select(Provider.id).where(Provider.practice == practice_id).first()
    # Added by the front desk from a referral: no portal account yet ("Invite to the portal").
    nora = await _client(practice_id, "Nora", "Quinn", date(1991, 4, 17), "nora.quinn@mail.example",
                         "+16175550177", ClientStatus.new)  # fmt: skip
    if first:
        await ClientProvider.insert(ClientProvider(client=nora, provider=first["id"]))
    # Registered through /register, waiting for approval (no account is made for the demo:
    # staff see the request on the staff home and the record).
    sam = await _client(practice_id, "Sam", "Ortega", date(1988, 11, 2), "sam.ortega@mail.example",
                        "+16175550188", ClientStatus.new)  # fmt: skip
    await Client.update(
        {
            Client.self_registered: True,
            Client.registration_message: "I'd like to start therapy for anxiety, evenings if possible.",
            Client.created_at: now - timedelta(days=1),
        }
    ).where(Client.id == sam)


async def _client(practice_id, first, last, born, email, mobile, status) -> int:  # noqa: ANN001
    now = utcnow()
    cid = (
        await Client.insert(
            Client(
                practice=practice_id,
                first_name=first,
                last_name=last,
                date_of_birth=born,
                status=status,
                created_at=now,
                address_line1=f"{len(first) * 11} Elm Street",
                city="Cambridge",
                region="MA",
                postal_code="02139",
            )
        ).returning(Client.id)
    )[0]["id"]
    await ClientEmail.insert(
        ClientEmail(client=cid, address=email, is_primary=True, created_at=now)
    )
    await ClientPhone.insert(ClientPhone(client=cid, kind="mobile", number=mobile, created_at=now))
    return cid

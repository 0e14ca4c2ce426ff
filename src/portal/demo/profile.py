"""The demo client's profile details: a mobile and a work phone, a primary email, reminders,
a responsible party. Only the demo client gets them; the other demo clients have none."""

from __future__ import annotations

from portal.core.clock import utcnow
from portal.profile.contact_points import parse_phone
from portal.tables import Client, ClientContact, ClientEmail, ClientPhone, ReminderSettings


async def seed_demo(username: str = "client") -> None:
    """The demo client's details: a mobile phone, a primary email, reminders, a responsible party."""
    row = (
        await Client.select(Client.id, Client.last_name, Client.user.email.as_alias("email"))
        .where(Client.user.username == username)
        .first()
    )
    if row is None:
        return
    now = utcnow()
    await ClientPhone.insert(
        ClientPhone(client=row["id"], kind="mobile", number=parse_phone("(617) 555-0187"), created_at=now),
        ClientPhone(client=row["id"], kind="work", number=parse_phone("(617) 555-0123"), created_at=now),
    )  # fmt: skip
    await ClientEmail.insert(
        ClientEmail(client=row["id"], address=row["email"], is_primary=True, created_at=now)
    )
    await ReminderSettings.insert(
        ReminderSettings(
            client=row["id"], channel="both", days_before=2, extra_recipients=[], updated_at=now
        )
    )
    await ClientContact.insert(
        ClientContact(
            client=row["id"],
            name=f"Morgan {row['last_name']}",
            relationship="Spouse",
            phone=parse_phone("(617) 555-0164"),
            email="morgan@mail.example",
            is_responsible_party=True,
            responsible_for_payment=True,
            created_at=now,
        )
    )

"""HIPAA on the staff side: the access log and the minimum necessary.

The access log of staff reads (`staff.read`) for the routes that read one item of a
client's record (a submitted form, its PDF, an insurance card image, an inbox thread, one
of its attachments): each read that happened is one row naming the item; an item that is
not this client's, or does not exist, is a 404 and writes no row at all. A client search
is audited (`staff.search`) without its text. A self-registration's message (free text,
maybe clinical) is shown to the clinical roles only; the scheduler, who may create clients
but not read demographics, neither sees nor sets them on the new-client form."""

from __future__ import annotations

import json

from portal.core.clock import utcnow
from portal.messaging import sending
from portal.tables import (
    AuditEvent,
    Client,
    CustomField,
    CustomFieldValue,
    FormAssignment,
    InsurancePolicy,
    MessageAttachment,
    User,
)
from tests.http import test_staff_clients as clients
from tests.http import test_staff_inbox as inbox
from tests.http import test_staff_record as record
from tests.web import Page, post_form, sign_in, signed_in

NEW = clients.NEW
GOOD = clients.GOOD
listed = clients.listed
people = clients.people
get, scene, base = record.get, record.scene, record.base


async def reads() -> list[dict]:
    rows = (
        await AuditEvent.select().where(AuditEvent.action == "staff.read").order_by(AuditEvent.id)
    )
    for row in rows:
        if not isinstance(row["detail"], dict):
            row["detail"] = json.loads(row["detail"])
    return rows


async def test_each_record_item_read_is_one_row_naming_the_item(http):
    s = await record.scene()
    await sign_in(http, "olivia")
    base, cid = record.base(s), s["cid"]
    items = {
        f"/forms/{s['intake']}": ("forms", f"form:{s['intake']}"),
        f"/forms/{s['intake']}/pdf": ("forms", f"form:{s['intake']}:pdf"),
        f"/insurance/{s['policy']}/front": ("insurance", f"policy:{s['policy']}:front"),
    }
    for path, (part, item) in items.items():
        await AuditEvent.delete().where(AuditEvent.action == "staff.read")
        assert (await http.get(base + path)).status_code == 200, path
        rows = await reads()
        assert len(rows) == 1, (path, rows)
        assert rows[0]["actor"] == s["owner"] and rows[0]["subject"] == f"client:{cid}"
        assert rows[0]["detail"] == {"client": cid, "part": part, "role": "owner", "item": item}


async def test_a_foreign_or_unknown_record_item_writes_no_read_row(http):
    s = await record.scene()
    bob = s["bob"]["client_id"]
    bob_form = await FormAssignment.insert(
        FormAssignment(client=bob, template=s["intake_template"], assigned_at=utcnow(),
                       status="submitted")
    ).returning(FormAssignment.id)  # fmt: skip
    bob_policy = await InsurancePolicy.insert(
        InsurancePolicy(client=bob, payer="Bob's Payer", member_id="B1", subscriber_name="Bob",
                        subscriber_relationship="self", created_at=utcnow())
    ).returning(InsurancePolicy.id)  # fmt: skip
    await sign_in(http, "olivia")  # reaches Alice's record: only the item is missing
    missing = [
        f"/forms/{s['consent']}",  # Alice's, still open: nothing to read yet
        f"/forms/{s['consent']}/pdf",
        f"/forms/{bob_form[0]['id']}",  # Bob's form under Alice's record
        f"/forms/{bob_form[0]['id']}/pdf",
        "/forms/999999",
        "/forms/999999/pdf",
        f"/insurance/{s['policy']}/back",  # no image on that side
        f"/insurance/{s['policy']}/side",
        f"/insurance/{s['old_policy']}/front",
        f"/insurance/{bob_policy[0]['id']}/front",
        "/insurance/999999/front",
    ]
    for path in missing:
        assert (await http.get(record.base(s) + path)).status_code == 404, path
    assert await reads() == []


async def test_an_inbox_thread_and_an_attachment_each_write_one_row_naming_them(app):
    env = await inbox.scene()
    alice = env["alice"]["client_id"]
    thread = await inbox.client_writes(
        env, "alice", env["ruiz"], "Scan", "Attached", [sending.Upload("a.pdf", inbox.PDF)]
    )
    attachment = (await MessageAttachment.select(MessageAttachment.id).first())["id"]
    async with signed_in(app, "ruiz") as http:
        assert (await http.get(f"/staff/inbox/{thread}")).status_code == 200
        rows = await reads()
        assert len(rows) == 1
        assert rows[0]["subject"] == f"client:{alice}" and rows[0]["actor"] == env["ruiz"]
        assert rows[0]["detail"] == {
            "client": alice, "part": "messages", "role": "provider", "item": f"thread:{thread}",
        }  # fmt: skip
        await AuditEvent.delete().where(AuditEvent.action == "staff.read")
        got = await http.get(f"/staff/inbox/{thread}/attachments/{attachment}")
        assert got.status_code == 200 and got.content == inbox.PDF
        rows = await reads()
        assert len(rows) == 1 and rows[0]["detail"]["item"] == f"attachment:{attachment}"
        assert rows[0]["detail"]["part"] == "messages"


async def test_a_foreign_or_unknown_thread_or_attachment_writes_no_read_row(app):
    env = await inbox.scene()
    thread = await inbox.client_writes(
        env, "alice", env["ruiz"], "Scan", "Attached", [sending.Upload("a.pdf", inbox.PDF)]
    )
    attachment = (await MessageAttachment.select(MessageAttachment.id).first())["id"]
    async with signed_in(app, "ruiz") as http:
        for path in (
            f"/staff/inbox/{env['t_chen']}",  # James Chen's thread
            "/staff/inbox/999999",
            f"/staff/inbox/{env['t_ruiz']}/attachments/{attachment}",  # not in that thread
            f"/staff/inbox/{thread}/attachments/999999",
            f"/staff/inbox/{env['t_chen']}/attachments/{attachment}",
        ):
            assert (await http.get(path)).status_code == 404, path
    assert await reads() == []


# --- The minimum necessary -------------------------------------------------------------------

CLINICAL = "I have panic attacks at night since my father died"


async def test_a_self_registration_message_is_shown_only_to_clinical_roles(app):
    s = await scene()
    await Client.update(
        {Client.self_registered: True, Client.registration_message: CLINICAL}
    ).where(Client.id == s["cid"])
    placeholder = "The client left a message for the practice's clinicians."
    # The scheduler has the approval box (Part.invite), the biller only the profile.
    for username, box in (("priya", True), ("tom", False)):
        async with signed_in(app, username) as staff:
            for path in ("", "/profile"):
                for htmx in (False, True):
                    page = await get(staff, base(s) + path, htmx=htmx)
                    assert page.status_code == 200, (username, path)
                    assert CLINICAL not in page.raw and "panic" not in page.raw, username
                    assert placeholder in page.text, username
                    assert ('id="approval"' in page.raw) is box, username
    # Owner and the client's provider read it, in the profile and in the approval box.
    for username in ("olivia", "ruiz"):
        async with signed_in(app, username) as staff:
            page = await get(staff, f"{base(s)}/profile")
            assert page.text.count(CLINICAL) == 2 and placeholder not in page.text, username


async def test_the_scheduler_neither_sees_nor_sets_demographics_on_a_new_client(http, app):
    env = await people()
    field = await CustomField.insert(
        CustomField(practice=env["practice"], label="Referral source", kind="text", position=1)
    ).returning(CustomField.id)
    custom = f"custom_{field[0]['id']}"
    async with signed_in(app, "marcus") as manager:  # Part.demographics: the fields are there
        page = (await manager.get(NEW)).text
        assert 'name="gender"' in page and f'name="{custom}"' in page and "Demographics" in page
    await sign_in(http, "priya")
    page = Page(await http.get(NEW))
    assert page.status_code == 200 and "First name" in page.text
    for name in ("gender", "marital_status", "employment", custom):
        assert f'name="{name}"' not in page.raw, name
    assert "Demographics" not in page.text and "Referral source" not in page.text
    data = {**GOOD, "gender": "Female", custom: "x"}
    r = await post_form(http, "/staff/clients", data, page=NEW)
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    row = await Client.select().where(Client.id == cid).first()
    assert row["first_name"] == "Dana" and row["city"] == "Boston"
    assert [row[k] for k in ("gender", "marital_status", "employment")] == ["", "", ""]
    assert not await CustomFieldValue.exists().where(CustomFieldValue.client == cid)
    # A bad value is not even looked at: it is not the scheduler's to set.
    r = await post_form(http, "/staff/clients", {**GOOD, "email": "", "gender": "Astronaut"},
                        page=NEW)  # fmt: skip
    assert r.status_code == 303


def search_events_detail(rows: list[dict]) -> list[dict]:
    return [r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"]) for r in rows]


async def test_a_search_is_audited_without_its_text(http):
    env = await people()
    await sign_in(http, "owner")
    await listed(http)  # no search: nothing audited
    await listed(http, "?status=active")
    assert not await AuditEvent.exists().where(AuditEvent.action == "staff.search")
    assert await listed(http, "?q=Quinn") == {env["robert"]}
    assert await listed(http, "?q=03/14/1985&status=new") == {env["robert"]}
    assert await listed(http, "?q=nobody") == set()
    rows = (
        await AuditEvent.select().where(AuditEvent.action == "staff.search").order_by(AuditEvent.id)
    )
    assert len(rows) == 3
    owner = (await User.select(User.id).where(User.username == "owner").first())["id"]
    assert all(r["actor"] == owner for r in rows)
    assert all(r["subject"] == f"practice:{env['practice']}" for r in rows)
    details = search_events_detail(rows)
    assert [(d["kind"], d["results"], d["shown"]) for d in details] == [
        ("name", 1, [env["robert"]]),
        ("date_of_birth", 1, [env["robert"]]),
        ("name", 0, []),
    ]
    assert details[1]["status"] == "new" and details[0]["role"] == "owner"
    for row, detail in zip(rows, details, strict=True):  # the text is PHI: in no form here
        text = json.dumps([row["subject"], row["ip"], detail]).lower()
        for secret in ("quinn", "1985", "03/14", "nobody"):
            assert secret not in text, secret

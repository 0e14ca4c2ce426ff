"""The diagnosis codes (ICD-10) of an appointment, entered by its provider on the agenda.

The provider of the appointment, the owner and managers may set them; schedulers and
billers may not (clinical information: 403). A charge posted for the appointment carries
them unless the biller types others, and the superbill prints them.
"""

from __future__ import annotations

from portal.billing.staff_ledger import parse_diagnoses
from portal.core import audit
from portal.core.actor import Actor
from portal.core.db import write_transaction
from portal.core.errors import Refused
from portal.scheduling import agenda
from portal.staff.access import Staff
from portal.tables import Appointment
from portal.tables.accounts import Role

CLINICAL = frozenset({Role.owner, Role.manager, Role.provider})


def may_enter(staff: Staff) -> bool:
    return staff.role in CLINICAL


async def set_codes(staff: Staff, appointment_id: int, text: str, *, actor: Actor) -> str:
    """Replace the appointment's codes with `text` (checked: Invalid on `diagnoses`); the
    codes as kept, "F41.1, Z63.0"."""
    row = await agenda.one(staff, actor.practice.id, appointment_id)  # out of reach: 404
    if not may_enter(staff):
        raise Refused("Diagnosis codes are entered by the provider, the owner or a manager.")
    codes = parse_diagnoses(text)
    if codes == (row["diagnosis_codes"] or ""):
        return codes
    async with write_transaction():
        await Appointment.update({Appointment.diagnosis_codes: codes}).where(
            Appointment.id == appointment_id
        )
        await audit.record(
            "appointment.diagnoses_set", actor_id=actor.user_id, ip=actor.ip,
            subject=f"appointment:{appointment_id}",
            detail={"client": row["client"], "old": {"diagnosis_codes": row["diagnosis_codes"]},
                    "new": {"diagnosis_codes": codes}},
        )  # fmt: skip
    return codes

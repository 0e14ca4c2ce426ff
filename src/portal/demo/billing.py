"""What the demo practice's superbills need: the practice's NPI and tax id, every demo
client's postal address, and ICD-10 codes on the appointments that were charged.

Run after `portal.demo.practice` has made the practice, its clients and their visits.
"""

from __future__ import annotations

import random

from portal.tables import Appointment, Client, Practice
from portal.tables.scheduling import AppointmentStatus

PRACTICE_NPI = "1528467396"  # a type 2 (organisation) NPI, check digit valid; not a real one
PRACTICE_TAX_ID = "04-3718265"

STREETS = [
    "14 Beacon Street",
    "233 Commonwealth Avenue",
    "9 Pearl Street",
    "71 Tremont Street",
    "502 Massachusetts Avenue",
    "18 Prospect Street",
    "36 Chestnut Hill Road",
]
TOWNS = [
    ("Boston", "02116"),
    ("Cambridge", "02139"),
    ("Somerville", "02143"),
    ("Brookline", "02445"),
]
# Diagnoses a counseling practice codes often: anxiety, depression, adjustment, PTSD, insomnia.
DIAGNOSES = ["F41.1", "F32.1", "F43.23", "F43.10", "F33.1", "F41.0, F51.01"]


async def seed_demo(practice_id: int, rng: random.Random) -> None:
    await Practice.update({Practice.npi: PRACTICE_NPI, Practice.tax_id: PRACTICE_TAX_ID}).where(
        Practice.id == practice_id
    )
    clients = (
        await Client.select(Client.id).where(Client.practice == practice_id).order_by(Client.id)
    )
    for n, c in enumerate(clients):
        city, postal = TOWNS[n % len(TOWNS)]
        await Client.update(
            {
                Client.address_line1: STREETS[n % len(STREETS)],
                Client.address_line2: f"Apt {rng.randrange(1, 40)}" if n % 3 == 0 else "",
                Client.city: city,
                Client.region: "MA",
                Client.postal_code: postal,
            }
        ).where(Client.id == c["id"])
        # One working diagnosis per client, on every visit of theirs that was held.
        await Appointment.update(
            {Appointment.diagnosis_codes: DIAGNOSES[n % len(DIAGNOSES)]}
        ).where(Appointment.client == c["id"], Appointment.status == AppointmentStatus.completed)

"""City Clinic's reference tables (departments, rooms, doctors, insurers, medications, patients)."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from bizsql.demo import fake
from bizsql.demo.city_clinic.schema import AS_OF, PATIENT_COUNT
from bizsql.demo.city_clinic.words import (
    ACCESSIBILITY,
    DEPARTMENTS,
    INSURERS,
    LANGUAGES,
    LOCAL_CITIES,
    MEDICATIONS,
    PRIMARY_CARE,
)

Row = tuple[Any, ...]


def department_id(name: str) -> int:
    return next(i for i, d in enumerate(DEPARTMENTS, start=1) if d[0] == name)


def insurer_id(plan_type: str) -> int:
    return next(i for i, p in enumerate(INSURERS, start=1) if p[1] == plan_type)


class Doctor(NamedTuple):
    id: int
    department_id: int
    name: str
    credential: str
    specialty: str
    license_number: str
    email: str
    hired_on: date
    consultation_fee: Decimal
    is_accepting_patients: bool


class Patient(NamedTuple):
    id: int
    name: str
    date_of_birth: date
    sex: str
    email: str | None
    phone: str
    city: str
    state: str
    insurance_provider_id: int | None
    primary_doctor_id: int | None
    registered_at: datetime
    preferences: str


def department_rows() -> list[Row]:
    return [(i, d[0], d[1], f"x{300 + i * 11}") for i, d in enumerate(DEPARTMENTS, start=1)]


def room_rows(rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    for dept_id, (_, floor, *_) in enumerate(DEPARTMENTS, start=1):
        for n in range(rng.randint(3, 6)):
            kind = "exam" if n < 2 else rng.choice(("exam", "exam", "procedure", "consult", "imaging"))
            number = f"{floor}{(dept_id * 10 + n) % 100:02d}"
            rows.append((len(rows) + 1, dept_id, number, kind, not (n > 2 and rng.random() < 0.1)))
    return rows


def build_doctors(rng: random.Random) -> list[Doctor]:
    doctors: list[Doctor] = []
    for dept_id, (name, _, _, (fee_lo, fee_hi), specialties, _) in enumerate(DEPARTMENTS, start=1):
        count = 7 if name in PRIMARY_CARE else rng.randint(2, 4)
        for _ in range(count):
            did = len(doctors) + 1
            person = fake.person_name(rng)
            credential = rng.choices(("MD", "DO", "NP", "PA"), (60, 15, 15, 10))[0]
            doctors.append(
                Doctor(
                    did,
                    dept_id,
                    person,
                    credential,
                    rng.choice(specialties),
                    f"CO-{credential}-{40000 + did * 37}",
                    fake.email_for(person, did, "cityclinic.example"),
                    fake.random_day(rng, date(2008, 1, 1), date(2023, 12, 31)),
                    Decimal(rng.randint(fee_lo, fee_hi)),
                    rng.random() < 0.85,
                )
            )
    return doctors


def insurer_rows() -> list[Row]:
    return [
        (i, name, plan, pct, f"(800) 555-{1000 + i * 97:04d}")
        for i, (name, plan, pct, _) in enumerate(INSURERS, 1)
    ]


def medication_rows() -> list[Row]:
    return [(i, m[0], m[1], m[2], m[3], fake.money(m[4]), m[5]) for i, m in enumerate(MEDICATIONS, start=1)]


def _preferences(rng: random.Random) -> str:
    return fake.to_json(
        {
            "language": LANGUAGES.pick(rng),
            "contact_method": rng.choice(("sms", "sms", "email", "phone", "portal")),
            "appointment_reminders": rng.random() < 0.85,
            "preferred_time": rng.choice(("morning", "afternoon")),
            "accessibility": [rng.choice(ACCESSIBILITY)] if rng.random() < 0.08 else [],
        }
    )


def _primary_doctor(rng: random.Random, doctors: list[Doctor], child: bool) -> int | None:
    if rng.random() < 0.1:
        return None
    wanted = PRIMARY_CARE[2:] if child else PRIMARY_CARE[:2]
    return rng.choice([d.id for d in doctors if DEPARTMENTS[d.department_id - 1][0] in wanted])


def build_patients(rng: random.Random, doctors: list[Doctor]) -> list[Patient]:
    """Patients in registration order: a third came over when the clinic went live in January 2024."""
    early = sorted(fake.random_day(rng, fake.START, date(2024, 1, 31)) for _ in range(PATIENT_COUNT // 3))
    days = fake.all_days(date(2024, 2, 1), AS_OF)
    later = fake.spread_over_days(rng, PATIENT_COUNT - len(early), days, [1.0] * len(days))
    patients = []
    for i, day in enumerate(early + later, start=1):
        name = fake.person_name(rng)
        born = fake.random_day(rng, date(1938, 1, 1), date(2023, 12, 31))
        child = born > date(2008, 10, 20)
        local = rng.random() < 0.96
        city, state = (LOCAL_CITIES.pick(rng), "CO") if local else fake.CITY_PICKER.pick(rng)
        insurer = (
            None
            if rng.random() < 0.08
            else rng.choices(range(1, len(INSURERS) + 1), [share for *_, share in INSURERS])[0]
        )
        if born < date(1960, 1, 1) and rng.random() < 0.7:
            insurer = insurer_id("Medicare")
        patients.append(
            Patient(
                i,
                name,
                born,
                rng.choices(("F", "M", "X"), (52, 47, 1))[0],
                fake.email_for(name, i, rng.choice(fake.EMAIL_DOMAINS)) if rng.random() < 0.8 else None,
                fake.phone(rng),
                city,
                state,
                insurer,
                _primary_doctor(rng, doctors, child),
                fake.random_time(rng, day, 8, 18),
                _preferences(rng),
            )
        )
    return patients

"""City Clinic's appointments and what follows them, and generate(), which streams every table in order."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from bizsql.demo import fake
from bizsql.demo.city_clinic.data import (
    Doctor,
    Patient,
    Row,
    build_doctors,
    build_patients,
    department_id,
    department_rows,
    insurer_id,
    insurer_rows,
    medication_rows,
    room_rows,
)
from bizsql.demo.city_clinic.schema import APPOINTMENT_COUNT, AS_OF, TABLES
from bizsql.demo.city_clinic.words import (
    CHILD_DEPARTMENTS,
    DEPARTMENTS,
    DIAGNOSES,
    DOSAGE_BY_FORM,
    FREQUENCIES,
    FRONT_DESK_NOTES,
    INSURERS,
    LAB_PANELS,
    LAB_TESTS,
    MEDICATIONS,
    PRESCRIBED_BY,
    PRIMARY_CARE,
)
from bizsql.demo.spec import TableData


class Visits:
    """Appointments and all a visit produces (diagnoses, prescriptions, labs, invoices), in one pass."""

    def __init__(
        self, rng: random.Random, doctors: list[Doctor], rooms: list[Row], patients: list[Patient]
    ) -> None:
        self.rng = rng
        self.doctors = doctors
        self.patients = patients
        self.registered = [p.registered_at.date() for p in patients]
        self.patient_cum = list(accumulate(self._visit_weight(p) for p in patients))
        self.dept_doctors: dict[int, fake.Weighted[Doctor]] = {}
        for dept_id in range(1, len(DEPARTMENTS) + 1):
            staff = [d for d in doctors if d.department_id == dept_id]
            self.dept_doctors[dept_id] = fake.Weighted(staff, [rng.uniform(0.4, 2.0) for _ in staff])
        self.rooms = {dept: [r[0] for r in rooms if r[1] == dept and r[4]] for dept in self.dept_doctors}
        self.adult_departments = fake.Weighted(
            list(range(1, len(DEPARTMENTS) + 1)), [d[2] for d in DEPARTMENTS]
        )
        self.medications = {
            dept[0]: [i for i, m in enumerate(MEDICATIONS, start=1) if m[0] in PRESCRIBED_BY.get(dept[0], ())]
            for dept in DEPARTMENTS
        }
        self.appointments: list[Row] = []
        self.diagnoses: list[Row] = []
        self.prescriptions: list[Row] = []
        self.labs: list[Row] = []
        self.invoices: list[Row] = []

    def _visit_weight(self, patient: Patient) -> float:
        """Older patients and a chronic few visit far more often."""
        age = (AS_OF - patient.date_of_birth).days / 365
        return (0.6 + age / 35) * self.rng.paretovariate(2.0)

    def build(self) -> None:
        days = fake.all_days()
        weights = fake.seasonal_weights(
            days,
            (1.25, 1.2, 1.05, 0.95, 0.9, 0.85, 0.8, 0.95, 1.0, 1.1, 1.1, 0.95),
            (1.15, 1.05, 1.0, 1.0, 0.95, 0.25, 0.0),
            0.12,
        )
        for day in fake.spread_over_days(self.rng, APPOINTMENT_COUNT, days, weights):
            self._appointment(len(self.appointments) + 1, day)

    def _patient(self, day: date) -> Patient:
        eligible = max(bisect_right(self.registered, min(day, AS_OF)), 1)
        target = self.rng.random() * self.patient_cum[eligible - 1]
        return self.patients[bisect_right(self.patient_cum, target, hi=eligible - 1)]

    def _doctor(self, patient: Patient) -> Doctor:
        rng = self.rng
        child = patient.date_of_birth > date(2008, 10, 20)
        if patient.primary_doctor_id and rng.random() < (0.8 if child else 0.45):
            return self.doctors[patient.primary_doctor_id - 1]
        dept = department_id(rng.choice(CHILD_DEPARTMENTS)) if child else self.adult_departments.pick(rng)
        if dept == department_id("Obstetrics & Gynecology") and patient.sex != "F":
            dept = department_id("Family Medicine")
        return self.dept_doctors[dept].pick(rng)

    def _appointment(self, aid: int, day: date) -> None:
        rng = self.rng
        patient = self._patient(day)
        doctor = self._doctor(patient)
        dept_name = DEPARTMENTS[doctor.department_id - 1][0]
        visit_type = rng.choices(
            ("new_patient", "follow_up", "annual_physical", "urgent", "telehealth", "procedure"),
            (12, 40, 12 if DEPARTMENTS[doctor.department_id - 1][0] in PRIMARY_CARE else 2, 10, 14, 6),
        )[0]
        duration = {"new_patient": 45, "annual_physical": 40, "procedure": 60, "urgent": 20}.get(
            visit_type, 30
        )
        start = fake.at_time(day, rng.randint(8, 16), rng.choice((0, 15, 30, 45)))
        if day.weekday() == 5:
            start = start.replace(hour=rng.randint(9, 12))
        booked = start - timedelta(
            days=0 if visit_type == "urgent" else rng.randint(1, 60), hours=rng.randint(1, 8)
        )
        booked = max(booked, patient.registered_at)
        status = self._status(day, visit_type, patient)
        room = None if visit_type == "telehealth" else rng.choice(self.rooms[doctor.department_id])
        note = rng.choice(FRONT_DESK_NOTES) if rng.random() < 0.07 else None
        reason = rng.choice(DEPARTMENTS[doctor.department_id - 1][5])
        self.appointments.append(
            (
                aid,
                patient.id,
                doctor.id,
                room,
                start,
                duration,
                visit_type,
                status,
                reason,
                min(booked, start),
                note,
            )
        )
        if status == "completed":
            self._outcomes(aid, start, patient, doctor, dept_name, duration)
        elif status == "no_show" and patient.insurance_provider_id != insurer_id("Medicaid"):
            self._invoice(aid, day, patient, None, Decimal(50))

    def _status(self, day: date, visit_type: str, patient: Patient) -> str:
        if day > AS_OF:
            return "cancelled" if self.rng.random() < 0.06 else "scheduled"
        no_show = 0.05 if visit_type != "new_patient" else 0.09
        if patient.insurance_provider_id is None:
            no_show *= 2
        return self.rng.choices(("completed", "cancelled", "no_show"), (1 - 0.1 - no_show, 0.1, no_show))[0]

    def _outcomes(
        self, aid: int, start: datetime, patient: Patient, doctor: Doctor, dept: str, duration: int
    ) -> None:
        rng = self.rng
        for n, (code, text) in enumerate(rng.sample(DIAGNOSES[dept], rng.choices((1, 2, 3), (70, 25, 5))[0])):
            self.diagnoses.append((len(self.diagnoses) + 1, aid, code, text, n == 0))
        if rng.random() < 0.45 and self.medications[dept]:
            for med in rng.sample(
                self.medications[dept], min(len(self.medications[dept]), rng.choice((1, 1, 2)))
            ):
                self._prescription(aid, start.date(), patient, doctor, med)
        lab_count = 0
        panels = LAB_PANELS.get(dept)
        if panels and rng.random() < 0.35:
            for test in rng.choice(panels):
                self._lab(aid, start, patient, test)
                lab_count += 1
        fee = doctor.consultation_fee * duration / 30 + 28 * lab_count
        self._invoice(aid, start.date(), patient, patient.insurance_provider_id, fee.quantize(fake.CENT))

    def _prescription(self, aid: int, day: date, patient: Patient, doctor: Doctor, med: int) -> None:
        rng = self.rng
        form = MEDICATIONS[med - 1][2]
        supply = (
            rng.choice((7, 10, 14, 30, 30, 90)) if form in ("tablet", "capsule") else rng.choice((10, 30))
        )
        refills = 0 if supply <= 14 or MEDICATIONS[med - 1][5] else rng.choice((0, 1, 2, 3, 5, 11))
        status = "active" if day + timedelta(days=supply * (refills + 1)) > AS_OF else "completed"
        if rng.random() < 0.05:
            status = "discontinued"
        self.prescriptions.append(
            (
                len(self.prescriptions) + 1,
                aid,
                patient.id,
                doctor.id,
                med,
                day,
                DOSAGE_BY_FORM[form],
                rng.choice(FREQUENCIES),
                supply,
                refills,
                status,
            )
        )

    def _lab(self, aid: int, start: datetime, patient: Patient, test: str) -> None:
        rng = self.rng
        unit, low, high, mean, spread = LAB_TESTS[test]
        collected = start + timedelta(minutes=rng.randint(10, 50))
        resulted: datetime | None = collected + timedelta(hours=rng.randint(4, 72))
        value: Decimal | None = fake.money(max(mean + rng.gauss(0, spread), mean / 10))
        abnormal: bool | None = value is not None and not (low <= float(value) <= high)
        if resulted is not None and resulted.date() > AS_OF:
            resulted, value, abnormal = None, None, None
        self.labs.append(
            (
                len(self.labs) + 1,
                aid,
                patient.id,
                test,
                value,
                unit,
                fake.money(low),
                fake.money(high),
                abnormal,
                collected,
                resulted,
            )
        )

    def _invoice(self, aid: int, day: date, patient: Patient, insurer: int | None, amount: Decimal) -> None:
        rng = self.rng
        covered = (
            (amount * INSURERS[insurer - 1][2] / 100).quantize(fake.CENT) if insurer else Decimal("0.00")
        )
        due = amount - covered
        age = (AS_OF - day).days
        if due == 0 or rng.random() < (0.4 if age < 30 else 0.9):
            status, paid = "paid", min(day + timedelta(days=rng.randint(1, 45)), AS_OF)
        else:
            status, paid = (
                ("open" if age < 30 else rng.choice(("overdue", "overdue", "overdue", "void"))),
                None,
            )
        self.invoices.append(
            (len(self.invoices) + 1, aid, patient.id, insurer, day, amount, covered, due, status, paid)
        )


def generate(rng: random.Random) -> Iterator[TableData]:
    """All eleven tables, parents first; each table draws from its own stream of the business seed."""
    streams = {name: fake.child_rng(rng) for name in TABLES}
    rooms = room_rows(streams["rooms"])
    doctors = build_doctors(streams["doctors"])
    patients = build_patients(streams["patients"], doctors)
    yield TableData("departments", ("id", "name", "floor", "phone_extension"), department_rows())
    yield TableData("rooms", ("id", "department_id", "room_number", "room_type", "is_active"), rooms)
    yield TableData("doctors", Doctor._fields, doctors)
    yield TableData(
        "insurance_providers", ("id", "name", "plan_type", "coverage_percent", "phone"), insurer_rows()
    )
    yield TableData("patients", Patient._fields, patients)
    yield TableData(
        "medications",
        ("id", "name", "drug_class", "form", "strength", "unit_cost", "is_controlled"),
        medication_rows(),
    )
    visits = Visits(streams["appointments"], doctors, rooms, patients)
    visits.build()
    yield TableData(
        "appointments",
        (
            "id",
            "patient_id",
            "doctor_id",
            "room_id",
            "scheduled_at",
            "duration_minutes",
            "visit_type",
            "status",
            "reason",
            "booked_at",
            "notes",
        ),
        visits.appointments,
    )
    yield TableData(
        "diagnoses", ("id", "appointment_id", "icd10_code", "description", "is_primary"), visits.diagnoses
    )
    yield TableData(
        "prescriptions",
        (
            "id",
            "appointment_id",
            "patient_id",
            "doctor_id",
            "medication_id",
            "prescribed_on",
            "dosage",
            "frequency",
            "days_supply",
            "refills",
            "status",
        ),
        visits.prescriptions,
    )
    yield TableData(
        "lab_results",
        (
            "id",
            "appointment_id",
            "patient_id",
            "test_name",
            "result_value",
            "unit",
            "reference_low",
            "reference_high",
            "is_abnormal",
            "collected_at",
            "resulted_at",
        ),
        visits.labs,
    )
    yield TableData(
        "invoices",
        (
            "id",
            "appointment_id",
            "patient_id",
            "insurance_provider_id",
            "issued_on",
            "amount",
            "insurance_covered",
            "patient_due",
            "status",
            "paid_on",
        ),
        visits.invoices,
    )

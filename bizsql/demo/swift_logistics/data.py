"""Swift Logistics' fleet and network tables, with the fuel and maintenance history of each vehicle."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from bizsql.demo import fake
from bizsql.demo.swift_logistics.schema import CUSTOMER_COUNT
from bizsql.demo.swift_logistics.words import (
    COMPANY_WORDS,
    DEPOTS,
    INDUSTRIES,
    MAINTENANCE_COST,
    NEARBY,
    VEHICLE_TYPES,
    VENDORS,
)

Row = tuple[Any, ...]


class Vehicle(NamedTuple):
    id: int
    depot_id: int
    plate_number: str
    vehicle_type: str
    make: str
    model: str
    model_year: int
    fuel_type: str
    capacity_kg: int
    acquired_on: date
    status: str
    odometer_km: int


class Driver(NamedTuple):
    id: int
    depot_id: int
    name: str
    license_class: str
    phone: str
    hired_on: date
    terminated_on: date | None
    hourly_rate: Decimal
    safety_score: int


class Route(NamedTuple):
    id: int
    code: str
    origin_depot_id: int
    destination_depot_id: int
    route_type: str
    distance_km: int
    planned_hours: Decimal
    is_active: bool


def _km(a: int, b: int) -> float:
    """Great-circle distance between two depots times 1.2, a usual road-to-crow-flight ratio."""
    lat1, lon1, lat2, lon2 = map(
        math.radians, (DEPOTS[a - 1][3], DEPOTS[a - 1][4], DEPOTS[b - 1][3], DEPOTS[b - 1][4])
    )
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 1.2 * 2 * 6371 * math.asin(math.sqrt(h))


def depot_rows() -> list[Row]:
    return [(i, d[0], f"Swift {d[1]} Depot", d[1], d[2], d[5], d[6]) for i, d in enumerate(DEPOTS, start=1)]


def warehouse_rows(rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    for depot_id in (1, 2, 3, 5, 6, 7, 10, 11):
        city, state = rng.choice(NEARBY[DEPOTS[depot_id - 1][0]])
        cold = depot_id in (2, 3, 5)
        rows.append(
            (
                len(rows) + 1,
                depot_id,
                f"Swift {city} {'Cold Store' if cold else 'Fulfilment'} {len(rows) + 1}",
                city,
                state,
                rng.randrange(80_000, 400_000, 5_000),
                cold,
            )
        )
    return rows


def build_customers(rng: random.Random) -> tuple[list[Row], list[float]]:
    """Shippers in signup order with a heavy-tailed volume weight; enterprise accounts ship the most."""
    names: list[str] = []
    while len(names) < CUSTOMER_COUNT:
        name = " ".join(rng.choice(words) for words in COMPANY_WORDS)
        if name not in names:
            names.append(name)
    early = [fake.random_day(rng, fake.START, date(2024, 1, 31)) for _ in range(CUSTOMER_COUNT * 2 // 5)]
    later = [
        fake.random_day(rng, date(2024, 2, 1), date(2026, 9, 30)) for _ in range(CUSTOMER_COUNT - len(early))
    ]
    depots = fake.Weighted(list(range(1, len(DEPOTS) + 1)), [d[7] for d in DEPOTS])
    rows: list[Row] = []
    weights: list[float] = []
    for i, (name, day) in enumerate(zip(names, sorted(early) + sorted(later), strict=True), start=1):
        volume = rng.paretovariate(1.2)
        weights.append(volume)
        tier = "enterprise" if volume > 6 else "priority" if volume > 2 else "standard"
        depot = depots.pick(rng)
        city, state = rng.choice(NEARBY[DEPOTS[depot - 1][0]])
        contact = fake.person_name(rng)
        domain = name.split()[0].lower().replace(" ", "") + name.split()[1].lower() + ".example.com"
        rows.append(
            (
                i,
                name,
                rng.choice(INDUSTRIES),
                contact,
                fake.email_for(contact, i, domain),
                city,
                state,
                depot,
                tier,
                Decimal({"standard": 10_000, "priority": 50_000, "enterprise": 250_000}[tier]),
                fake.random_time(rng, day, 13, 23),
                rng.random() > 0.04,
            )
        )
    return rows, weights


def build_vehicles(rng: random.Random) -> list[Vehicle]:
    vehicles: list[Vehicle] = []
    for depot_id, depot in enumerate(DEPOTS, start=1):
        mix = {
            "cargo_van": 5,
            "box_truck": 4,
            "semi_truck": 3,
            "refrigerated_truck": 1 if depot_id in (2, 3, 5) else 0,
        }
        for vtype, count in mix.items():
            makes, fuels, capacity, per_day, _ = VEHICLE_TYPES[vtype]
            for _ in range(count + rng.randint(0, 2)):
                vid = len(vehicles) + 1
                make, model = rng.choice(makes)
                fuel = "electric" if make == "Rivian" else rng.choices(*zip(*fuels, strict=True))[0]
                if fuel == "electric" and make != "Rivian":
                    fuel = "gasoline"
                year = rng.randint(2015, 2026)
                acquired = max(date(year - 1, 9, 1) + timedelta(days=rng.randint(0, 365)), date(2015, 1, 1))
                status = rng.choices(("active", "in_maintenance", "retired"), (88, 5, 7))[0]
                odometer = int(
                    (service_end(vid, status, acquired) - acquired).days * per_day * rng.uniform(0.8, 1.2)
                )
                vehicles.append(
                    Vehicle(
                        vid,
                        depot_id,
                        f"{depot[2]}-{vid:03d}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randint(10, 99)}",
                        vtype,
                        make,
                        model,
                        year,
                        fuel,
                        capacity,
                        acquired,
                        status,
                        max(odometer, 50),
                    )
                )
    return vehicles


def build_drivers(rng: random.Random) -> list[Driver]:
    drivers: list[Driver] = []
    for depot_id in range(1, len(DEPOTS) + 1):
        for _ in range(rng.randint(14, 22)):
            did = len(drivers) + 1
            license_class = rng.choices(("A", "B", "C"), (45, 35, 20))[0]
            hired = fake.random_day(rng, date(2012, 1, 1), date(2026, 8, 31))
            left = None
            if rng.random() < 0.15 and hired < date(2026, 6, 1):
                left = fake.random_day(rng, hired + timedelta(days=60), fake.END)
            rate = {"A": 31.0, "B": 26.0, "C": 22.0}[license_class] + rng.uniform(-2, 5)
            drivers.append(
                Driver(
                    did,
                    depot_id,
                    fake.person_name(rng),
                    license_class,
                    fake.phone(rng),
                    hired,
                    left,
                    fake.money(rate),
                    min(100, int(rng.gauss(84, 8))),
                )
            )
    return drivers


def build_routes() -> list[Route]:
    routes: list[Route] = []
    for a in range(1, len(DEPOTS) + 1):
        local_km = 60 + (a * 37) % 90
        routes.append(
            Route(
                len(routes) + 1,
                f"{DEPOTS[a - 1][0]}-LOCAL",
                a,
                a,
                "local",
                local_km,
                Decimal(local_km * 3 / 100).quantize(fake.CENT),
                True,
            )
        )
        nearest = sorted((b for b in range(1, len(DEPOTS) + 1) if b != a), key=lambda b: _km(a, b))
        for b in nearest[:4] + nearest[-1:]:
            km = int(_km(a, b))
            kind = "regional" if km < 800 else "long_haul"
            routes.append(
                Route(
                    len(routes) + 1,
                    f"{DEPOTS[a - 1][0]}-{DEPOTS[b - 1][0]}",
                    a,
                    b,
                    kind,
                    km,
                    Decimal(km / 80 + 0.5).quantize(fake.CENT),
                    (a + b) % 9 != 0,
                )
            )
    return routes


def service_end(vehicle_id: int, status: str, acquired_on: date) -> date:
    """Retired vehicles left the fleet on a fixed day in 2025-2026, at least a year after purchase."""
    if status != "retired":
        return fake.END
    retired = max(
        date(2025, 1, 1) + timedelta(days=(vehicle_id * 53) % 600), acquired_on + timedelta(days=365)
    )
    return min(retired, fake.END)


def last_service_day(vehicle: Vehicle) -> date:
    return service_end(vehicle.id, vehicle.status, vehicle.acquired_on)


def odometer_on(vehicle: Vehicle, day: date) -> int:
    """Readings grow steadily from zero at acquisition to the odometer stored on the vehicle."""
    span = max((last_service_day(vehicle) - vehicle.acquired_on).days, 1)
    return int(vehicle.odometer_km * max((day - vehicle.acquired_on).days, 0) / span)


def fuel_price(fuel: str, day: date) -> float:
    """USD per litre or kWh: a yearly swing with a summer peak and a slow upward drift."""
    t = (day - fake.START).days / 365
    base = {"diesel": 1.02, "gasoline": 0.93, "electric": 0.18}[fuel]
    swing = 0.0 if fuel == "electric" else 0.09 * math.sin(2 * math.pi * (t - 0.3))
    return base * (1 + 0.03 * t) + swing


def fuel_log_rows(rng: random.Random, vehicles: list[Vehicle], drivers: list[Driver]) -> Iterator[Row]:
    """A fill-up every three to eight days, sized by the distance driven since the last one."""
    row_id = 0
    for v in vehicles:
        per_100 = 28.0 if v.fuel_type == "electric" else VEHICLE_TYPES[v.vehicle_type][4]
        crew = [d for d in drivers if d.depot_id == v.depot_id]
        depot = DEPOTS[v.depot_id - 1]
        day = max(v.acquired_on, fake.START) + timedelta(days=rng.randint(0, 3))
        previous = odometer_on(v, day)
        while day <= last_service_day(v):
            reading = odometer_on(v, day)
            if reading > previous:
                row_id += 1
                quantity = fake.money((reading - previous) * per_100 / 100 * rng.uniform(0.9, 1.12))
                cost = fake.money(float(quantity) * fuel_price(v.fuel_type, day))
                city, state = (depot[1], depot[2]) if rng.random() < 0.8 else rng.choice(NEARBY[depot[0]])
                driver = rng.choice(crew)
                on_duty = driver.hired_on <= day and (
                    driver.terminated_on is None or driver.terminated_on >= day
                )
                yield (
                    row_id,
                    v.id,
                    driver.id if on_duty else None,
                    fake.random_time(rng, day, 5, 22),
                    quantity,
                    "kWh" if v.fuel_type == "electric" else "liters",
                    cost,
                    reading,
                    city,
                    state,
                )
            previous = reading
            day += timedelta(days=rng.randint(3, 8))


def _maintenance_plan(rng: random.Random, v: Vehicle) -> list[tuple[date, str, bool]]:
    electric = v.fuel_type == "electric"
    cycle = (
        ("inspection", "tire_rotation", "battery_service")
        if electric
        else ("oil_change", "tire_rotation", "oil_change", "inspection", "brake_service", "tire_replacement")
    )
    plan: list[tuple[date, str, bool]] = []
    day = max(v.acquired_on, fake.START) + timedelta(days=rng.randint(10, 80))
    while day <= last_service_day(v):
        plan.append((day, cycle[len(plan) % len(cycle)], True))
        day += timedelta(days=rng.randint(75, 110))
    repairs = (
        ("battery_service", "brake_service")
        if electric
        else ("engine_repair", "transmission_repair", "brake_service", "tire_replacement")
    )
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        plan.append(
            (
                fake.random_day(rng, max(v.acquired_on, fake.START), last_service_day(v)),
                rng.choice(repairs),
                False,
            )
        )
    if v.status == "in_maintenance":
        plan.append((fake.END - timedelta(days=rng.randint(0, 6)), rng.choice(repairs), False))
    return sorted(plan)


def maintenance_rows(rng: random.Random, vehicles: list[Vehicle]) -> Iterator[Row]:
    row_id = 0
    for v in vehicles:
        scale = 1.6 if v.vehicle_type == "semi_truck" else 0.7 if v.vehicle_type == "cargo_van" else 1.0
        for day, kind, scheduled in _maintenance_plan(rng, v):
            row_id += 1
            (cost_lo, cost_hi), (down_lo, down_hi) = MAINTENANCE_COST[kind]
            note = (
                None
                if scheduled
                else rng.choice(
                    (
                        "check engine light",
                        "driver reported noise",
                        "roadside breakdown",
                        "failed pre-trip inspection",
                    )
                )
            )
            yield (
                row_id,
                v.id,
                day,
                kind,
                scheduled,
                fake.money(rng.uniform(cost_lo, cost_hi) * scale),
                odometer_on(v, day),
                rng.choice(VENDORS),
                rng.randint(down_lo, down_hi),
                note,
            )

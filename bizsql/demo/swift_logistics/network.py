"""Shipments moving through Swift's network scan by scan: each status is what its last scan says."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from bizsql.demo import fake
from bizsql.demo.swift_logistics.data import (
    Driver,
    Route,
    Row,
    Vehicle,
    last_service_day,
)
from bizsql.demo.swift_logistics.schema import SHIPMENT_COUNT
from bizsql.demo.swift_logistics.words import DEPOTS, INCIDENT_TEXT, INSTRUCTIONS_TEXT, NEARBY, SERVICE_LEVELS


class Network:
    """Shipments with their tracking scans and incidents, built together so statuses match the scans."""

    END_MOMENT = fake.at_time(fake.END, 12)  # the snapshot: later scans have not happened yet

    def __init__(
        self,
        rng: random.Random,
        customers: list[Row],
        weights: list[float],
        routes: list[Route],
        vehicles: list[Vehicle],
        drivers: list[Driver],
        warehouses: list[Row],
    ) -> None:
        self.rng = rng
        self.customers = customers
        self.signup_days = [c[10].date() for c in customers]
        self.customer_cum = list(accumulate(weights))
        self.routes: dict[int, fake.Weighted[Route]] = {}
        for depot_id in range(1, len(DEPOTS) + 1):
            mine = [r for r in routes if r.origin_depot_id == depot_id and r.is_active]
            kinds = {"local": 8.0, "regional": 3.0, "long_haul": 1.0}
            self.routes[depot_id] = fake.Weighted(mine, [kinds[r.route_type] for r in mine])
        self.vehicles: dict[int, list[Vehicle]] = {}
        for v in vehicles:
            self.vehicles.setdefault(v.depot_id, []).append(v)
        self.drivers: dict[int, list[Driver]] = {}
        for d in drivers:
            self.drivers.setdefault(d.depot_id, []).append(d)
        self.warehouses = {w[1]: w for w in warehouses}
        self.shipments: list[Row] = []
        self.events: list[Row] = []
        self.incidents: list[Row] = []

    def build(self) -> None:
        days = fake.all_days()
        weights = fake.seasonal_weights(
            days,
            (0.85, 0.85, 0.95, 0.95, 1.0, 1.0, 0.95, 1.0, 1.05, 1.1, 1.3, 1.35),
            (1.1, 1.1, 1.05, 1.05, 1.1, 0.45, 0.15),
            0.15,
        )
        for day in fake.spread_over_days(self.rng, SHIPMENT_COUNT, days, weights):
            self._shipment(len(self.shipments) + 1, day)

    def _customer(self, day: date) -> Row:
        eligible = max(bisect_right(self.signup_days, day), 1)
        target = self.rng.random() * self.customer_cum[eligible - 1]
        return self.customers[bisect_right(self.customer_cum, target, hi=eligible - 1)]

    def _service(self, route: Route) -> str:
        level = self.rng.choices(("standard", "express", "overnight", "freight"), (55, 20, 8, 17))[0]
        return "express" if level == "overnight" and route.route_type == "long_haul" else level

    def _transit_days(self, route: Route, level: str) -> int:
        promised = SERVICE_LEVELS[level][2]
        if level == "express" and route.route_type == "long_haul":
            return math.ceil(route.distance_km / 1300) + 1
        if promised is not None:
            return promised
        if route.route_type == "long_haul":
            return math.ceil(route.distance_km / (650 if level == "standard" else 700)) + 1
        return 1 if route.route_type == "local" else 2

    def _delay(self, route: Route, level: str, day: date) -> int:
        """Days late: more in the winter peak, at snowy depots and for freight."""
        late = 0.07 + (0.08 if day.month in (12, 1) else 0.0) + (0.03 if level == "freight" else 0.0)
        if DEPOTS[route.origin_depot_id - 1][0] in ("CHI", "DEN", "SEA") and day.month in (12, 1, 2):
            late += 0.07
        if self.rng.random() < late:
            return self.rng.choices((1, 2, 3), (60, 30, 10))[0]
        return (
            -1 if level == "standard" and route.route_type == "long_haul" and self.rng.random() < 0.1 else 0
        )

    def _weight_and_dims(self, level: str, cold: bool) -> tuple[Decimal, str]:
        rng = self.rng
        if level == "freight":
            weight = min(rng.lognormvariate(7.6, 0.8), 19_500.0)
            pallets = math.ceil(weight / 700)
            dims = {
                "length_cm": 120,
                "width_cm": 100,
                "height_cm": rng.randrange(100, 190, 10),
                "pieces": pallets,
                "pallets": pallets,
            }
        else:
            weight = min(rng.lognormvariate(2.2, 1.0), 70.0 if level != "standard" else 150.0)
            side = round(12 + weight ** (1 / 3) * 14)
            dims = {
                "length_cm": side + rng.randint(0, 30),
                "width_cm": side,
                "height_cm": max(side - 10, 5),
                "pieces": rng.choice((1, 1, 1, 2, 3)),
                "pallets": 0,
            }
        dims |= {
            "fragile": rng.random() < 0.12,
            "hazmat": rng.random() < 0.02,
            "temperature_controlled": cold,
        }
        return fake.money(max(weight, 0.2)), fake.to_json(dims)

    def _vehicle(self, depot_id: int, level: str, route: Route, cold: bool, day: date) -> Vehicle | None:
        wanted: tuple[str, ...]
        if cold:
            wanted = ("refrigerated_truck", "box_truck")
        elif level == "freight" or route.route_type != "local":
            wanted = ("semi_truck",) if route.route_type != "local" else ("box_truck", "semi_truck")
        else:
            wanted = ("cargo_van", "box_truck")
        pool = [
            v
            for v in self.vehicles[depot_id]
            if v.vehicle_type in wanted and v.acquired_on <= day <= last_service_day(v)
        ]
        return self.rng.choice(pool) if pool else None

    def _driver(self, depot_id: int, vehicle: Vehicle | None, day: date) -> Driver | None:
        needs = {"semi_truck": "A", "box_truck": "AB", "refrigerated_truck": "AB"}.get(
            vehicle.vehicle_type if vehicle else "", "ABC"
        )
        pool = [
            d
            for d in self.drivers[depot_id]
            if d.license_class in needs
            and d.hired_on <= day
            and (d.terminated_on is None or d.terminated_on >= day)
        ]
        return self.rng.choice(pool) if pool else None

    def _shipment(self, sid: int, day: date) -> None:
        rng = self.rng
        customer = self._customer(day)
        route = self.routes[customer[7]].pick(rng)
        level = self._service(route)
        cold = customer[2] in ("food & beverage", "healthcare") and rng.random() < 0.3
        weight, dims = self._weight_and_dims(level, cold)
        created = fake.random_time(rng, day, 6, 12 if day == fake.END else 22)
        pickup = day + timedelta(days=0 if created.hour < 12 else 1)
        promised = pickup + timedelta(days=self._transit_days(route, level))
        delay = self._delay(route, level, day)
        arrive = max(promised + timedelta(days=delay), pickup + timedelta(days=1))
        warehouse = self.warehouses.get(customer[7]) if rng.random() < 0.25 else None
        origin = (warehouse[3], warehouse[4]) if warehouse else (customer[5], customer[6])
        destination = rng.choice(NEARBY[DEPOTS[route.destination_depot_id - 1][0]])
        fate = rng.choices(("normal", "cancelled", "exception"), (96, 2.5, 1.5))[0]
        scans = self._scans(route, created, pickup, arrive, origin, destination, fate)
        scans = [s for s in scans if s[1] <= self.END_MOMENT]
        picked = len(scans) > 1 and scans[1][0] == "picked_up"
        vehicle = self._vehicle(customer[7], level, route, cold, pickup) if picked else None
        driver = self._driver(customer[7], vehicle, pickup) if picked else None
        status = STATUS_BY_SCAN[scans[-1][0]]
        declared = fake.money(float(weight) * rng.uniform(5, 80)) if rng.random() < 0.6 else None
        base, per_kg, _ = SERVICE_LEVELS[level]
        discount = {"standard": 1.0, "priority": 0.93, "enterprise": 0.85}[customer[8]]
        price = fake.money((base + per_kg * float(weight) * (1 + route.distance_km / 1500)) * discount)
        note = rng.choice(INSTRUCTIONS_TEXT) if rng.random() < 0.1 else None
        self.shipments.append(
            (
                sid,
                f"SW{sid * 7919 + rng.randint(0, 7918):010d}",
                customer[0],
                route.id,
                warehouse[0] if warehouse else None,
                vehicle.id if vehicle else None,
                driver.id if driver else None,
                level,
                status,
                created,
                pickup if picked else None,
                promised,
                scans[-1][1] if status == "delivered" else None,
                weight,
                declared,
                price,
                destination[0],
                destination[1],
                dims,
                note,
            )
        )
        for scan in scans:
            self.events.append((len(self.events) + 1, sid, *scan))
        self._incident(sid, status, scans[-1], delay, declared, price, driver)

    def _scans(
        self,
        route: Route,
        created: datetime,
        pickup: date,
        arrive: date,
        origin: tuple[str, str],
        destination: tuple[str, str],
        fate: str,
    ) -> list[Row]:
        """The scan history a shipment would get, in time order; the caller drops scans after the snapshot."""
        rng = self.rng
        scans: list[Row] = [("label_created", created, None, *origin, None)]
        if fate == "cancelled":
            return [
                *scans,
                (
                    "cancelled",
                    created + timedelta(hours=rng.randint(2, 30)),
                    None,
                    *origin,
                    "Cancelled by shipper before pickup",
                ),
            ]
        if pickup == created.date():
            picked_at = created + timedelta(hours=rng.randint(1, 4), minutes=rng.randint(0, 59))
        else:
            picked_at = fake.random_time(rng, pickup, 8, 13)
        scans.append(("picked_up", picked_at, None, *origin, None))
        out_at = fake.random_time(rng, arrive, 7, 9)
        origin_depot, dest_depot = DEPOTS[route.origin_depot_id - 1], DEPOTS[route.destination_depot_id - 1]
        if route.route_type == "local":
            at_depot = picked_at + timedelta(hours=rng.randint(2, 5))
            scans.append(
                ("arrived_depot", at_depot, route.origin_depot_id, origin_depot[1], origin_depot[2], None)
            )
        else:
            departed = picked_at + timedelta(hours=rng.randint(3, 6))
            arrived = min(departed + timedelta(hours=float(route.planned_hours)), out_at - timedelta(hours=2))
            scans.append(
                ("departed_depot", departed, route.origin_depot_id, origin_depot[1], origin_depot[2], None)
            )
            scans.append(
                (
                    "arrived_depot",
                    max(arrived, departed + timedelta(hours=1)),
                    route.destination_depot_id,
                    dest_depot[1],
                    dest_depot[2],
                    None,
                )
            )
        if fate == "exception":
            kind = rng.choices(
                ("lost", "damage", "refused", "address_issue", "accident"), (25, 35, 18, 17, 5)
            )[0]
            when = scans[-1][1] + timedelta(hours=rng.randint(2, 20))
            return [*scans, ("exception", when, None, *destination, INCIDENT_TEXT[kind])]
        delivered = out_at + timedelta(hours=rng.randint(1, 8), minutes=rng.randint(0, 59))
        proof = rng.choice(
            ("Signed by receiver", "Left at loading dock", "Signed at front desk", "Left at door")
        )
        return [
            *scans,
            ("out_for_delivery", out_at, route.destination_depot_id, dest_depot[1], dest_depot[2], None),
            ("delivered", delivered, None, *destination, proof),
        ]

    def _incident(
        self,
        sid: int,
        status: str,
        last: Row,
        delay: int,
        declared: Decimal | None,
        price: Decimal,
        driver: Driver | None,
    ) -> None:
        rng = self.rng
        kind = None
        if status == "exception":
            kind = next(k for k, text in INCIDENT_TEXT.items() if text == last[5])
        elif status == "delivered" and delay >= 2 and rng.random() < 0.4:
            kind = "delay"
        elif status == "delivered" and rng.random() < 0.004:
            kind = "damage"
        if kind is None:
            return
        claim = (declared or price * 3) if kind in ("lost", "damage") and rng.random() < 0.8 else None
        reported = last[1] + timedelta(hours=rng.randint(1, 48))
        resolved = rng.random() < (0.85 if reported.date() < date(2026, 9, 30) else 0.3)
        self.incidents.append(
            (
                len(self.incidents) + 1,
                sid,
                driver.id if driver else None,
                reported,
                kind,
                INCIDENT_TEXT[kind],
                claim,
                resolved,
            )
        )


STATUS_BY_SCAN = {
    "label_created": "created",
    "picked_up": "in_transit",
    "departed_depot": "in_transit",
    "arrived_depot": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "delivered": "delivered",
    "exception": "exception",
    "cancelled": "cancelled",
}

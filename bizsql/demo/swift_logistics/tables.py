"""generate(): every swift_logistics table as rows, parents first, from the business seed."""

from __future__ import annotations

import random
from collections.abc import Iterator

from bizsql.demo import fake
from bizsql.demo.spec import TableData
from bizsql.demo.swift_logistics.data import (
    Driver,
    Route,
    Vehicle,
    build_customers,
    build_drivers,
    build_routes,
    build_vehicles,
    depot_rows,
    fuel_log_rows,
    maintenance_rows,
    warehouse_rows,
)
from bizsql.demo.swift_logistics.network import Network
from bizsql.demo.swift_logistics.schema import TABLES


def generate(rng: random.Random) -> Iterator[TableData]:
    """All eleven tables, parents first; each table draws from its own stream of the business seed."""
    streams = {name: fake.child_rng(rng) for name in TABLES}
    warehouses = warehouse_rows(streams["warehouses"])
    customers, weights = build_customers(streams["customers"])
    vehicles = build_vehicles(streams["vehicles"])
    drivers = build_drivers(streams["drivers"])
    routes = build_routes()
    yield TableData(
        "depots", ("id", "code", "name", "city", "state", "opened_on", "dock_doors"), depot_rows()
    )
    yield TableData(
        "warehouses",
        ("id", "depot_id", "name", "city", "state", "square_feet", "is_cold_storage"),
        warehouses,
    )
    yield TableData(
        "customers",
        (
            "id",
            "company_name",
            "industry",
            "contact_name",
            "contact_email",
            "city",
            "state",
            "home_depot_id",
            "account_tier",
            "credit_limit",
            "created_at",
            "is_active",
        ),
        customers,
    )
    yield TableData("vehicles", Vehicle._fields, vehicles)
    yield TableData("drivers", Driver._fields, drivers)
    yield TableData("routes", Route._fields, routes)
    network = Network(streams["shipments"], customers, weights, routes, vehicles, drivers, warehouses)
    network.build()
    yield TableData(
        "shipments",
        (
            "id",
            "tracking_number",
            "customer_id",
            "route_id",
            "origin_warehouse_id",
            "vehicle_id",
            "driver_id",
            "service_level",
            "status",
            "created_at",
            "pickup_date",
            "promised_date",
            "delivered_at",
            "weight_kg",
            "declared_value",
            "price",
            "destination_city",
            "destination_state",
            "dimensions",
            "special_instructions",
        ),
        network.shipments,
    )
    yield TableData(
        "tracking_events",
        ("id", "shipment_id", "event_type", "event_time", "depot_id", "city", "state", "details"),
        network.events,
    )
    yield TableData(
        "fuel_logs",
        (
            "id",
            "vehicle_id",
            "driver_id",
            "filled_at",
            "quantity",
            "unit",
            "cost",
            "odometer_km",
            "station_city",
            "station_state",
        ),
        fuel_log_rows(streams["fuel_logs"], vehicles, drivers),
    )
    yield TableData(
        "maintenance_records",
        (
            "id",
            "vehicle_id",
            "service_date",
            "maintenance_type",
            "is_scheduled",
            "cost",
            "odometer_km",
            "vendor",
            "downtime_hours",
            "notes",
        ),
        maintenance_rows(streams["maintenance_records"], vehicles),
    )
    yield TableData(
        "incidents",
        (
            "id",
            "shipment_id",
            "driver_id",
            "reported_at",
            "incident_type",
            "description",
            "claim_amount",
            "resolved",
        ),
        network.incidents,
    )

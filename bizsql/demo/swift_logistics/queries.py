"""What Swift Logistics' config tells the model: glossary, instructions and verified queries."""

from __future__ import annotations

from bizsql.demo.spec import VerifiedQuery

GLOSSARY = {
    "on-time delivery": "a delivered shipment with (delivered_at AT TIME ZONE 'UTC')::date <= promised_date",
    "on-time rate": "on-time deliveries divided by all shipments with status = 'delivered'",
    "transit time": (
        "days from pickup to delivery: (delivered_at AT TIME ZONE 'UTC')::date - pickup_date; "
        "hours come from the picked_up and delivered tracking_events"
    ),
    "revenue": "sum(shipments.price) for shipments with status <> 'cancelled', dated by created_at",
    "open shipment": "status IN ('created', 'in_transit', 'out_for_delivery'); the data ends on 2026-10-31",
    "fuel efficiency": (
        "litres per 100 km: fuel_logs.quantity * 100 / (odometer_km - the previous odometer_km of the same "
        "vehicle), for unit = 'liters'"
    ),
    "fleet": "vehicles with status <> 'retired'",
    "active driver": "drivers with terminated_on IS NULL",
    "claims": "incidents.claim_amount; NULL means no claim was filed",
}
INSTRUCTIONS = (
    "Money is in USD, distances in kilometres and weights in kilograms. The data runs from 2024-01-01 "
    "to 2026-10-31; treat 2026-10-31 as today. Leave cancelled shipments out of revenue and volume "
    "figures unless asked. Shipment dates: created_at is when it was booked, pickup_date when collected, "
    "delivered_at when delivered. Timestamps are stored in UTC: use date_trunc('month', created_at, 'UTC') "
    "and (delivered_at AT TIME ZONE 'UTC')::date. Package details (fragile, hazmat, pallets, size) are in "
    "the shipments.dimensions jsonb column."
)


def _q(question: str, sql: str) -> VerifiedQuery:
    return VerifiedQuery(question, sql.strip())


VERIFIED_QUERIES = (
    _q(
        "How many shipments were booked in each month of 2025?",
        """
SELECT date_trunc('month', created_at, 'UTC')::date AS month, count(*) AS shipments
FROM shipments
WHERE status <> 'cancelled'
  AND created_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00' AND created_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "What was the on-time delivery rate for each service level in 2025?",
        """
SELECT service_level,
       round(100.0 * count(*) FILTER (WHERE (delivered_at AT TIME ZONE 'UTC')::date <= promised_date)
             / count(*), 2) AS on_time_percent,
       count(*) AS delivered
FROM shipments
WHERE status = 'delivered'
  AND created_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00' AND created_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY service_level
ORDER BY on_time_percent DESC, service_level
""",
    ),
    _q(
        "Who were our top 10 customers by revenue in 2025?",
        """
SELECT c.id, c.company_name, c.account_tier, count(*) AS shipments, sum(s.price) AS revenue
FROM shipments s
JOIN customers c ON c.id = s.customer_id
WHERE s.status <> 'cancelled'
  AND s.created_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND s.created_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY c.id, c.company_name, c.account_tier
ORDER BY revenue DESC, c.id
LIMIT 10
""",
    ),
    _q(
        "Which long-haul routes have the longest average transit time?",
        """
SELECT r.code, r.distance_km,
       round(avg((s.delivered_at AT TIME ZONE 'UTC')::date - s.pickup_date), 2) AS avg_transit_days,
       count(*) AS delivered
FROM shipments s
JOIN routes r ON r.id = s.route_id
WHERE s.status = 'delivered' AND r.route_type = 'long_haul'
GROUP BY r.id, r.code, r.distance_km
ORDER BY avg_transit_days DESC, r.code
LIMIT 10
""",
    ),
    _q(
        "How much did each depot spend on fuel and charging in 2025?",
        """
SELECT d.code, d.city, sum(f.cost) AS fuel_cost
FROM fuel_logs f
JOIN vehicles v ON v.id = f.vehicle_id
JOIN depots d ON d.id = v.depot_id
WHERE f.filled_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND f.filled_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY d.id, d.code, d.city
ORDER BY fuel_cost DESC, d.code
""",
    ),
    _q(
        "Which 10 vehicles cost the most in maintenance in 2025?",
        """
SELECT v.id, v.plate_number, v.vehicle_type, v.make, v.model, sum(m.cost) AS maintenance_cost
FROM maintenance_records m
JOIN vehicles v ON v.id = m.vehicle_id
WHERE m.service_date >= DATE '2025-01-01' AND m.service_date < DATE '2026-01-01'
GROUP BY v.id, v.plate_number, v.vehicle_type, v.make, v.model
ORDER BY maintenance_cost DESC, v.id
LIMIT 10
""",
    ),
    _q(
        "Which drivers delivered the most shipments in 2025, ranked within their depot?",
        """
WITH counts AS (
    SELECT dr.depot_id, dr.id, dr.name, count(*) AS deliveries
    FROM shipments s
    JOIN drivers dr ON dr.id = s.driver_id
    WHERE s.status = 'delivered'
      AND s.delivered_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
      AND s.delivered_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
    GROUP BY dr.depot_id, dr.id, dr.name
)
SELECT dp.code AS depot, c.name AS driver, c.deliveries,
       rank() OVER (PARTITION BY c.depot_id ORDER BY c.deliveries DESC) AS rank_in_depot
FROM counts c
JOIN depots dp ON dp.id = c.depot_id
ORDER BY dp.code, rank_in_depot, c.id
""",
    ),
    _q(
        "What is the average fuel efficiency in litres per 100 km of each vehicle type?",
        """
WITH fills AS (
    SELECT f.vehicle_id, f.quantity,
           f.odometer_km
               - lag(f.odometer_km) OVER (PARTITION BY f.vehicle_id ORDER BY f.filled_at, f.id) AS km
    FROM fuel_logs f
    WHERE f.unit = 'liters'
)
SELECT v.vehicle_type, round(100 * sum(fi.quantity) / sum(fi.km), 2) AS liters_per_100_km
FROM fills fi
JOIN vehicles v ON v.id = fi.vehicle_id
WHERE fi.km > 0
GROUP BY v.vehicle_type
ORDER BY liters_per_100_km DESC, v.vehicle_type
""",
    ),
    _q(
        "How many incidents of each type were there, and how much was claimed?",
        """
SELECT incident_type, count(*) AS incidents, coalesce(sum(claim_amount), 0) AS claimed,
       count(*) FILTER (WHERE NOT resolved) AS unresolved
FROM incidents
GROUP BY incident_type
ORDER BY incidents DESC, incident_type
""",
    ),
    _q(
        "How many fragile shipments did we carry each quarter of 2025?",
        """
SELECT extract(quarter FROM created_at AT TIME ZONE 'UTC')::int AS quarter, count(*) AS fragile_shipments
FROM shipments
WHERE (dimensions->>'fragile')::boolean
  AND status <> 'cancelled'
  AND created_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00' AND created_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "How many shipments are still open, by status and destination state?",
        """
SELECT status, destination_state, count(*) AS shipments
FROM shipments
WHERE status IN ('created', 'in_transit', 'out_for_delivery')
GROUP BY status, destination_state
ORDER BY status, shipments DESC, destination_state
""",
    ),
    _q(
        "What was the average diesel price per litre in each month of 2025?",
        """
SELECT date_trunc('month', f.filled_at, 'UTC')::date AS month,
       round(sum(f.cost) / sum(f.quantity), 3) AS usd_per_liter
FROM fuel_logs f
JOIN vehicles v ON v.id = f.vehicle_id
WHERE v.fuel_type = 'diesel'
  AND f.filled_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND f.filled_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "What were the 10 busiest routes in 2025?",
        """
SELECT r.code, r.route_type, count(*) AS shipments, sum(s.weight_kg) AS total_kg
FROM shipments s
JOIN routes r ON r.id = s.route_id
WHERE s.status <> 'cancelled'
  AND s.created_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND s.created_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY r.id, r.code, r.route_type
ORDER BY shipments DESC, r.code
LIMIT 10
""",
    ),
    _q(
        "How did the on-time rate change month by month in 2025?",
        """
SELECT date_trunc('month', delivered_at, 'UTC')::date AS month,
       round(100.0 * count(*) FILTER (WHERE (delivered_at AT TIME ZONE 'UTC')::date <= promised_date)
             / count(*), 2) AS on_time_percent
FROM shipments
WHERE status = 'delivered'
  AND delivered_at >= TIMESTAMPTZ '2025-01-01 00:00:00+00'
  AND delivered_at < TIMESTAMPTZ '2026-01-01 00:00:00+00'
GROUP BY 1
ORDER BY 1
""",
    ),
    _q(
        "How many active vehicles does each depot have, by fuel type?",
        """
SELECT d.code, v.fuel_type, count(*) AS vehicles
FROM vehicles v
JOIN depots d ON d.id = v.depot_id
WHERE v.status <> 'retired'
GROUP BY d.code, v.fuel_type
ORDER BY d.code, v.fuel_type
""",
    ),
)

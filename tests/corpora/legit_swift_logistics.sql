-- Legitimate analytics queries for swift_logistics (blocks separated by "-- ;;" lines).
-- ;;
SELECT status, count(*) FROM shipments GROUP BY status ORDER BY 2 DESC
-- ;;
SELECT service_level, count(*) FILTER (WHERE delivered_at::date <= promised_date) AS on_time, count(*) FILTER (WHERE status = 'delivered') AS delivered,
       round(100.0 * count(*) FILTER (WHERE delivered_at::date <= promised_date) / nullif(count(*) FILTER (WHERE status = 'delivered'), 0), 1) AS on_time_pct
FROM shipments GROUP BY service_level ORDER BY on_time_pct DESC
-- ;;
SELECT c.company_name, count(s.id) AS shipments, sum(s.price) AS revenue FROM customers c JOIN shipments s ON s.customer_id = c.id GROUP BY c.id, c.company_name ORDER BY revenue DESC LIMIT 10
-- ;;
SELECT c.industry, sum(s.price) AS revenue, round(avg(s.weight_kg), 1) AS avg_kg FROM shipments s JOIN customers c ON c.id = s.customer_id GROUP BY c.industry ORDER BY revenue DESC
-- ;;
SELECT date_trunc('month', created_at) AS month, count(*), sum(price) FROM shipments GROUP BY 1 ORDER BY 1
-- ;;
SELECT r.code, o.city AS origin, d.city AS destination, r.distance_km, count(s.id) AS trips
FROM routes r JOIN depots o ON o.id = r.origin_depot_id JOIN depots d ON d.id = r.destination_depot_id
LEFT JOIN shipments s ON s.route_id = r.id GROUP BY r.code, o.city, d.city, r.distance_km ORDER BY trips DESC LIMIT 10
-- ;;
SELECT dimensions->>'pallets' AS pallets, count(*) FROM shipments GROUP BY 1 ORDER BY 2 DESC
-- ;;
SELECT count(*) FILTER (WHERE (dimensions->>'hazmat')::boolean) AS hazmat, count(*) FILTER (WHERE (dimensions->>'fragile')::boolean) AS fragile FROM shipments
-- ;;
SELECT tracking_number, (dimensions->>'length_cm')::int * (dimensions->>'width_cm')::int * (dimensions->>'height_cm')::int / 1000000.0 AS cubic_m
FROM shipments ORDER BY cubic_m DESC NULLS LAST LIMIT 10
-- ;;
SELECT count(*) FROM shipments WHERE dimensions @> '{"temperature_controlled": true}'
-- ;;
SELECT key, count(*) FROM shipments, jsonb_object_keys(dimensions) AS key GROUP BY key ORDER BY key
-- ;;
SELECT v.vehicle_type, count(*), round(avg(v.capacity_kg)) FROM vehicles v GROUP BY v.vehicle_type
-- ;;
SELECT v.plate_number, sum(f.cost) AS fuel_cost, sum(f.quantity) FILTER (WHERE f.unit = 'liters') AS liters
FROM vehicles v JOIN fuel_logs f ON f.vehicle_id = v.id GROUP BY v.plate_number ORDER BY fuel_cost DESC LIMIT 10
-- ;;
SELECT unit, count(*), sum(quantity), sum(cost) FROM fuel_logs GROUP BY unit
-- ;;
SELECT vehicle_id, filled_at, odometer_km - lag(odometer_km) OVER (PARTITION BY vehicle_id ORDER BY filled_at) AS km_since_last
FROM fuel_logs WHERE vehicle_id = 5 ORDER BY filled_at LIMIT 20
-- ;;
SELECT maintenance_type, count(*), sum(cost), sum(downtime_hours) FROM maintenance_records GROUP BY maintenance_type ORDER BY 3 DESC
-- ;;
SELECT v.make, v.model, sum(m.cost) AS maintenance FROM vehicles v JOIN maintenance_records m ON m.vehicle_id = v.id GROUP BY v.make, v.model ORDER BY maintenance DESC LIMIT 10
-- ;;
SELECT is_scheduled, round(avg(cost), 2), round(avg(downtime_hours), 1) FROM maintenance_records GROUP BY is_scheduled
-- ;;
SELECT d.name, d.safety_score, count(i.id) AS incidents FROM drivers d LEFT JOIN incidents i ON i.driver_id = d.id GROUP BY d.id, d.name, d.safety_score ORDER BY incidents DESC LIMIT 10
-- ;;
SELECT incident_type, count(*), sum(claim_amount), count(*) FILTER (WHERE NOT resolved) AS open FROM incidents GROUP BY incident_type ORDER BY 2 DESC
-- ;;
SELECT depot_id, count(*) FILTER (WHERE terminated_on IS NULL) AS active, round(avg(hourly_rate), 2) FROM drivers GROUP BY depot_id ORDER BY depot_id
-- ;;
SELECT dp.code, dp.name, count(DISTINCT v.id) AS vehicles, count(DISTINCT dr.id) AS drivers
FROM depots dp LEFT JOIN vehicles v ON v.depot_id = dp.id LEFT JOIN drivers dr ON dr.depot_id = dp.id GROUP BY dp.code, dp.name ORDER BY dp.code
-- ;;
SELECT event_type, count(*) FROM tracking_events GROUP BY event_type ORDER BY 2 DESC
-- ;;
SELECT s.tracking_number, e.event_time, e.event_type, e.city FROM shipments s JOIN tracking_events e ON e.shipment_id = s.id WHERE s.id = 100 ORDER BY e.event_time
-- ;;
SELECT s.id, max(e.event_time) - min(e.event_time) AS transit FROM shipments s JOIN tracking_events e ON e.shipment_id = s.id WHERE s.status = 'delivered' AND s.id < 500 GROUP BY s.id ORDER BY transit DESC LIMIT 10
-- ;;
SELECT destination_state, count(*), round(avg(price), 2) FROM shipments GROUP BY destination_state ORDER BY 2 DESC LIMIT 10
-- ;;
SELECT tracking_number, special_instructions FROM shipments WHERE special_instructions ILIKE '%signature%' OR special_instructions ILIKE 'update%' LIMIT 10
-- ;;
SELECT w.name, w.is_cold_storage, count(s.id) FROM warehouses w LEFT JOIN shipments s ON s.origin_warehouse_id = w.id GROUP BY w.name, w.is_cold_storage ORDER BY 3 DESC
-- ;;
SELECT account_tier, count(*), sum(credit_limit) FROM customers GROUP BY ROLLUP (account_tier)
-- ;;
SELECT c.company_name, c.credit_limit, sum(s.price) AS billed FROM customers c JOIN shipments s ON s.customer_id = c.id
WHERE s.created_at >= TIMESTAMPTZ '2026-01-01' GROUP BY c.company_name, c.credit_limit HAVING sum(s.price) > c.credit_limit / 10 ORDER BY billed DESC
-- ;;
SELECT route_type, round(avg(distance_km)), round(avg(planned_hours), 1) FROM routes WHERE is_active GROUP BY route_type
-- ;;
SELECT pickup_date, count(*) FROM shipments WHERE pickup_date BETWEEN DATE '2026-10-01' AND DATE '2026-10-31' GROUP BY pickup_date ORDER BY pickup_date
-- ;;
SELECT extract(dow FROM pickup_date) AS dow, count(*) FROM shipments GROUP BY 1 ORDER BY 1
-- ;;
SELECT count(*) FILTER (WHERE delivered_at::date > promised_date) AS late, count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered FROM shipments
-- ;;
WITH late AS (SELECT driver_id, count(*) AS n FROM shipments WHERE delivered_at::date > promised_date GROUP BY driver_id)
SELECT d.name, late.n FROM late JOIN drivers d ON d.id = late.driver_id ORDER BY late.n DESC LIMIT 10
-- ;;
SELECT v.status, v.fuel_type, count(*) FROM vehicles v GROUP BY CUBE (v.status, v.fuel_type) ORDER BY 3 DESC
-- ;;
SELECT model_year, count(*), round(avg(odometer_km)) FROM vehicles GROUP BY model_year ORDER BY model_year
-- ;;
SELECT station_state, sum(cost) FROM fuel_logs GROUP BY station_state ORDER BY 2 DESC LIMIT 5
-- ;;
SELECT v.plate_number, last_service.service_date FROM vehicles v
LEFT JOIN LATERAL (SELECT m.service_date FROM maintenance_records m WHERE m.vehicle_id = v.id ORDER BY m.service_date DESC LIMIT 1) last_service ON true
ORDER BY last_service.service_date NULLS FIRST LIMIT 10
-- ;;
SELECT upper(substr(tracking_number, 1, 3)) AS prefix, count(*) FROM shipments GROUP BY 1
-- ;;
SELECT percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY weight_kg) FROM shipments
-- ;;
SELECT id, description FROM incidents WHERE description ~* '(damage|delay)' ORDER BY reported_at DESC LIMIT 10
